"""Query plans as JSON, so replicas can share them through a cache without pickle.

Only data goes into the store: node kinds, names, selections, with arguments and directives as
GraphQL text that is parsed back. Reading an entry checks a checksum and every field's type; an
entry that fails is `CorruptPlan`, never half a plan. Rendered parts of a fetch (operation text,
top-level field indexes) are not stored: `FetchNode.render()` rebuilds them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    print_ast,
)
from graphql import parse as parse_document

from gateway.planner.plan import (
    ConditionNode,
    ContextInput,
    EntityInput,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    RepField,
    SequenceNode,
)
from gateway.planner.selection import FieldSel, FragmentSel, SelectionSet

# Bump when the encoding or the meaning of a plan's fields changes: old entries stop matching.
CODEC_VERSION = "2"


class CorruptPlan(ValueError):
    """A stored plan that cannot be read back exactly; it is ignored and planned again."""


def encode_plan(plan: QueryPlan) -> bytes:
    body = orjson.dumps(_node(plan.node))
    return hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def decode_plan(raw: bytes) -> QueryPlan:
    checksum, sep, body = raw.partition(b"\n")
    if not sep or hashlib.sha256(body).hexdigest().encode() != checksum:
        raise CorruptPlan("checksum does not match")
    try:
        data = orjson.loads(body)
        return QueryPlan(_Reader().node(data))
    except (KeyError, IndexError, AttributeError, TypeError, ValueError, GraphQLError) as exc:
        raise CorruptPlan(str(exc)) from None


# ---- writing ---------------------------------------------------------------------------------


def _node(node: PlanNode | None) -> Any:
    if node is None:
        return None
    if isinstance(node, FetchNode):
        return {
            "k": "fetch",
            "service": node.service,
            "graph": node.graph,
            "selection": _selection(node.selection),
            "variables": node.variable_definitions,
            "name": node.operation_name,
            "kind": node.operation_kind,
            "inputs": [_entity_input(i) for i in node.inputs],
            "renames": node.renames,
            "id": node.id,
            "context": [
                {"variable": c.variable, "depth": c.depth, "fields": _rep_fields(c.fields)}
                for c in node.context_inputs
            ],
            "sortKeys": node.sort_keys,
        }
    if isinstance(node, FlattenNode):
        return {
            "k": "flatten",
            "path": list(node.path),
            "node": _node(node.node),
            "more": [list(p) for p in node.more_paths],
        }
    if isinstance(node, SequenceNode):
        return {"k": "sequence", "nodes": [_node(n) for n in node.nodes]}
    if isinstance(node, ParallelNode):
        return {"k": "parallel", "nodes": [_node(n) for n in node.nodes]}
    return {
        "k": "condition",
        "condition": node.condition,
        "if": _node(node.if_clause),
        "else": _node(node.else_clause),
    }


def _selection(selection: SelectionSet) -> list[Any]:
    items: list[Any] = []
    for key, item in selection.items.items():
        directives = " ".join(print_ast(d) for d in item.directives)
        if isinstance(item, FieldSel):
            arguments = ", ".join(print_ast(a) for a in item.arguments)
            sub = _selection(item.sub) if item.sub is not None else None
            items.append(
                ["f", key, item.name, item.alias, arguments, directives, sub, item.internal]
            )
        else:
            items.append(["t", key, item.type_condition, directives, _selection(item.sub)])
    return items


def _entity_input(entity: EntityInput) -> Any:
    return {
        "types": sorted(entity.runtime_types),
        "typename": entity.typename,
        "fields": _rep_fields(entity.fields),
        "printed": entity.printed,
        "flat": [list(p) for p in entity.flat] if entity.flat is not None else None,
        "keyNames": list(entity.key_names),
    }


def _rep_fields(fields: tuple[RepField, ...]) -> list[Any]:
    return [
        [
            f.name,
            f.key,
            _rep_fields(f.sub) if f.sub is not None else None,
            f.optional,
            sorted(f.only) if f.only is not None else None,
        ]
        for f in fields
    ]


# ---- reading ---------------------------------------------------------------------------------


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(_str(v) for v in _list(value))


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return {_str(k): _str(v) for k, v in value.items()}


class _Reader:
    """Parses each distinct argument/directive text once per plan."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str], FieldNode] = {}

    def node(self, data: Any) -> PlanNode | None:
        if data is None:
            return None
        kind = data["k"]
        if kind == "fetch":
            return self.fetch(data)
        if kind == "flatten":
            fetch = self.fetch(data["node"])
            more = tuple(_strings(p) for p in _list(data["more"]))
            return FlattenNode(_strings(data["path"]), fetch, more)
        if kind in ("sequence", "parallel"):
            nodes = [self.required(n) for n in _list(data["nodes"])]
            return SequenceNode(nodes) if kind == "sequence" else ParallelNode(nodes)
        if kind == "condition":
            return ConditionNode(
                _str(data["condition"]), self.node(data["if"]), self.node(data["else"])
            )
        raise ValueError(f"unknown plan node kind {kind!r}")

    def required(self, data: Any) -> PlanNode:
        node = self.node(data)
        if node is None:
            raise ValueError("a plan node is missing")
        return node

    def fetch(self, data: Any) -> FetchNode:
        if data.get("k") != "fetch":
            raise ValueError("a Flatten node must hold a fetch")
        fetch = FetchNode(
            service=_str(data["service"]),
            graph=_str(data["graph"]),
            selection=self.selection(data["selection"]),
            variable_definitions=_str_map(data["variables"]),
            operation_name=_str(data["name"]),
            operation_kind=_str(data["kind"]),
            inputs=tuple(self.entity_input(i) for i in _list(data["inputs"])),
            renames=_str_map(data["renames"]),
            id=_int(data["id"]),
            context_inputs=tuple(
                ContextInput(_str(c["variable"]), _int(c["depth"]), self.rep_fields(c["fields"]))
                for c in _list(data["context"])
            ),
            sort_keys=_str_map(data["sortKeys"]),
        )
        fetch.render()
        return fetch

    def selection(self, data: Any) -> SelectionSet:
        out = SelectionSet()
        for item in _list(data):
            if item[0] == "f":
                _, key, name, alias, arguments, directives, sub, internal = item
                args, dirs = self.parts(_str(arguments), _str(directives))
                out.items[_str(key)] = FieldSel(
                    _str(name),
                    _opt_str(alias),
                    args,
                    dirs,
                    self.selection(sub) if sub is not None else None,
                    _bool(internal),
                )
            elif item[0] == "t":
                _, key, condition, directives, sub = item
                _, dirs = self.parts("", _str(directives))
                out.items[_str(key)] = FragmentSel(_opt_str(condition), self.selection(sub), dirs)
            else:
                raise ValueError(f"unknown selection kind {item[0]!r}")
        return out

    def parts(
        self, arguments: str, directives: str
    ) -> tuple[tuple[ArgumentNode, ...], tuple[DirectiveNode, ...]]:
        if not arguments and not directives:
            return (), ()
        key = (arguments, directives)
        field = self._parsed.get(key)
        if field is None:
            text = "{ f" + (f"({arguments})" if arguments else "") + f" {directives} }}"
            definition = parse_document(text, no_location=True).definitions[0]
            if not isinstance(definition, OperationDefinitionNode):
                raise ValueError(f"not a field's arguments and directives: {text}")
            parsed = definition.selection_set.selections[0]
            if not isinstance(parsed, FieldNode):
                raise ValueError(f"not a field's arguments and directives: {text}")
            field = self._parsed[key] = parsed
        return tuple(field.arguments or ()), tuple(field.directives or ())

    def entity_input(self, data: Any) -> EntityInput:
        flat = data["flat"]
        return EntityInput(
            runtime_types=frozenset(_strings(data["types"])),
            typename=_opt_str(data["typename"]),
            fields=self.rep_fields(data["fields"]),
            printed=_str(data["printed"]),
            flat=None if flat is None else tuple((_str(p[0]), _str(p[1])) for p in _list(flat)),
            key_names=_strings(data["keyNames"]),
        )

    def rep_fields(self, data: Any) -> tuple[RepField, ...]:
        return tuple(
            RepField(
                _str(name),
                _str(key),
                self.rep_fields(sub) if sub is not None else None,
                _bool(optional),
                frozenset(_strings(only)) if only is not None else None,
            )
            for name, key, sub, optional, only in _list(data)
        )
