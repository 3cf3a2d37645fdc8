"""A subgraph's own spans, joining the gateway's trace.

The gateway sends every fetch with a W3C `traceparent` naming its fetch span; this ASGI
middleware continues that context, so a request's trace shows the time each subgraph (or
province's shard) spent on it. Off unless the standard `OTEL_*` variables name an exporter
or an OTLP endpoint, as for the gateway.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_propagator = TraceContextTextMapPropagator()


def tracing_requested(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter == "otlp"
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


class TracedRequests:
    """One server span per HTTP request, child of the caller's `traceparent` when it sent one."""

    def __init__(self, app: ASGIApp, tracer: trace.Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        parent = _propagator.extract(carrier)
        attributes = {"http.request.method": scope["method"], "url.path": scope["path"]}
        request_id = carrier.get("x-request-id")
        if request_id:
            attributes["govgraph.request_id"] = request_id
        with self.tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                    if message["status"] >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, traced_send)


def traced(app: ASGIApp, service: str, env: Mapping[str, str] | None = None) -> ASGIApp:
    """`app` with its requests traced when `OTEL_*` ask for traces (OTLP over HTTP), else `app`."""
    env = os.environ if env is None else env
    if not tracing_requested(env):
        return app
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return TracedRequests(app, provider.get_tracer("govgraph.subgraphs"))
