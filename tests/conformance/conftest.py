"""One running stack per case (subgraphs, govgraph, @apollo/gateway), shared by every test
of that case across modules, so each gateway starts once per case supergraph."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from case import Case, Query, case_names, load_case
from gateways import (
    ApolloHost,
    GatewayProcess,
    GatewayStartError,
    HttpGateway,
    free_port,
    govgraph_command,
    subgraph_env,
)
from subgraph_server import RecordedRequest, SubgraphHost


@dataclass(slots=True)
class Stack:
    """A case's running subgraphs and gateways, and the answers they gave so far."""

    case: Case = field(repr=False)
    host: SubgraphHost = field(repr=False)
    processes: dict[str, HttpGateway] = field(repr=False)
    start_errors: dict[str, str] = field(repr=False)
    reference_host: ApolloHost = field(repr=False)
    urls: dict[str, str] = field(repr=False)
    # hand-written queries are answered once per gateway and shared by every test of the case
    answers: dict[tuple[str, str], tuple[dict[str, Any], list[tuple[str, RecordedRequest]]]] = field(
        default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Stack({self.case.name})"

    def second_opinion(self) -> HttpGateway:
        """Hive Gateway on the same supergraph, started on first use to settle disagreements."""
        if "hive" not in self.processes:
            self.processes["hive"] = self.reference_host.start(self.case.supergraph_path,
                                                               self.urls, engine="hive")
        return self.processes["hive"]

    def revive_references(self) -> bool:
        """After a reference gateway's node process died (on a query that crashed it): the
        references of this case started again on a new one. False when it had not died."""
        if self.reference_host.alive(grace_s=3.0):  # a dropped connection: is it dying?
            return False
        self.processes.pop("hive", None)
        try:
            self.processes["apollo"] = self.reference_host.start(self.case.supergraph_path,
                                                                 self.urls)
        except GatewayStartError as error:
            self.start_errors["apollo"] = str(error)
        return True

    def gateway(self, label: str) -> HttpGateway:
        """The running gateway, or a test failure saying why it is not running."""
        if label in self.start_errors:
            pytest.fail(f"{label} is not serving case {self.case.name}: {self.start_errors[label]}",
                        pytrace=False)
        return self.processes[label]

    def run(self, label: str, query: Query) -> tuple[dict[str, Any], list[tuple[str, RecordedRequest]]]:
        """Send the query through one gateway; return the response and the subgraph requests."""
        gateway = self.gateway(label)
        if (label, query.name) not in self.answers:
            self.host.reset()
            self.case.reset_state()
            response = gateway.execute(query.query, query.variables, query.operation_name)
            self.answers[label, query.name] = (response, self.requests())
        return self.answers[label, query.name]

    def requests(self) -> list[tuple[str, RecordedRequest]]:
        seen = [(name, request) for name, subgraph in self.host.subgraphs.items()
                for request in list(subgraph.requests)]
        return sorted(seen, key=lambda pair: pair[1].sequence)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize by case at session scope so pytest groups every test of one case."""
    if "stack" not in metafunc.fixturenames:
        return
    names = case_names()
    if "query" in metafunc.fixturenames:
        pairs = [(name, q) for name in names for q in load_case(name).queries]
        metafunc.parametrize(["stack", "query"], pairs, indirect=["stack"], scope="session",
                             ids=[f"{name}-{q.name}" for name, q in pairs])
    else:
        metafunc.parametrize("stack", names, indirect=True, scope="session", ids=names)


@pytest.fixture(scope="session")
def apollo_host() -> Iterator[ApolloHost]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: neither the composer nor @apollo/gateway can run; "
                    "install Node.js 20 or newer (make test installs the Node tools)",
                    pytrace=False)
    host = ApolloHost(respawn=True)  # one reference crashing on a query stops no other case
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, apollo_host: ApolloHost) -> Iterator[Stack]:
    case = load_case(request.param)
    host = SubgraphHost(case.build_subgraphs())
    host.start()
    govgraph: GatewayProcess | None = None
    apollo: HttpGateway | None = None
    errors: dict[str, str] = {}
    processes: dict[str, HttpGateway] = {}
    try:
        urls = {name: host.url(name) for name in host.subgraphs}
        # a subgraph that is down: a port on which nothing listens
        urls.update({name: f"http://127.0.0.1:{free_port()}/graphql" for name in case.down})
        port = free_port()
        govgraph = GatewayProcess("govgraph", govgraph_command(case.supergraph_path, port), port,
                                  subgraph_env(urls))
        try:
            apollo = apollo_host.start(case.supergraph_path, urls)
        except GatewayStartError as error:
            errors["apollo"] = str(error)
        try:
            govgraph.wait_ready()
        except GatewayStartError as error:
            errors["govgraph"] = str(error)
        processes["govgraph"] = govgraph
        if apollo is not None:
            processes["apollo"] = apollo
        yield Stack(case, host, processes, errors, apollo_host, urls)
    finally:
        if govgraph is not None:
            govgraph.stop()
        for label, reference in processes.items():
            if label != "govgraph":
                apollo_host.stop(reference)
        host.stop()
