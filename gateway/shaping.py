"""Shape the merged subgraph data into exactly the client's response.

One pass over the data against the client's selection: response keys, `__typename`,
type conditions, `@skip`/`@include` on variables, removal of fields the planner added
(keys, `@requires`), and GraphQL null propagation — a null in a non-null position makes
the nearest nullable parent null, with one error at the path where it happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema
from graphql.type import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_abstract_type,
    is_leaf_type,
)

from gateway.planner.operation import Condition, Field, InlineFragment, Selection, both, holds

if TYPE_CHECKING:
    from graphql.type import GraphQLNullableOutputType

_INTROSPECTION = ("__schema", "__type")
_INVALID = object()  # "null went into a non-null position": propagate upward

# response key -> the fields selected under it, each with the condition it is selected under
Collected = list[tuple[str, list[tuple[Field, Condition]]]]


# the one empty selection list: caches key selection lists by identity, and a fresh empty
# list made per call would be freed and its id reused by another list while still a key
_NO_SELECTIONS: list[Selection] = []


class Shaper:
    """The exact shaper: per-field interpretation, errors placed by the spec."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        # keyed by the identity of selection lists: the operation's own, or merged ones kept
        # in `_merged`, so an id is never reused by another list while it is a key here
        self._collected: dict[tuple[int, str], Collected] = {}
        self._merged: dict[tuple[int, ...], list[Selection]] = {}
        # where the key order depends on the variables: each occurrence's key and condition
        self._orders: dict[tuple[int, str], list[tuple[str, Condition]] | None] = {}
        self._applies: dict[tuple[str | None, str], bool] = {}
        self._enums: dict[str, frozenset[str]] = {}

    def shape(
        self,
        root_type: str,
        selections: list[Selection],
        data: dict[str, Any] | None,
        errors: list[dict[str, Any]],
        variables: Mapping[str, Any],
        explained: Iterable[list[Any]] = (),
    ) -> dict[str, Any] | None:
        if data is None:
            return None
        error_paths = {tuple(e["path"]) for e in errors if isinstance(e.get("path"), list)}
        error_paths.update(tuple(p) for p in explained)
        self._variables = variables
        result = self._object(data, root_type, selections, [], errors, error_paths)
        return None if result is _INVALID else result

    def _enum_values(self, enum: GraphQLEnumType) -> frozenset[str]:
        values = self._enums.get(enum.name)
        if values is None:
            values = self._enums[enum.name] = frozenset(enum.values)
        return values

    def fields(self, selections: list[Selection], runtime: str) -> Collected:
        key = (id(selections), runtime)
        cached = self._collected.get(key)
        if cached is not None:
            return cached
        grouped: dict[str, list[tuple[Field, Condition]]] = {}
        occurrences: list[tuple[str, Condition]] = []
        self._collect(selections, runtime, grouped, (), occurrences)
        result = list(grouped.items())
        self._collected[key] = result
        # CollectFields puts a key where its first *included* occurrence is: when that first
        # occurrence is conditional and the key occurs again, the order depends on variables
        variable = any(entries[0][1] and len({c for _, c in entries}) > 1 for _, entries in result)
        self._orders[key] = occurrences if variable else None
        return result

    def merged(self, fields: list[Field]) -> list[Selection]:
        """The sub-selections of several fields under one response key, as one list that is
        built once (its identity keys the caches above)."""
        key = tuple(id(f) for f in fields)
        merged = self._merged.get(key)
        if merged is None:
            merged = self._merged[key] = [s for f in fields for s in (f.selections or ())]
        return merged

    def key_order(
        self, selections: list[Selection], runtime: str
    ) -> list[tuple[str, Condition]] | None:
        """Every occurrence of a response key with its condition, when the order of the keys
        depends on the variables (None when it does not)."""
        self.fields(selections, runtime)
        return self._orders[(id(selections), runtime)]

    def _collect(
        self,
        selections: list[Selection],
        runtime: str,
        grouped: dict[str, list[tuple[Field, Condition]]],
        condition: Condition,
        occurrences: list[tuple[str, Condition]],
    ) -> None:
        for sel in selections:
            if isinstance(sel, Field):
                applied = both(condition, sel.condition)
                grouped.setdefault(sel.response_key, []).append((sel, applied))
                occurrences.append((sel.response_key, applied))
            elif isinstance(sel, InlineFragment) and self._fragment_applies(
                sel.type_condition, runtime
            ):
                self._collect(
                    sel.selections, runtime, grouped, both(condition, sel.condition), occurrences
                )

    def _fragment_applies(self, cond: str | None, runtime: str) -> bool:
        if cond is None or cond == runtime:
            return True
        key = (cond, runtime)
        cached = self._applies.get(key)
        if cached is None:
            ctype = self.schema.get_type(cond)
            rtype = self.schema.get_type(runtime)
            cached = (
                ctype is not None
                and isinstance(rtype, GraphQLObjectType)
                and is_abstract_type(ctype)
                and self.schema.is_sub_type(ctype, rtype)
            )
            self._applies[key] = cached
        return cached

    def _object(
        self,
        obj: dict[str, Any],
        runtime: str,
        selections: list[Selection],
        path: list[Any],
        errors: list[dict[str, Any]],
        error_paths: set[tuple[Any, ...]],
    ) -> Any:
        out: dict[str, Any] = {}
        for key, entries in self.fields(selections, runtime):
            active = [f for f, c in entries if not c or holds(c, self._variables)]
            if not active:
                continue
            first = active[0]
            if first.name == "__typename":
                out[key] = runtime
                continue
            if first.name in _INTROSPECTION:
                # answered by graphql-core against the API schema, already in client shape
                out[key] = obj.get(key)
                continue
            subsel = first.selections if len(active) == 1 else self.merged(active)
            value = self._value(
                first.type, obj.get(key), subsel, path + [key], first, errors, error_paths
            )
            if value is _INVALID:
                return _INVALID
            out[key] = value
        order = self.key_order(selections, runtime)
        if order is not None:
            keys = [k for k, c in order if k in out and (not c or holds(c, self._variables))]
            out = {k: out[k] for k in dict.fromkeys(keys)}
        return out

    def _value(
        self,
        ftype: GraphQLOutputType,
        value: Any,
        selections: list[Selection] | None,
        path: list[Any],
        field: Field,
        errors: list[dict[str, Any]],
        error_paths: set[tuple[Any, ...]],
    ) -> Any:
        if isinstance(ftype, GraphQLNonNull):
            result = self._value(ftype.of_type, value, selections, path, field, errors, error_paths)
            if result is None:
                if not any(_related(p, path) for p in error_paths):
                    errors.append(
                        {
                            "message": f"Cannot return null for non-nullable field "
                            f"{field.parent_type}.{field.name}.",
                            "path": path,
                        }
                    )
                    error_paths.add(tuple(path))
                return _INVALID
            return result
        if value is None:
            return None
        if isinstance(ftype, GraphQLList):
            if not isinstance(value, list):
                return None
            items = []
            for i, item in enumerate(value):
                shaped = self._value(
                    ftype.of_type, item, selections, path + [i], field, errors, error_paths
                )
                if shaped is _INVALID:
                    return None
                items.append(shaped)
            return items
        if is_leaf_type(ftype):
            # enum values travel as their names; a list or an object in their place is no name
            # (and cannot be looked up in a set)
            if isinstance(ftype, GraphQLEnumType) and not (
                isinstance(value, str) and value in self._enum_values(ftype)
            ):
                errors.append(
                    {
                        "message": f'Enum "{ftype.name}" cannot represent value: '
                        f"{json.dumps(value, ensure_ascii=False)}",
                        "path": path,
                    }
                )
                error_paths.add(tuple(path))
                return None
            return value
        if not isinstance(value, dict):
            return None
        if is_abstract_type(ftype):
            typename = value.get("__typename")
            if not isinstance(typename, str):
                return None
            # an interface object's answer keeps the interface's name: its own fields still apply
            rtype = self.schema.get_type(typename)
            if not isinstance(rtype, GraphQLObjectType) and typename != ftype.name:
                return None
            runtime = typename
        else:
            runtime = ftype.name
        shaped = self._object(
            value, runtime, selections or _NO_SELECTIONS, path, errors, error_paths
        )
        return None if shaped is _INVALID else shaped


