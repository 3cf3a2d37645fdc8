"""Generic resolvers for a generated subgraph set, served over real HTTP.

Every value is derived from (parent identity, field name, arguments), so every subgraph that
can resolve a field answers the same value for it:

- an entity is (concrete type, n); its key fields encode it (see `generate.key_value`) and a
  representation is decoded back to it, checking that every key field it carries agrees;
- a value-type object (`Info`, `Loc`) carries the seed of the field that returned it;
- a leaf is a hash of (seed, field, arguments), typed by the field's return type;
  a nullable field is null for some seeds, a list has 0-3 items;
- a field returning an entity or an abstract type picks the child's identity and concrete
  type (among `SchemaSet.targets`) from the hash;
- a `@requires` field hashes the values of its field set as received in the representation,
  so a gateway that sends wrong or missing values gets a different answer;
- a field overridden away answers a stale value, an `@external` field no `@provides`
  covers answers a poisoned one, and a flaky field raises an error for some parents.
"""
from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from subgraph_server import build_subgraph_schema  # noqa: E402

from .generate import ENTITY_COUNT, SchemaSet, key_value  # noqa: E402

_MISSING = object()


def digest(*parts: Any) -> int:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _Root:
    """The root value: resolvers read the operation's fields from nothing but arguments."""


def _decode(kind: str, field_name: str, value: Any) -> tuple[str | None, int] | None:
    """(type, n) from one key field value, the type None where the value does not say."""
    try:
        if kind == "num":
            return None, int(value) - 100
        if kind == "loc":
            value, field_name = value["code"], "code"
        parts = str(value).split(":")
        if kind == "id" and len(parts) == 2:
            return parts[0], int(parts[1])
        if kind != "id" and len(parts) == 3 and parts[0] == field_name:
            return parts[1], int(parts[2])
    except (KeyError, TypeError, ValueError):
        return None
    return None


class DerivedValues:
    """Values derived from (parent identity, field name, arguments): the one derivation the
    subgraphs answer with and the oracle (`oracle.py`) computes the spec's answer with."""

    set: SchemaSet

    def _entity_object(self, typename: str, identity: tuple[str, int],
                       representation: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"__typename": typename, "__id": list(identity), "__rep": representation}

    def _child(self, named: Any, seed: list[Any]) -> dict[str, Any] | None:
        """The object a composite field returns for this seed."""
        name = named.name
        if name in self.set.targets:  # abstract, or an @interfaceObject standing for one
            candidates = self.set.targets.get(name) or []
            if not candidates:
                return None
            concrete = candidates[digest(seed, "type") % len(candidates)]
        else:
            concrete = name
        if concrete in self.set.value_types:
            return {"__typename": concrete, "__seed": seed}
        n = digest(seed, "n") % ENTITY_COUNT
        return self._entity_object(self._runtime(named, concrete), (concrete, n))

    def _runtime(self, named: Any, concrete: str) -> str:
        """The __typename an object of `concrete` type, returned as `named`, answers."""
        if isinstance(named, GraphQLObjectType) and named.name in self.set.targets:
            return str(named.name)  # an @interfaceObject type stands for its implementations
        return concrete

    def _root(self, info: GraphQLResolveInfo, args: Mapping[str, Any]) -> Any:
        type_ = info.return_type
        named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if ("id" in args or "num" in args or "sku" in args) and not isinstance(named, GraphQLList):
            return self._lookup(named, args)
        seed = ["Query", info.field_name, dict(args)]
        if isinstance(named, GraphQLList) and "first" in args:
            count = max(0, min(int(args["first"]), 1 + digest(seed, "len") % 4))
            return self._list(named.of_type, seed, count)
        return self._value(type_, seed)

    def _lookup(self, named: Any, args: Mapping[str, Any]) -> Any:
        for field_name, kind in (("id", "id"), ("num", "num"), ("sku", "sku")):
            if field_name in args:
                decoded = _decode(kind, field_name, args[field_name])
                break
        else:
            return None
        if decoded is None:
            return None
        type_name, n = decoded
        type_name = type_name or named.name
        if not 0 <= n < ENTITY_COUNT:
            return None
        if isinstance(named, GraphQLInterfaceType):
            if type_name not in self.set.targets.get(named.name, []):
                return None
            return self._entity_object(type_name, (type_name, n))
        if type_name != named.name:
            return None
        return self._entity_object(type_name, (type_name, n))

    def _value(self, type_: Any, seed: list[Any]) -> Any:
        nullable = not isinstance(type_, GraphQLNonNull)
        if not nullable:
            type_ = type_.of_type
        elif digest(seed, "null") % 7 == 0:
            return None
        if isinstance(type_, GraphQLList):
            return self._list(type_.of_type, seed, digest(seed, "len") % 4)
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            return self._child(type_, seed)
        return _leaf(type_, seed)

    def _list(self, item_type: Any, seed: list[Any], count: int) -> list[Any]:
        return [self._value(item_type, [*seed, index]) for index in range(count)]

    def _typed(self, parent: str, field_name: str, type_: Any) -> Any:
        """The type a value is derived for: non-null where some subgraph says so."""
        if (parent, field_name) in self.set.never_null and not isinstance(type_, GraphQLNonNull):
            return GraphQLNonNull(type_)
        return type_


