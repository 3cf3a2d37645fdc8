"""A data-driven Federation v2 subgraph, served over real HTTP for conformance tests.

A subgraph is an SDL plus a JSON-able fixture; it answers `_service`, `_entities` and
root fields with graphql-core and records every request so a test can assert which
subgraph the gateway called, how often, and in which order.

Fixture format (one JSON object per subgraph):

    {
      "Query":    {"field": VALUE, ...},          root values, also "Mutation"
      "entities": {"Type": [RECORD, ...]},        what `_entities` resolves against
      "$http":    {"status": 500, "body": "..."}  optional: answer every request with this
      "$lenient": true                          optional: every output field nullable, so the
                                                subgraph returns nulls the supergraph forbids
    }

A VALUE is plain JSON, or one of these markers (anywhere, also inside lists and records):

    {"$ref": "Type", "field": value, ...}    the entity record of Type with those fields
    {"$lookup": "Type"}                      the record of Type whose fields equal the arguments
    {"$args": [{"when": {...}, "then": VALUE}, ...], "$default": VALUE}
                                             chosen by the field's arguments
    {"$error": "message"}                    the field raises a GraphQL error

`computed` maps "Type.field" to `fn(parent, args) -> value` for fields derived from
others, such as a `@requires` field computed from the representation.
"""
from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from graphql import (
    DocumentNode,
    FieldDefinitionNode,
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    TypeNode,
    Visitor,
    build_ast_schema,
    graphql_sync,
    parse,
    visit,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

_ARRIVALS = itertools.count()

Computed = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]

# Definitions every Federation v2 subgraph schema may use; any the SDL declares itself win.
FEDERATION_DEFINITIONS = {
    "_Any": "scalar _Any",
    "FieldSet": "scalar FieldSet",
    "federation__FieldSet": "scalar federation__FieldSet",
    "link__Import": "scalar link__Import",
    "link__Purpose": "enum link__Purpose { SECURITY EXECUTION }",
    "_Service": "type _Service { sdl: String }",
    "link": "directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import])"
            " repeatable on SCHEMA",
    "key": "directive @key(fields: FieldSet!, resolvable: Boolean = true)"
           " repeatable on OBJECT | INTERFACE",
    "requires": "directive @requires(fields: FieldSet!) on FIELD_DEFINITION",
    "provides": "directive @provides(fields: FieldSet!) on FIELD_DEFINITION",
    "external": "directive @external(reason: String) on OBJECT | FIELD_DEFINITION",
    "shareable": "directive @shareable repeatable on OBJECT | FIELD_DEFINITION",
    "override": "directive @override(from: String!, label: String) on FIELD_DEFINITION",
    "inaccessible": "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION"
                    " | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT"
                    " | INPUT_FIELD_DEFINITION",
    "tag": "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE"
           " | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT"
           " | INPUT_FIELD_DEFINITION | SCHEMA",
    "interfaceObject": "directive @interfaceObject on OBJECT",
    "extends": "directive @extends on OBJECT | INTERFACE",
    "composeDirective": "directive @composeDirective(name: String!) repeatable on SCHEMA",
}


