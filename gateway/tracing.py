"""OpenTelemetry traces of the gateway: off unless the standard `OTEL_*` variables ask.

A request is one span (continuing a client's W3C `traceparent`), with child spans for
validation, planning, execution and every subgraph or shard fetch; each fetch carries its
own span's `traceparent` to the subgraph, so the subgraph's spans join the trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SERVICE_NAME = "govgraph-gateway"
INSTRUMENTATION = "govgraph.gateway"

propagator = TraceContextTextMapPropagator()


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Traces are on when an exporter this gateway has (otlp, console) or an OTLP endpoint is
    named, and the SDK is not off."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter in ("otlp", "console")
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def tracer_from_environment(env: Mapping[str, str] | None = None) -> trace.Tracer | None:
    """A tracer exporting as `OTEL_*` say (OTLP over HTTP, or the console), or None when
    traces are not configured. The exporter reads its endpoint, headers, timeout and
    compression from the same variables; the sampler from OTEL_TRACES_SAMPLER."""
    env = os.environ if env is None else env
    if not configured(env):
        return None
    exporter: SpanExporter
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer(INSTRUMENTATION)


def inject(span: trace.Span, headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` plus the `traceparent` (and `tracestate`) naming `span` as the parent."""
    carrier = dict(headers)
    propagator.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The trace context a client sent in `traceparent`, if any."""
    return propagator.extract(headers)
