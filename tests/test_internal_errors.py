"""No request is answered with a 500: whatever fails in planning, execution or shaping, the
client gets a GraphQL error with a code and a request id, and the traceback stays in the
gateway's log under that id."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, NoReturn

import pytest
from tiny_gateway import Reply, tiny_gateway

from gateway.exchange import GraphQLRequest
from gateway.planner.operation import Field, Operation, Selection
from gateway.shaping import CompiledShaper

SECRET = "upstream 10.20.30.40:6379 refused the password"


def _names(selections: list[Selection] | None) -> set[str]:
    names: set[str] = set()
    for sel in selections or ():
        if isinstance(sel, Field):
            names.add(sel.name)
        names |= _names(sel.selections)
    return names


def _assert_hides_the_failure(reply: Reply) -> None:
    for leak in (b"10.20.30.40", b"RuntimeError", b"Traceback", b"password"):
        assert leak not in reply.body


def _assert_logged(caplog: pytest.LogCaptureFixture, request_id: str) -> None:
    assert any(request_id in record.getMessage() and "RuntimeError" in (record.exc_text or "")
               and SECRET in (record.exc_text or "") for record in caplog.records)


def test_a_planner_crash_names_the_field_and_the_request_id_and_logs_the_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            plan = tiny.gateway.planner.plan

            def plan_but_not_parent(operation: Operation, labels: Any = None) -> Any:
                if "parent" in _names(operation.selections):
                    raise RuntimeError(SECRET)
                return plan(operation, labels)

            tiny.gateway.planner.plan = plan_but_not_parent  # type: ignore[method-assign]
            with caplog.at_level(logging.ERROR, logger="govgraph.gateway"):
                reply = await tiny.post("{ provinces { code up: parent { name } } }")
            assert reply.status == 200
            request_id = reply.headers["x-request-id"]
            assert reply.json["data"] is None
            assert reply.error["extensions"] == {"code": "QUERY_PLANNING_FAILED",
                                                 "requestId": request_id}
            assert "at field Division.parent (as up)" in reply.error["message"]
            assert request_id in reply.error["message"]
            _assert_hides_the_failure(reply)
            _assert_logged(caplog, request_id)

            ordinary = await tiny.post("{ provinces { name } }")
            assert ordinary.json == {"data": {"provinces": [{"name": "广东省"}]}}
    asyncio.run(scenario())


def test_the_field_named_is_the_one_that_fails_alone_not_its_parent() -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            plan = tiny.gateway.planner.plan

            def plan_but_not_aliases(operation: Operation, labels: Any = None) -> Any:
                if _aliased(operation.selections):
                    raise RuntimeError(SECRET)
                return plan(operation, labels)

            tiny.gateway.planner.plan = plan_but_not_aliases  # type: ignore[method-assign]
            reply = await tiny.post("{ provinces { code parent { code label: name } } }")
            assert reply.error["extensions"]["code"] == "QUERY_PLANNING_FAILED"
            assert "at field Division.name (as label)" in reply.error["message"]
    asyncio.run(scenario())


def _aliased(selections: list[Selection] | None) -> bool:
    return any((isinstance(sel, Field) and sel.alias is not None) or _aliased(sel.selections)
               for sel in selections or ())


def _boom(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError(SECRET)


@pytest.mark.parametrize("stage", ["execution", "shaping"])
def test_a_failure_after_planning_is_an_internal_server_error_with_the_request_id(
        stage: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            if stage == "execution":
                monkeypatch.setattr(tiny.gateway.executor, "run", _boom)
            else:
                monkeypatch.setattr(CompiledShaper, "shape", _boom)
            with caplog.at_level(logging.ERROR, logger="govgraph.gateway"):
                reply = await tiny.post("{ provinces { code } }")
            assert reply.status == 200
            request_id = reply.headers["x-request-id"]
            assert reply.json["data"] is None
            assert reply.error["extensions"] == {"code": "INTERNAL_SERVER_ERROR",
                                                 "requestId": request_id}
            _assert_hides_the_failure(reply)
            _assert_logged(caplog, request_id)
    asyncio.run(scenario())


def test_the_engine_alone_never_raises_and_makes_up_a_request_id(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            monkeypatch.setattr(tiny.gateway.executor, "run", _boom)
            with caplog.at_level(logging.ERROR, logger="govgraph.gateway"):
                request = GraphQLRequest(query="{ provinces { code } }")
                response = await tiny.gateway.execute(request)
            error = response.body["errors"][0]
            assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            request_id = error["extensions"]["requestId"]
            assert len(request_id) == 32 and int(request_id, 16) >= 0
            _assert_logged(caplog, request_id)
    asyncio.run(scenario())


@pytest.mark.parametrize("given, reused", [
    ("portal-2f9c1e7a", True),
    ("x" * 129, False),
    ("two words", False),
    ("bell\x07", False),
    ("", False),
])
def test_the_clients_request_id_is_reused_only_when_short_and_printable(
        given: str, reused: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with tiny_gateway() as tiny:
            ordinary = await tiny.post("{ provinces { code } }", {"x-request-id": given})
            assert (ordinary.headers["x-request-id"] == given) is reused
            monkeypatch.setattr(tiny.gateway.executor, "run", _boom)
            failed = await tiny.post("{ provinces { code } }", {"x-request-id": given})
            request_id = failed.headers["x-request-id"]
            assert failed.error["extensions"]["requestId"] == request_id
            assert (request_id == given) is reused
            if not reused:
                assert len(request_id) == 32
    asyncio.run(scenario())