def _related(error_path: tuple[Any, ...], path: list[Any]) -> bool:
    """An error at, above or below `path` already explains a null there."""
    n = min(len(error_path), len(path))
    return list(error_path[:n]) == path[:n]


# a generated shaping function: (data, variables) -> the client's data
_ShapeFn = Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]


class _Fallback(Exception):
    """The fast path met something only the exact shaper handles (a null to propagate, an
    unknown type, a malformed value)."""


class CompiledShaper:
    """Shaping compiled once per operation into plain Python functions.

    The generated code handles the common case — every value where the client expects it —
    with no per-field interpretation. Anything else (a null in a non-null position, an
    enum value the API schema hides, a value of the wrong kind) raises, and the response
    is shaped again by the exact `Shaper`, which places nulls and errors by the spec.
    """

    def __init__(self, schema: GraphQLSchema, root_type: str, selections: list[Selection]) -> None:
        self.schema = schema
        self.root_type = root_type
        self.selections = selections
        self.exact = Shaper(schema)
        self._ns: dict[str, Any] = {"F": _Fallback}
        self._lines: list[str] = []
        self._tables: list[str] = []  # after every function: tables refer to them by name
        self._objects: dict[tuple[int, str], str] = {}
        self._counter = 0
        self._root: _ShapeFn | None = None
        try:
            root = self._object_fn(selections, root_type)
        except _Fallback:
            return  # a selection the generated code does not cover: always shape exactly
        source = "\n".join(self._lines + self._tables)
        # the source is generated here from the schema and the validated operation, never
        # from request data: names are our own, keys and type names are repr()-quoted
        exec(compile(source, f"<shaper {root_type}>", "exec"), self._ns)  # noqa: S102
        self._root = self._ns[root]

    def shape(
        self,
        data: dict[str, Any] | None,
        errors: list[dict[str, Any]],
        variables: Mapping[str, Any],
        explained: Iterable[list[Any]] = (),
    ) -> dict[str, Any] | None:
        if data is None:
            return None
        if self._root is not None:
            try:
                return self._root(data, variables)
            except (_Fallback, KeyError, AttributeError, TypeError):
                pass
        return self.exact.shape(self.root_type, self.selections, data, errors, variables, explained)

    # ---- code generation ---------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _const(self, value: Any) -> str:
        name = self._name("K")
        self._ns[name] = value
        return name

    def _test(self, condition: Condition) -> str:
        return " and ".join(f"(v.get({name!r}) is True) is {want}" for name, want in condition)

    def _object_fn(self, selections: list[Selection], runtime: str) -> str:
        key = (id(selections), runtime)
        existing = self._objects.get(key)
        if existing is not None:
            return existing
        name = self._objects[key] = self._name("obj")
        collected = self.exact.fields(selections, runtime)
        if self.exact.key_order(selections, runtime) is not None:
            raise _Fallback  # the order of the keys depends on the variables
        conditional = any(c for _, entries in collected for _, c in entries)
        # fields are read by subscript: a key the merged data lacks (a fetch that failed or
        # found no entity) is the exact shaper's case, which explains the null
        body: list[str] = []
        items: list[str] = []
        # a field read whatever the variables: a value that is no object fails it
        reads_always = False
        if conditional:
            body.append("    out = {}")
        for i, (response_key, entries) in enumerate(collected):
            conditions = {c for _, c in entries}
            fields = [f for f, _ in entries]
            first = fields[0]
            if len(conditions) > 1 and any(f.selections is not None for f in fields):
                raise _Fallback  # which sub-selections apply depends on the variables
            k = repr(response_key)
            var = f"r{i}"
            if first.name != "__typename" and (not conditional or () in conditions):
                reads_always = True
            if first.name == "__typename":
                lines = [f"    {var} = {runtime!r}"]
            elif first.name in _INTROSPECTION:
                lines = [f"    {var} = o.get({k})"]
            else:
                sub = first.selections if len(fields) == 1 else self.exact.merged(fields)
                lines = self._complete(first.type, f"o[{k}]", var, sub or _NO_SELECTIONS)
            if not conditional:
                if len(lines) == 1 and lines[0] == f"    {var} = o[{k}]":
                    items.append(f"{k}: o[{k}]")  # a plain value: read right into the answer
                else:
                    body.extend(lines)
                    items.append(f"{k}: {var}")
                continue
            if () in conditions:
                body.extend(lines)
            else:
                test = " or ".join(f"({self._test(c)})" for c in sorted(conditions))
                body.append(f"    if {test}:")
                body.extend("    " + line for line in lines)
            body.append(("    " if () in conditions else "        ") + f"out[{k}] = {var}")
        ret = "    return out" if conditional else "    return {" + ", ".join(items) + "}"
        # a value that is no object fails a read (TypeError, AttributeError); with no read
        # that always runs (only __typename, or conditional fields) it is checked outright
        if not reads_always:
            body.insert(0, "    if o.__class__ is not dict: raise F")
        self._lines.append("\n".join([f"def {name}(o, v):"] + body + [ret]))
        return name

    def _complete(
        self, ftype: GraphQLOutputType, src: str, var: str, selections: list[Selection]
    ) -> list[str]:
        """Statements that set `var` to the completed value of expression `src`."""
        inner: GraphQLNullableOutputType
        if isinstance(ftype, GraphQLNonNull):
            nonnull, inner = True, ftype.of_type
        else:
            nonnull, inner = False, ftype
        if is_leaf_type(inner) and not isinstance(inner, GraphQLEnumType):
            out = [f"    {var} = {src}"]
        elif isinstance(inner, GraphQLEnumType):
            values = self._const(frozenset(inner.values))
            out = [
                f"    {var} = {src}",
                f"    if {var} is not None and {var} not in {values}: raise F",
            ]
        elif isinstance(inner, GraphQLObjectType):
            # no call for the null check: the object's own function, inline
            fn = self._object_fn(selections, inner.name)
            out = [f"    {var} = {src}", f"    if {var} is not None: {var} = {fn}({var}, v)"]
        else:
            fn = self._value_fn(inner, selections)
            out = [f"    {var} = {fn}({src}, v)"]
        if nonnull:
            out.append(f"    if {var} is None: raise F")
        return out

    def _value_fn(self, ftype: GraphQLNullableOutputType, selections: list[Selection]) -> str:
        """A function completing one (nullable) value of `ftype`."""
        name = self._name("val")
        if isinstance(ftype, GraphQLList):
            item = ftype.of_type
            item_nonnull = isinstance(item, GraphQLNonNull)
            bare = item.of_type if item_nonnull else item
            if is_leaf_type(bare) and not isinstance(bare, GraphQLEnumType):
                check = "    if None in x: raise F\n" if item_nonnull else ""
                code = (
                    f"def {name}(x, v):\n    if x is None: return None\n"
                    f"    if x.__class__ is not list: raise F\n{check}    return x"
                )
            elif isinstance(bare, GraphQLObjectType):
                # objects straight from the comprehension (a null where none may be: the
                # object function fails on it, and the exact shaper takes over)
                fn = self._object_fn(selections, bare.name)
                each = f"{fn}(i, v)" if item_nonnull else f"None if i is None else {fn}(i, v)"
                code = (
                    f"def {name}(x, v):\n    if x is None: return None\n"
                    f"    if x.__class__ is not list: raise F\n"
                    f"    return [{each} for i in x]"
                )
            else:
                body = self._complete(item, "i", "r", selections)
                item_fn = self._name("item")
                self._lines.append(f"def {item_fn}(i, v):\n" + "\n".join(body) + "\n    return r")
                code = (
                    f"def {name}(x, v):\n    if x is None: return None\n"
                    f"    if x.__class__ is not list: raise F\n"
                    f"    return [{item_fn}(i, v) for i in x]"
                )
        elif is_abstract_type(ftype):
            table = {}
            for possible in self.schema.get_possible_types(ftype):
                table[possible.name] = self._object_fn(selections, possible.name)
            # an interface object's answer keeps the interface's name
            table[ftype.name] = self._object_fn(selections, ftype.name)
            entries = ", ".join(f"{t!r}: {fn}" for t, fn in table.items())
            tname = self._name("T")
            self._tables.append(f"{tname} = {{{entries}}}")
            code = (
                f"def {name}(x, v):\n    if x is None: return None\n"
                f"    f = {tname}.get(x.get('__typename'))\n"
                f"    if f is None: raise F\n    return f(x, v)"
            )
        else:
            fn = self._object_fn(selections, ftype.name)
            code = f"def {name}(x, v):\n    if x is None: return None\n    return {fn}(x, v)"
        self._lines.append(code)
        return name
