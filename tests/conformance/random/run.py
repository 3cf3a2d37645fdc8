"""The differential run: govgraph against the reference on generated schemas and queries.

For each seed: generate a subgraph set, compose it (one batched node process), serve the
subgraphs, start `govgraph gateway` and the reference (Hive Gateway with the Rust query
planner, engine "hive-router" of apollo_gateway.mjs), draw queries from the API schema the
reference serves, and compare the two answers: `data` exactly (key order included),
errors by presence, HTTP status, timeouts. Each disagreement is shrunk with `minimize`.
"""
from __future__ import annotations

import http.client
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_client_schema, get_introspection_query

from .generate import SchemaSet, generate
from .minimize import minimize
from .oracle import Expected, Oracle
from .querygen import Operation, QueryGenerator
from .subgraphs import SubgraphServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateways import (  # noqa: E402
    ApolloHost,
    GatewayProcess,
    GatewayStartError,
    free_port,
    govgraph_command,
    subgraph_env,
)

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parents[2]
COMPOSER = HERE / "compose_batch.mjs"
GATEWAY_CONFIG = HERE / "gateway.toml"
REFERENCE_ENGINE = "hive-router"
KINDS = {
    "govgraph-error-only": "govgraph answers with errors, the reference without",
    "reference-error-only": "the reference answers with errors, govgraph without",
    "data-differs": "both answer, with different `data` (values, nulls or key order)",
    "http-non-200": "the HTTP statuses differ (one of them is not 200)",
    "timeout": "govgraph did not answer in time",
    "reference-timeout": "the reference did not answer in time",
    "reference-unavailable": "the reference's connection failed (its node process died)",
    "reference-crash": "the reference's node process died, or dropped the connection, on this "
                       "query, asked again alone",
    "govgraph-start-failure": "govgraph did not start on a supergraph the reference serves",
}
QUERY_TIMEOUT_S = 15.0
# restarts of the reference's node process per schema set, while asking again the queries
# it could not answer (each query that kills it costs one)
MAX_REFERENCE_RESTARTS = 60
# what @apollo/gateway answers where govgraph and the reference disagree
ARBITER_OURS = "@apollo/gateway answers as govgraph does"
ARBITER_REFERENCE = "@apollo/gateway answers as the reference does"
ARBITER_NEITHER = "@apollo/gateway answers as neither does"
ARBITER_NONE = "no @apollo/gateway answer"
# which side the spec's own answer (oracle.py) takes on a disagreement
SPEC_OURS = "govgraph answers as the spec does"
SPEC_REFERENCE = "the reference answers as the spec does"
SPEC_NEITHER = "neither answers as the spec does"
SPEC_BOTH = "both answer as the spec does"
SPEC_AMBIGUOUS = "the spec allows more than one answer"


class Client:
    """GraphQL over HTTP with one kept-alive connection."""

    def __init__(self, port: int, timeout_s: float = QUERY_TIMEOUT_S) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def post(self, payload: dict[str, Any]) -> Answer:
        body = json.dumps(payload).encode()
        headers = {"content-type": "application/json",
                   "accept": "application/graphql-response+json, application/json"}
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                              timeout=self.timeout_s)
            try:
                self._connection.request("POST", "/graphql", body, headers)
                response = self._connection.getresponse()
                raw = response.read()
            except TimeoutError:
                self.close()
                return Answer(None, None, "timeout")
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if attempt == 0:
                    continue
                return Answer(None, None, f"connection: {error}")
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = raw.decode("utf-8", "replace")[:500]
            return Answer(response.status, decoded)
        return Answer(None, None, "connection")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@dataclass(slots=True)
class Answer:
    status: int | None
    body: Any
    failure: str | None = None

    def errors(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("errors"))

    def data_text(self) -> str:
        """`data` as canonical JSON text: key order kept, 743.0 and 743 the same number."""
        if not isinstance(self.body, dict):
            return "<no JSON object>"
        return json.dumps(_numbers(self.body.get("data", "<absent>")))

    def show(self) -> str:
        if self.failure:
            return f"<{self.failure}>"
        text = json.dumps(self.body)
        return text if self.status == 200 else f"HTTP {self.status}: {text}"


def _numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    return value