@dataclass(slots=True, frozen=True)
class RecordedRequest:
    """One request as the subgraph received it."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None
    # arrival order across every subgraph of the process, to check mutation order
    sequence: int = field(default_factory=lambda: next(_ARRIVALS))


class Subgraph:
    """One federation subgraph: schema built from the SDL, answers from the fixture."""

    def __init__(self, name: str, sdl: str, fixture: Mapping[str, Any],
                 computed: Mapping[str, Computed] | None = None) -> None:
        self.name = name
        self.sdl = sdl
        self.fixture = fixture
        self.computed = dict(computed or {})
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self.schema = build_subgraph_schema(sdl, lenient=bool(fixture.get("$lenient")))
        self._keys = _entity_keys(parse(sdl))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def execute(self, query: str, variables: dict[str, Any] | None,
                operation_name: str | None) -> dict[str, Any]:
        """Run one GraphQL request against the fixture and return the response map."""
        result = graphql_sync(self.schema, query, root_value=_RootValue(),
                              variable_values=variables, operation_name=operation_name,
                              field_resolver=self._resolve)
        return dict(result.formatted)

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        type_name = info.parent_type.name
        field_name = info.field_name
        if isinstance(source, _RootValue):
            if field_name == "_service":
                return {"sdl": self.sdl}
            if field_name == "_entities":
                return [self._entity(rep) for rep in args["representations"]]
            parent: Mapping[str, Any] = self.fixture.get(type_name, {})
        else:
            parent = source if isinstance(source, Mapping) else {}
        compute = self.computed.get(f"{type_name}.{field_name}")
        if compute is not None:
            return self._materialise(compute(parent, args), args)
        return self._materialise(parent.get(field_name), args)

    def _materialise(self, value: Any, args: Mapping[str, Any]) -> Any:
        if isinstance(value, list):
            return [self._materialise(item, args) for item in value]
        if not isinstance(value, Mapping):
            return value
        if "$error" in value:
            raise GraphQLError(str(value["$error"]))
        if "$ref" in value:
            fields = {k: v for k, v in value.items() if k != "$ref"}
            return self._find(str(value["$ref"]), lambda record: _contains(record, fields))
        if "$lookup" in value:
            wanted = dict(args)
            return self._find(str(value["$lookup"]), lambda record: _contains(record, wanted))
        if "$args" in value:
            for case in value["$args"]:
                if _contains(args, case.get("when", {})):
                    return self._materialise(case.get("then"), args)
            return self._materialise(value.get("$default"), args)
        return value

    def _records(self, type_name: str) -> list[dict[str, Any]] | None:
        """Records of a type (of every implementation, for an interface), typename set."""
        entities = self.fixture.get("entities", {})
        named = self.schema.get_type(type_name)
        if isinstance(named, GraphQLInterfaceType) and type_name not in entities:
            implementations = self.schema.get_implementations(named).objects
            found = [t.name for t in implementations if t.name in entities]
            if not found:
                return None
            return [{"__typename": name, **record} for name in found for record in entities[name]]
        if type_name not in entities:
            return None
        return [{"__typename": type_name, **record} for record in entities[type_name]]

    def _find(self, type_name: str, match: Callable[[Mapping[str, Any]], bool]) -> Any:
        for record in self._records(type_name) or []:
            if match(record):
                return record
        return None

    def _entity(self, representation: Mapping[str, Any]) -> Any:
        """Resolve a representation by any of its type's keys; merge in `@requires` fields."""
        type_name = representation["__typename"]
        records = self._records(type_name)
        if records is None:
            # the subgraph stores nothing for this type: it computes from the representation
            return dict(representation)
        for key in self._keys.get(type_name, [{}]):
            if not _has_fields(representation, key):
                continue
            for record in records:
                if _equal_on(record, representation, key):
                    merged = dict(record)
                    merged.update({k: v for k, v in representation.items() if k != "__typename"})
                    return merged
        return None


class _RootValue:
    """Marks the root object so resolvers know to read the fixture's operation map."""


KeyShape = dict[str, "KeyShape"]


def _selection_shape(selection_set: SelectionSetNode | None) -> KeyShape:
    shape: KeyShape = {}
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            shape[selection.name.value] = _selection_shape(selection.selection_set)
    return shape


def _entity_keys(document: DocumentNode) -> dict[str, list[KeyShape]]:
    """Every `@key(fields:)` of every type in the SDL, as nested field shapes."""
    keys: dict[str, list[KeyShape]] = {}
    kinds = (ObjectTypeDefinitionNode, ObjectTypeExtensionNode,
             InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode)
    for definition in document.definitions:
        if not isinstance(definition, kinds):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("key", "federation__key"):
                continue
            for argument in directive.arguments or ():
                if argument.name.value == "fields" and isinstance(argument.value, StringValueNode):
                    operation = parse("{" + argument.value.value + "}").definitions[0]
                    assert isinstance(operation, OperationDefinitionNode)
                    keys.setdefault(definition.name.value, []).append(
                        _selection_shape(operation.selection_set))
    return keys


def _has_fields(value: Any, shape: KeyShape) -> bool:
    if not shape:
        return True
    if not isinstance(value, Mapping):
        return False
    return all(name in value and _has_fields(value[name], sub) for name, sub in shape.items())


def _equal_on(record: Any, representation: Any, shape: KeyShape) -> bool:
    if not shape:
        return bool(record == representation)
    if not isinstance(record, Mapping) or not isinstance(representation, Mapping):
        return False
    return all(name in record and _equal_on(record[name], representation[name], sub)
               for name, sub in shape.items())


