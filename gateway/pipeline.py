"""Moved to `gateway.exchange`; kept until its last importers switch."""

from gateway.exchange import Engine, GraphQLRequest, GraphQLResponse

__all__ = ["Engine", "GraphQLRequest", "GraphQLResponse"]