class RandomSubgraph(DerivedValues):
    """One subgraph of a generated set: its schema and the derived-value resolvers."""

    def __init__(self, schema_set: SchemaSet, name: str) -> None:
        self.set = schema_set
        self.name = name
        self.sdl = schema_set.sdl(name)
        self.schema: GraphQLSchema = build_subgraph_schema(self.sdl)
        self.requires = {(t, f): parse("{" + fields + "}").definitions[0].selection_set
                         for (s, t, f), fields in schema_set.requires.items() if s == name}
        self.stale = {(t, f) for s, t, f in schema_set.stale if s == name}
        self.leaks = {(t, f) for s, t, f in schema_set.leaks if s == name}
        self.requests = 0
        # subgraph fetches: a request's `_entities` fields (a gateway may batch several entity
        # fetches into one request under aliases), or one for a root operation
        self.fetches = 0
        self._documents: dict[str, DocumentNode | list[GraphQLError]] = {}
        self._lock = threading.Lock()

    # --- requests --------------------------------------------------------------------
    def execute(self, query: str, variables: Mapping[str, Any] | None,
                operation_name: str | None) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            self.fetches += max(1, query.count("_entities("))
            document = self._documents.get(query)
            if document is None:
                try:
                    document = parse(query)
                    errors = validate(self.schema, document)
                except GraphQLError as error:
                    errors = [error]
                document = errors or document
                if len(self._documents) > 5000:
                    self._documents.clear()
                self._documents[query] = document
        if isinstance(document, list):
            return {"errors": [e.formatted for e in document]}
        result = execute(self.schema, document, root_value=_Root(), variable_values=variables,
                         operation_name=operation_name, field_resolver=self._resolve)
        return dict(result.formatted)

    # --- identities ------------------------------------------------------------------
    def identity(self, representation: Mapping[str, Any]) -> tuple[str, int]:
        """The entity a representation names; every key field it carries must agree."""
        typename = str(representation.get("__typename"))
        kinds = self.set.keys.get(typename)
        if kinds is None:
            raise GraphQLError(f"{self.name}: no entity type {typename}")
        found: set[tuple[str, int]] = set()
        for field_name, kind in kinds.items():
            if field_name not in representation:
                continue
            decoded = _decode(kind, field_name, representation[field_name])
            if decoded is None:
                raise GraphQLError(f"{self.name}: bad key {field_name} in {representation}")
            type_name, n = decoded
            found.add((type_name or typename, n))
        if len(found) != 1:
            raise GraphQLError(f"{self.name}: representation {json.dumps(representation)} "
                               "names no entity or several")
        type_name, n = found.pop()
        concrete = self.schema.get_type(typename)
        if isinstance(concrete, GraphQLObjectType) and typename in self.set.targets:
            pass  # an @interfaceObject: the concrete type comes from the key
        elif type_name != typename and not isinstance(concrete, GraphQLInterfaceType):
            raise GraphQLError(f"{self.name}: representation of {typename} names {type_name}")
        return type_name, n

    # --- resolution ------------------------------------------------------------------
    def _resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        field_name = info.field_name
        parent = info.parent_type.name
        if isinstance(source, _Root):
            if field_name == "_service":
                return {"sdl": self.sdl}
            if field_name == "_entities":
                return [self._entities_item(rep) for rep in args["representations"]]
            return self._root(info, args)
        assert isinstance(source, dict)
        if field_name == "__typename":
            return source["__typename"]
        if "__seed" not in source and "__id" not in source:
            return source.get(field_name)  # _service
        if "__seed" in source:
            seed = [source["__seed"], field_name, args]
        else:
            concrete, n = source["__id"]
            kinds = self.set.keys.get(concrete, {})
            if field_name in kinds:
                return key_value(kinds[field_name], field_name, concrete, n)
            seed = [concrete, n, field_name, args]
            if (parent, field_name) in self.requires:
                representation = source.get("__rep") or {}
                projected = _project(representation, self.requires[parent, field_name],
                                     f"{parent}.{field_name}")
                seed.append(projected)
            if (parent, field_name) in self.set.flaky and digest(seed, "fail") % 3 == 0:
                raise GraphQLError(f"{self.name}: {parent}.{field_name} failed for "
                                   f"{concrete}:{n}")
        if (parent, field_name) in self.stale:
            seed.append("stale")
        if (parent, field_name) in self.leaks:
            seed.append(f"leaked from {self.name}")
        return self._value(self._typed(parent, field_name, info.return_type), seed)

    def _entities_item(self, representation: Mapping[str, Any]) -> Any:
        identity = self.identity(representation)
        typename = str(representation["__typename"])
        named = self.schema.get_type(typename)
        if isinstance(named, GraphQLInterfaceType):
            typename = identity[0]
        return self._entity_object(typename, identity, representation)