def _contains(record: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(name in record and record[name] == value for name, value in fields.items())


class _NullableOutputs(Visitor):
    """Drops every non-null wrapper from output field types."""

    def enter_field_definition(self, node: FieldDefinitionNode, *_: Any) -> FieldDefinitionNode:
        return FieldDefinitionNode(name=node.name, description=node.description,
                                   arguments=node.arguments, directives=node.directives,
                                   type=_nullable(node.type))


def _nullable(type_node: TypeNode) -> TypeNode:
    if isinstance(type_node, NonNullTypeNode):
        return _nullable(type_node.type)
    if isinstance(type_node, ListTypeNode):
        return ListTypeNode(type=_nullable(type_node.type))
    return type_node


def _define_extended_types(document: DocumentNode) -> DocumentNode:
    """`extend type T` of a T defined nowhere else (the Federation 1 style) defines T."""
    defined = {d.name.value for d in document.definitions
               if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode)}
    definitions = []
    for node in document.definitions:
        if isinstance(node, ObjectTypeExtensionNode) and node.name.value not in defined:
            node = ObjectTypeDefinitionNode(name=node.name, interfaces=node.interfaces,
                                            directives=node.directives, fields=node.fields)
            defined.add(node.name.value)
        elif isinstance(node, InterfaceTypeExtensionNode) and node.name.value not in defined:
            node = InterfaceTypeDefinitionNode(name=node.name, interfaces=node.interfaces,
                                               directives=node.directives, fields=node.fields)
            defined.add(node.name.value)
        definitions.append(node)
    return DocumentNode(definitions=tuple(definitions))


def build_subgraph_schema(sdl: str, lenient: bool = False) -> GraphQLSchema:
    """The executable schema of a subgraph: its SDL plus the federation definitions."""
    document = _define_extended_types(parse(sdl))
    declared = set()
    for definition in document.definitions:
        name = getattr(definition, "name", None)
        if name is not None:
            declared.add(name.value)
    extra = [text for name, text in FEDERATION_DEFINITIONS.items() if name not in declared]
    entity_types = [
        name for name in _entity_keys(document)
        if any(isinstance(d, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode))
               and d.name.value == name for d in document.definitions)
    ]
    root_fields = ["_service: _Service!"]
    if entity_types:
        extra.append("union _Entity = " + " | ".join(dict.fromkeys(entity_types)))
        root_fields.append("_entities(representations: [_Any!]!): [_Entity]!")
    has_query = any(
        isinstance(d, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode))
        and d.name.value == "Query" for d in document.definitions)
    verb = "extend type" if has_query else "type"
    extra.append(f"{verb} Query {{ {' '.join(root_fields)} }}")
    full = DocumentNode(definitions=(*document.definitions, *parse("\n".join(extra)).definitions))
    if lenient:
        full = visit(full, _NullableOutputs())
    return build_ast_schema(full, assume_valid_sdl=True)


class SubgraphHost:
    """Serves several subgraphs on one free port of 127.0.0.1, at `/<name>/graphql`."""

    def __init__(self, subgraphs: Mapping[str, Subgraph]) -> None:
        self.subgraphs = dict(subgraphs)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/graphql"

    def start(self) -> None:
        app = Starlette(routes=[Route("/{name}/graphql", self._endpoint, methods=["GET", "POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name=f"subgraphs:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the conformance subgraph server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    def reset(self) -> None:
        for subgraph in self.subgraphs.values():
            subgraph.reset()

    async def _endpoint(self, request: Request) -> Response:
        subgraph = self.subgraphs.get(request.path_params["name"])
        if subgraph is None:
            return PlainTextResponse("no such subgraph", status_code=404)
        try:
            if request.method == "GET":
                params = request.query_params
                body: dict[str, Any] = {
                    "query": params.get("query", ""),
                    "variables": json.loads(params.get("variables") or "null"),
                    "operationName": params.get("operationName"),
                }
            else:
                body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errors": [{"message": "request body is not JSON"}]}, 400)
        subgraph.record(RecordedRequest(
            query=str(body.get("query") or ""),
            variables=dict(body.get("variables") or {}),
            operation_name=body.get("operationName"),
        ))
        forced = subgraph.fixture.get("$http")
        if forced is not None:
            return Response(str(forced.get("body", "")), status_code=int(forced.get("status", 500)),
                            media_type=str(forced.get("content_type", "text/html")))
        result = subgraph.execute(str(body.get("query") or ""), body.get("variables"),
                                  body.get("operationName"))
        return JSONResponse(result)