def matches_spec(answer: Answer, expected: Expected) -> bool:
    """An answer is the spec's when it is a 200 with the same `data` and error presence."""
    if answer.failure or answer.status != 200 or not isinstance(answer.body, dict):
        return False
    if answer.errors() != expected.errors:
        return False
    return answer.data_text() == json.dumps(_numbers(expected.data))


def spec_verdict(ours: Answer, reference: Answer, expected: Expected | None) -> str:
    """Which of two disagreeing answers is the spec's."""
    if expected is None or expected.ambiguous:
        return SPEC_AMBIGUOUS
    with_ours, with_reference = matches_spec(ours, expected), matches_spec(reference, expected)
    if with_ours and with_reference:
        return SPEC_BOTH
    if with_ours:
        return SPEC_OURS
    if with_reference:
        return SPEC_REFERENCE
    return SPEC_NEITHER


def show_expected(expected: Expected | None) -> str:
    if expected is None:
        return "<the oracle failed>"
    text = json.dumps({"data": expected.data, "errors": expected.errors})
    return text + (" (ambiguous)" if expected.ambiguous else "")


def classify(ours: Answer, reference: Answer) -> str | None:
    """The kind of disagreement between two answers, or None when they agree."""
    if ours.failure == "timeout":
        return "timeout"
    if reference.failure == "timeout":
        return "reference-timeout"
    if reference.failure == "reference-crash":
        return "reference-crash"
    if reference.failure:
        return "reference-unavailable"
    if ours.failure:
        return "http-non-200"
    if ours.status != reference.status:
        return "http-non-200"
    if ours.status != 200:
        return None
    if ours.errors() and not reference.errors():
        return "govgraph-error-only"
    if reference.errors() and not ours.errors():
        return "reference-error-only"
    if ours.data_text() != reference.data_text():
        return "data-differs"
    return None


@dataclass(slots=True)
class Served:
    schema: GraphQLSchema
    ours: Client
    reference: Client
    start_arbiter: Any = None  # () -> Client | None: @apollo/gateway, started on first use
    arbiter: Client | None = None
    restart_reference: Any = None  # () -> Client | None: a new node host and reference
    # () -> (govgraph's, the reference's subgraph requests, govgraph's, the reference's
    # subgraph fetches) so far
    requests: Any = None

    def third(self) -> Client | None:
        if self.arbiter is None and self.start_arbiter is not None:
            self.arbiter = self.start_arbiter()
            self.start_arbiter = None
        return self.arbiter


@dataclass(slots=True)
class Disagreement:
    seed: int
    index: int
    kind: str
    operation: Operation
    ours: str
    reference: str
    minimal: Operation | None = None
    minimal_ours: str = ""
    minimal_reference: str = ""
    checks: int = 0
    tags: list[str] = field(default_factory=list)
    arbiter: str = ""
    minimal_arbiter: str = ""
    spec: str = ""
    expected: str = ""
    minimal_spec: str = ""
    minimal_expected: str = ""

    def key(self) -> tuple[int, int, str]:
        return self.seed, self.index, self.kind


@dataclass(slots=True)
class Totals:
    generated: int = 0
    composed: int = 0
    composition_failed: int = 0
    reference_refused: int = 0
    served: int = 0
    queries: int = 0
    agreed: int = 0
    composition_errors: dict[str, int] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    sets: dict[int, SchemaSet] = field(default_factory=dict)
    stopped_early: bool = False
    host_crashes: int = 0
    # every query is also checked against the spec's answer (oracle.py)
    spec_ambiguous: int = 0
    ours_spec: int = 0
    reference_spec: int = 0
    ours_off_spec: list[Disagreement] = field(default_factory=list)
    reference_retried: int = 0
    # seed -> subgraph requests (govgraph, the reference) and fetches (govgraph, the
    # reference) for the same queries
    fetches: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)


class ReferenceHost(ApolloHost):
    """The node host of the reference gateways, restarted when it dies."""

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-3000:]

    def start(self, supergraph: Path, urls: Any, engine: str = "apollo") -> Any:
        try:
            return super().start(supergraph, urls, engine)
        except (BrokenPipeError, OSError, ValueError) as error:
            raise GatewayStartError(f"the node host died: {error}\n{self.output()}") from error

    def stop(self, gateway: Any) -> None:
        if self.alive():
            try:
                super().stop(gateway)
            except (BrokenPipeError, OSError, ValueError, GatewayStartError):
                pass

    def close(self) -> None:
        try:
            super().close()
        except (BrokenPipeError, OSError, ValueError):
            pass