def _leaf(type_: Any, seed: list[Any]) -> Any:
    value = digest(seed)
    if isinstance(type_, GraphQLEnumType):
        names = sorted(type_.values)
        return names[value % len(names)]
    name = type_.name
    if name == "Int":
        return value % 1000
    if name == "Float":
        return (value % 10000) / 8
    if name == "Boolean":
        return value % 2 == 0
    if name == "ID":
        return f"id-{value % 100000}"
    return f"s{value % 100000}"


def _project(value: Any, selection_set: SelectionSetNode, coordinate: str) -> Any:
    """The part of a representation a `@requires` field set names; a missing field is an error."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_project(item, selection_set, coordinate) for item in value]
    if not isinstance(value, Mapping):
        raise GraphQLError(f"{coordinate}: required value {value!r} is not an object")
    projected: dict[str, Any] = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            item = value.get(name, _MISSING)
            if item is _MISSING:
                raise GraphQLError(f"{coordinate}: the representation lacks required field {name}")
            projected[name] = (item if selection.selection_set is None
                               else _project(item, selection.selection_set, coordinate))
        elif isinstance(selection, InlineFragmentNode):
            # fields under a type condition are present only for objects of that type
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value in value:
                    item = value[inner.name.value]
                    projected[inner.name.value] = (
                        item if inner.selection_set is None
                        else _project(item, inner.selection_set, coordinate))
    return projected


class SubgraphServer:
    """Every subgraph of a set on one free port of 127.0.0.1, at `/<name>/graphql`."""

    def __init__(self, schema_set: SchemaSet) -> None:
        self.subgraphs = {name: RandomSubgraph(schema_set, name) for name in schema_set.subgraphs}
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/graphql"

    def urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in self.subgraphs}

    def requests(self) -> int:
        return sum(s.requests for s in self.subgraphs.values())

    def fetches(self) -> int:
        return sum(s.fetches for s in self.subgraphs.values())

    def start(self) -> None:
        app = Starlette(routes=[Route("/{name}/graphql", self._endpoint, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                backlog=512)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"random-subgraphs:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the random subgraph server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    async def _endpoint(self, request: Request) -> Response:
        subgraph = self.subgraphs.get(request.path_params["name"])
        if subgraph is None:
            return PlainTextResponse("no such subgraph", status_code=404)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errors": [{"message": "request body is not JSON"}]}, 400)
        result = subgraph.execute(str(body.get("query") or ""), body.get("variables"),
                                  body.get("operationName"))
        return JSONResponse(result)