class Composer:
    """The reference composer in one node process for many subgraph sets."""

    def compose(self, sets: Iterable[SchemaSet]) -> dict[int, tuple[str | None, list[str]]]:
        lines = [json.dumps({"id": s.seed, "subgraphs": [
            {"name": name, "url": f"http://{name}.invalid/graphql", "sdl": s.sdl(name)}
            for name in s.subgraphs]}) for s in sets]
        done = subprocess.run(["node", str(COMPOSER)], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, cwd=PROJECT_DIR, check=True)
        results: dict[int, tuple[str | None, list[str]]] = {}
        for line in done.stdout.splitlines():
            reply = json.loads(line)
            results[int(reply["id"])] = (reply.get("supergraph"), list(reply.get("errors", [])))
        return results


def require_node() -> None:
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed: the reference composer and gateway need it")


class Runner:
    """Runs seeds through both gateways; keeps totals and disagreements."""

    def __init__(self, queries_per_schema: int, minimize_per_kind: int = 2,
                 minimize_budget_s: float = 15.0, workdir: Path | None = None,
                 log: Any = None, workers: int = 2,
                 max_minimized_per_kind: int = 12) -> None:
        require_node()
        self.workers = workers
        self.minimized_total: dict[str, int] = {}
        self.max_minimized_per_kind = max_minimized_per_kind
        self.queries_per_schema = queries_per_schema
        self.minimize_per_kind = minimize_per_kind
        self.minimize_budget_s = minimize_budget_s
        self._tmp = tempfile.TemporaryDirectory(prefix="govgraph-random-")
        self.workdir = workdir or Path(self._tmp.name)
        self.totals = Totals()
        self.host = ReferenceHost()
        self.log = log or (lambda message: None)

    def close(self) -> None:
        self.host.close()
        self._tmp.cleanup()

    def run(self, seeds: list[int], deadline: float | None = None) -> Totals:
        started = time.monotonic()
        sets = [generate(seed) for seed in seeds]
        self.totals.generated += len(sets)
        composed = Composer().compose(sets)
        for schema_set in sets:
            if deadline is not None and time.monotonic() > deadline:
                self.totals.stopped_early = True
                break
            supergraph, errors = composed.get(schema_set.seed, (None, ["no answer"]))
            if supergraph is None:
                self.totals.composition_failed += 1
                first = (errors or ["?"])[0][:160]
                self.totals.composition_errors[first] = (
                    self.totals.composition_errors.get(first, 0) + 1)
                continue
            self.totals.composed += 1
            self.totals.sets[schema_set.seed] = schema_set
            try:
                self.run_schema(schema_set, supergraph, deadline)
            except (BrokenPipeError, GatewayStartError, OSError) as error:
                self.totals.host_crashes += 1
                self.log(f"seed {schema_set.seed}: the run failed ({error}); node host output:\n"
                         f"{self.host.output()}")
            if not self.host.alive():
                self.log(f"seed {schema_set.seed}: the node host died:\n{self.host.output()}")
                self.totals.host_crashes += 1
                self.host.close()
                self.host = ReferenceHost()
        self.totals.elapsed_s += time.monotonic() - started
        return self.totals

    @contextmanager
    def serving(self, schema_set: SchemaSet, supergraph: str) -> Iterator[Served | str]:
        """Subgraphs, govgraph and the reference on one set; a string says what failed."""
        path = self.workdir / f"supergraph-{schema_set.seed}.graphql"
        path.write_text(supergraph, encoding="utf-8")
        # one set of subgraphs per gateway: the requests each receives measure its plans
        server = SubgraphServer(schema_set)
        server.start()
        reference_server = SubgraphServer(schema_set)
        reference_server.start()
        urls = server.urls()
        reference_urls = reference_server.urls()
        port = free_port()
        govgraph = GatewayProcess("govgraph", govgraph_command(path, port, GATEWAY_CONFIG), port,
                                  subgraph_env(urls))
        reference = None
        try:
            try:
                reference = self.host.start(path, reference_urls, engine=REFERENCE_ENGINE)
            except GatewayStartError as error:
                yield f"reference: {error}"
                return
            reference_client = Client(reference.port)
            introspection = reference_client.post({"query": get_introspection_query()})
            if not isinstance(introspection.body, dict) or "data" not in introspection.body:
                yield f"reference: introspection failed: {introspection.show()[:500]}"
                return
            schema = build_client_schema(introspection.body["data"])
            try:
                govgraph.wait_ready(timeout_s=30)
            except GatewayStartError as error:
                yield f"govgraph: {error}"
                return
            ours_client = Client(port)
            arbiters: list[Any] = []

            def start_arbiter() -> Client | None:
                try:
                    arbiters.append(self.host.start(path, reference_urls, engine="apollo"))
                except GatewayStartError:
                    return None
                return Client(arbiters[-1].port)

            restarted: list[Any] = []

            def restart_reference() -> Client | None:
                self.totals.host_crashes += 1
                self.log(f"seed {schema_set.seed}: the node host died; restarted:\n"
                         f"{self.host.output()[-800:]}")
                self.host.close()
                self.host = ReferenceHost()
                served.arbiter, served.start_arbiter = None, start_arbiter
                arbiters.clear()
                try:
                    restarted.append(self.host.start(path, reference_urls,
                                                     engine=REFERENCE_ENGINE))
                except GatewayStartError:
                    return None
                return Client(restarted[-1].port)

            served = Served(schema, ours_client, reference_client, start_arbiter,
                            restart_reference=restart_reference,
                            requests=lambda: (server.requests(), reference_server.requests(),
                                              server.fetches(), reference_server.fetches()))
            yield served
            ours_client.close()
            reference_client.close()
            if served.arbiter is not None:
                served.arbiter.close()
            for arbiter in arbiters:
                self.host.stop(arbiter)
            for gateway in restarted:
                self.host.stop(gateway)
        finally:
            govgraph.stop()
            if reference is not None:
                self.host.stop(reference)
            server.stop()
            reference_server.stop()

    def run_schema(self, schema_set: SchemaSet, supergraph: str,
                   deadline: float | None = None) -> None:
        with self.serving(schema_set, supergraph) as served:
            if isinstance(served, str):
                if served.startswith("govgraph"):
                    self.totals.served += 1
                    self._record(Disagreement(schema_set.seed, -1, "govgraph-start-failure",
                                              Operation("{ __typename }"), served[-1500:], ""))
                else:
                    self.totals.reference_refused += 1
                    self.log(f"seed {schema_set.seed}: {served[:300]}")
                return
            self.totals.served += 1
            self.run_queries(schema_set, served, deadline, supergraph)

    def ask_once(self, schema_set: SchemaSet, supergraph: str,
                 operation: Operation) -> tuple[Answer, Answer, Expected | None]:
        """Both gateways' answers to one operation, and the spec's."""
        with self.serving(schema_set, supergraph) as served:
            if isinstance(served, str):
                raise RuntimeError(served)
            expected = self.expected(Oracle(schema_set, served.schema, supergraph), operation)
            return (served.ours.post(operation.payload()),
                    served.reference.post(operation.payload()), expected)

    def run_queries(self, schema_set: SchemaSet, served: Served,
                    deadline: float | None, supergraph: str | None = None) -> None:
        schema, ours, reference = served.schema, served.ours, served.reference
        generator = QueryGenerator(schema, schema_set, random.Random(schema_set.seed * 7919 + 1))
        operations = [generator.operation() for _ in range(self.queries_per_schema)]
        local = threading.local()

        def ask(operation: Operation) -> tuple[Answer, Answer] | None:
            if deadline is not None and time.monotonic() > deadline:
                return None
            if not hasattr(local, "clients"):
                local.clients = (Client(ours.port), Client(reference.port))
            return (local.clients[0].post(operation.payload()),
                    local.clients[1].post(operation.payload()))

        before = served.requests()
        with ThreadPoolExecutor(self.workers) as pool:
            answers = list(pool.map(ask, operations))
        after = served.requests()
        if all(pair is not None and not pair[1].failure for pair in answers):
            # the subgraph requests each gateway's plans took for the same queries
            self.totals.fetches[schema_set.seed] = tuple(  # type: ignore[assignment]
                a - b for a, b in zip(after, before, strict=True))
        self.retry_reference(served, operations, answers)
        reference = served.reference
        oracle = Oracle(schema_set, schema, supergraph)
        minimized: dict[str, int] = {}
        for index, (operation, pair) in enumerate(zip(operations, answers, strict=True)):
            if pair is None:
                self.totals.stopped_early = True
                break
            ours_answer, reference_answer = pair
            self.totals.queries += 1
            expected = self.expected(oracle, operation)
            if expected is None or expected.ambiguous:
                self.totals.spec_ambiguous += 1
            else:
                self.totals.ours_spec += matches_spec(ours_answer, expected)
                self.totals.reference_spec += matches_spec(reference_answer, expected)
            kind = classify(ours_answer, reference_answer)
            if kind is None:
                self.totals.agreed += 1
                if (expected is not None and not expected.ambiguous
                        and not matches_spec(ours_answer, expected)):
                    self.off_spec(schema_set, schema, oracle, ours, index, operation,
                                  ours_answer, reference_answer, expected)
                continue
            found = Disagreement(schema_set.seed, index, kind, operation, ours_answer.show(),
                                 reference_answer.show())
            found.spec = spec_verdict(ours_answer, reference_answer, expected)
            found.expected = show_expected(expected)
            if found.spec in (SPEC_REFERENCE, SPEC_NEITHER):
                self.totals.ours_off_spec.append(found)
            found.arbiter = self.arbitrate(served, operation, ours_answer, reference_answer)
            if (kind not in ("reference-unavailable", "reference-crash")
                    and minimized.get(kind, 0) < self.minimize_per_kind
                    and self.minimized_total.get(kind, 0) < self.max_minimized_per_kind
                    and (deadline is None or time.monotonic() < deadline)):
                self.minimized_total[kind] = self.minimized_total.get(kind, 0) + 1
                minimized[kind] = minimized.get(kind, 0) + 1
                self.shrink(found, schema, ours, reference)
                if found.minimal is not None:
                    minimal_ours = ours.post(found.minimal.payload())
                    minimal_reference = reference.post(found.minimal.payload())
                    found.minimal_arbiter = self.arbitrate(
                        served, found.minimal, minimal_ours, minimal_reference)
                    minimal_expected = self.expected(oracle, found.minimal)
                    found.minimal_spec = spec_verdict(minimal_ours, minimal_reference,
                                                      minimal_expected)
                    found.minimal_expected = show_expected(minimal_expected)
            self._record(found)

    @staticmethod
    def expected(oracle: Oracle, operation: Operation) -> Expected | None:
        try:
            return oracle.answer(operation.query, operation.variables)
        except Exception:  # noqa: BLE001 - an oracle fault decides nothing
            return None

    def off_spec(self, schema_set: SchemaSet, schema: GraphQLSchema, oracle: Oracle,
                 ours: Client, index: int, operation: Operation, ours_answer: Answer,
                 reference_answer: Answer, expected: Expected) -> None:
        """Both gateways agree and both are off the spec's answer: recorded, shrunk."""
        found = Disagreement(schema_set.seed, index, "both-off-spec", operation,
                             ours_answer.show(), reference_answer.show(), spec=SPEC_NEITHER,
                             expected=show_expected(expected))
        self.totals.ours_off_spec.append(found)
        if self.minimized_total.get("both-off-spec", 0) >= self.max_minimized_per_kind:
            return
        self.minimized_total["both-off-spec"] = self.minimized_total.get("both-off-spec", 0) + 1

        def still_fails(candidate: Operation) -> bool:
            wanted = self.expected(oracle, candidate)
            return (wanted is not None and not wanted.ambiguous
                    and not matches_spec(ours.post(candidate.payload()), wanted))

        minimal, checks = minimize(schema, operation, still_fails,
                                   budget_s=self.minimize_budget_s)
        found.minimal, found.checks = minimal, checks
        found.minimal_ours = ours.post(minimal.payload()).show()
        found.minimal_expected = show_expected(self.expected(oracle, minimal))
        found.tags = feature_tags(schema_set, schema, minimal)

    def retry_reference(self, served: Served, operations: list[Operation],
                        answers: list[tuple[Answer, Answer] | None]) -> None:
        """Queries the reference could not answer because its node process died, asked again
        one by one on a new one; a query that kills it again is a `reference-crash`."""
        failed = [i for i, pair in enumerate(answers)
                  if pair is not None and pair[1].failure not in (None, "timeout")]
        if not failed:
            return
        if self.host.alive() or served.restart_reference is None:
            # the connection failed with the process alive: asked once more, alone
            for i in failed:
                pair = answers[i]
                assert pair is not None
                self.totals.reference_retried += 1
                answer = served.reference.post(operations[i].payload())
                failure = answer.failure not in (None, "timeout")
                answers[i] = (pair[0], Answer(None, None, "reference-crash") if failure
                              else answer)
            return
        client = served.restart_reference()
        restarts = 1
        for i in failed:
            pair = answers[i]
            if client is None or pair is None:
                break
            self.totals.reference_retried += 1
            answer = client.post(operations[i].payload())
            if answer.failure not in (None, "timeout") and not self.host.alive():
                answers[i] = (pair[0], Answer(None, None, "reference-crash"))
                client.close()
                if restarts >= MAX_REFERENCE_RESTARTS:
                    client = None
                    break
                client = served.restart_reference()
                restarts += 1
            else:
                answers[i] = (pair[0], answer)
        if client is not None:
            served.reference.close()
            served.reference = client

    @staticmethod
    def arbitrate(served: Served, operation: Operation, ours: Answer,
                  reference: Answer) -> str:
        """Which side @apollo/gateway, a second reference, takes on a disagreement."""
        third = served.third()
        if third is None:
            return ARBITER_NONE
        answer = third.post(operation.payload())
        with_ours = classify(ours, answer) is None
        with_reference = classify(answer, reference) is None
        if with_ours and not with_reference:
            return ARBITER_OURS
        if with_reference and not with_ours:
            return ARBITER_REFERENCE
        return ARBITER_NEITHER if not with_ours else ARBITER_NONE

    def shrink(self, found: Disagreement, schema: GraphQLSchema, ours: Client,
               reference: Client) -> None:
        def still_fails(candidate: Operation) -> bool:
            return classify(ours.post(candidate.payload()),
                            reference.post(candidate.payload())) == found.kind

        minimal, checks = minimize(schema, found.operation, still_fails,
                                   budget_s=self.minimize_budget_s)
        found.minimal = minimal
        found.checks = checks
        found.minimal_ours = ours.post(minimal.payload()).show()
        found.minimal_reference = reference.post(minimal.payload()).show()
        found.tags = feature_tags(self.totals.sets[found.seed], schema, minimal)

    def _record(self, found: Disagreement) -> None:
        self.totals.disagreements.append(found)
        self.totals.kinds[found.kind] = self.totals.kinds.get(found.kind, 0) + 1
        self.log(f"seed {found.seed} query {found.index}: {found.kind}"
                 + (f": {found.ours[-600:]}" if found.index < 0 else ""))


def feature_tags(schema_set: SchemaSet, schema: GraphQLSchema, operation: Operation) -> list[str]:
    """The federation features the coordinates of an operation take part in."""
    from graphql import TypeInfo, TypeInfoVisitor, Visitor, parse, visit

    coordinates: set[str] = set()
    shapes: set[str] = set()
    info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: Any, *_: Any) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                coordinates.add(f"{parent.name}.{node.name.value}")
                coordinates.add(parent.name)
            if node.alias is not None:
                shapes.add("q:alias")
            if node.arguments:
                shapes.add("q:arguments")

        def enter_inline_fragment(self, *_: Any) -> None:
            shapes.add("q:inline-fragment")

        def enter_fragment_spread(self, *_: Any) -> None:
            shapes.add("q:named-fragment")

        def enter_directive(self, *_: Any) -> None:
            shapes.add("q:skip-include")

        def enter_variable_definition(self, *_: Any) -> None:
            shapes.add("q:variables")

    visit(parse(operation.query), TypeInfoVisitor(info, Collect()))
    tags: set[str] = set()
    for coordinate in coordinates:
        tags.update(schema_set.tags.get(coordinate, ()))
    return sorted(tags) + sorted(shapes)
