"""The compiled shaper answers exactly what the exact shaper answers.

`CompiledShaper` is the engine's shaper: code generated per operation for the common case,
handing anything unusual to the exact `Shaper`. Both are fed the same operations, data,
subgraph errors and variables, generated from one schema; their data and errors must agree,
including where null propagation, bad enum values and unknown `__typename`s are involved.
"""

from __future__ import annotations

import copy
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    build_schema,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    parse,
    validate,
)
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from gateway.planner.operation import (
    Field,
    InlineFragment,
    Selection,
    normalize,
    select_operation,
)
from gateway.shaping import CompiledShaper, Shaper

SCHEMA = build_schema("""
    enum Status { OPEN CLOSED }
    interface Node { id: ID! }
    interface Named { name: String }
    type Item implements Node & Named {
      id: ID!
      name: String
      status: Status!
      tags: [String!]
      owner: Person
      parts: [Part!]!
    }
    type Person implements Node & Named {
      id: ID!
      name: String
      mood: Status
      friends: [Person]
    }
    type Part { id: ID! count: Int size: Float }
    union Thing = Item | Person | Part
    type Query {
      item: Item
      items: [Item]!
      node: Node
      nodes: [Node!]
      named: [Named!]!
      thing: Thing!
      things: [Thing]
      status: Status
      count: Int!
    }
""")

DIRECTIVES = [
    "",
    "",
    "",
    " @include(if: $a)",
    " @skip(if: $b)",
    " @include(if: true)",
    " @skip(if: true)",
]
MAX_DEPTH = 3


@st.composite
def selection_set(draw: st.DrawFn, type_name: str, depth: int = 0) -> str:
    """A selection set on `type_name` that is valid more often than not (invalid ones are
    filtered out by validation): fields, aliases that merge, inline fragments, conditions."""
    field_types = _field_types(type_name)
    fields = sorted(field_types)
    if depth >= MAX_DEPTH:
        fields = [f for f in fields if is_leaf_type(field_types[f])]
    fragment_types = [None, *_overlapping(type_name)]
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "field", "field", "fragment", "typename"]))
        directive = draw(st.sampled_from(DIRECTIVES))
        if kind == "field" and fields:
            name = draw(st.sampled_from(fields))
            alias = draw(st.sampled_from(["", f"{name}A: "]))
            named = field_types[name]
            sub = "" if is_leaf_type(named) else " " + draw(selection_set(named.name, depth + 1))
            parts.append(f"{alias}{name}{directive}{sub}")
        elif kind == "fragment" and depth < MAX_DEPTH:
            condition = draw(st.sampled_from(fragment_types))
            on = f" on {condition}" if condition else ""
            target = condition or type_name
            parts.append(f"...{on}{directive} {draw(selection_set(target, depth + 1))}")
        else:
            parts.append(f"__typename{directive}")
    return "{ " + " ".join(parts) + " }"


def _field_types(type_name: str) -> dict[str, GraphQLNamedType]:
    """Field name -> named type of each field of an object or interface (none for a union)."""
    parent = SCHEMA.get_type(type_name)
    if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return {}
    return {name: get_named_type(f.type) for name, f in parent.fields.items()}


def _runtime_types(type_name: str) -> set[str]:
    named = SCHEMA.get_type(type_name)
    if is_abstract_type(named):
        return {t.name for t in SCHEMA.get_possible_types(named)}
    return {type_name}


def _overlapping(type_name: str) -> list[str]:
    """Type conditions a fragment inside `type_name` may have: those sharing an object type."""
    mine = _runtime_types(type_name)
    composite = [
        name
        for name, t in SCHEMA.type_map.items()
        if not name.startswith("__") and (isinstance(t, GraphQLObjectType) or is_abstract_type(t))
    ]
    return sorted(name for name in composite if _runtime_types(name) & mine)


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, list[Selection]]:
    body = draw(selection_set("Query"))
    declared = ", ".join(f"${v}: Boolean!" for v in ("a", "b") if f"${v}" in body)
    text = f"query Q{f'({declared})' if declared else ''} {body}"
    document = parse(text)
    assume(not validate(SCHEMA, document))
    return text, _normalized(document)


def _normalized(document: DocumentNode) -> list[Selection]:
    """The selections as the engine prepares them: variable conditions left for run time."""
    return normalize(SCHEMA, document, select_operation(document, None), {}).selections


def _fields_by_key(selections: list[Selection]) -> dict[str, list[Field]]:
    """Every field an object may be asked for, under whichever fragment."""
    out: dict[str, list[Field]] = {}
    for sel in selections:
        if isinstance(sel, Field):
            out.setdefault(sel.response_key, []).append(sel)
        elif isinstance(sel, InlineFragment):
            for key, fields in _fields_by_key(sel.selections).items():
                out.setdefault(key, []).extend(fields)
    return out


@st.composite
def objects(draw: st.DrawFn, type_name: str, selections: list[Selection]) -> dict[str, Any]:
    """Merged subgraph data for one object: mostly what was asked, sometimes not."""
    named = SCHEMA.get_type(type_name)
    obj: dict[str, Any] = {}
    if is_abstract_type(named):
        names = [t.name for t in SCHEMA.get_possible_types(named)]
        # its own name: the answer of an interface object; "Unknown": a type the API hides
        typename = draw(st.sampled_from([*names, *names, type_name, "Unknown", None]))
        if typename is not None:
            obj["__typename"] = typename
    for key, fields in _fields_by_key(selections).items():
        first = fields[0]
        if first.name == "__typename" or draw(st.integers(0, 15)) == 0:
            continue  # __typename is the shaper's to answer; a missing field reads as null
        merged = [s for f in fields for s in (f.selections or ())]
        obj[key] = draw(values(first.type, merged))
    if draw(st.booleans()):
        obj["_planner_key"] = "1"  # a field the planner added for a key: never shown
    return obj


@st.composite
def values(draw: st.DrawFn, ftype: GraphQLOutputType, selections: list[Selection]) -> Any:
    roll = draw(st.integers(0, 19))
    if roll == 0:
        return None
    if roll == 1:
        return draw(st.sampled_from(["oops", 7, [], {}, [None]]))  # the wrong kind
    if isinstance(ftype, GraphQLNonNull):
        return draw(values(ftype.of_type, selections))
    if isinstance(ftype, GraphQLList):
        return draw(st.lists(values(ftype.of_type, selections), max_size=3))
    if isinstance(ftype, GraphQLEnumType):
        return draw(st.sampled_from(["OPEN", "CLOSED", "ARCHIVED"]))  # ARCHIVED: not in the API
    named = get_named_type(ftype)
    if named.name in ("ID", "String"):
        return draw(st.sampled_from(["1", "省", ""]))
    if named.name == "Int":
        return draw(st.integers(-3, 3))
    if named.name == "Float":
        return draw(st.floats(allow_nan=False, width=32))
    if named.name == "Boolean":
        return draw(st.booleans())
    return draw(objects(named.name, selections))


@st.composite
def errors(draw: st.DrawFn, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Subgraph errors already in the response, some at paths of the data."""
    paths = [[key] for key in data] + [[key, 0] for key in data] + [["elsewhere"]]
    chosen = draw(st.lists(st.sampled_from(paths), max_size=2))
    return [{"message": "from a subgraph", "path": path} for path in chosen]


VARIABLES = st.fixed_dictionaries({"a": st.booleans(), "b": st.booleans()})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_shaper_answers_what_the_exact_shaper_answers(data: st.DataObject) -> None:
    text, selections = data.draw(operations(), label="operation")
    merged = data.draw(objects("Query", selections), label="data")
    subgraph_errors = data.draw(errors(merged), label="errors")
    variables = data.draw(VARIABLES, label="variables")

    exact_errors = copy.deepcopy(subgraph_errors)
    expected = Shaper(SCHEMA).shape(
        "Query", selections, copy.deepcopy(merged), exact_errors, variables
    )
    compiled = CompiledShaper(SCHEMA, "Query", selections)
    fell_back: list[bool] = []
    exact_shape = compiled.exact.shape

    def recording(*args: Any) -> Any:
        fell_back.append(True)
        return exact_shape(*args)

    compiled.exact.shape = recording
    compiled_errors = copy.deepcopy(subgraph_errors)
    answer = compiled.shape(copy.deepcopy(merged), compiled_errors, variables)

    assert (answer, compiled_errors) == (expected, exact_errors), text
    event("handed to the exact shaper" if fell_back else "answered by the generated code")


def test_well_formed_data_is_shaped_by_the_generated_code() -> None:
    """The agreement above is only worth something if the generated code does answer."""
    text = (
        "query Q($a: Boolean!) { item { id n: name status owner { name } } "
        "nodes { __typename ... on Item { tags } ... on Person { mood @include(if: $a) } } }"
    )
    compiled = CompiledShaper(SCHEMA, "Query", _normalized(parse(text)))

    def no_fallback(*args: Any) -> None:
        raise AssertionError("the exact shaper was asked")

    compiled.exact.shape = no_fallback
    data = {
        "item": {"id": "1", "n": "x", "status": "OPEN", "owner": None, "_planner_key": "1"},
        "nodes": [{"__typename": "Item", "tags": ["t"]}, {"__typename": "Person", "mood": None}],
    }
    assert compiled.shape(data, [], {"a": True}) == {
        "item": {"id": "1", "n": "x", "status": "OPEN", "owner": None},
        "nodes": [{"__typename": "Item", "tags": ["t"]}, {"__typename": "Person", "mood": None}],
    }


def test_a_fragment_spread_twice_shapes_each_field_with_its_own_selection() -> None:
    """Each root field below is selected twice, so its sub-selections are merged; the merged
    lists key the shaper's caches and must never stand in for one another."""
    query = """
        { ...F ...F }
        fragment F on Query {
          things { ... on Item { key: id } }
          a: item { name }
          b: item { tags }
          c: item { status }
        }
    """
    document = parse(query)
    operation = normalize(SCHEMA, document, select_operation(document, None), {})
    data = {
        "things": [{"__typename": "Item", "key": "i1"}],
        "a": {"name": "kettle"},
        "b": {"tags": ["hot"]},
        "c": {"status": "OPEN"},
    }
    expected = {
        "things": [{"key": "i1"}],
        "a": {"name": "kettle"},
        "b": {"tags": ["hot"]},
        "c": {"status": "OPEN"},
    }
    exact = Shaper(SCHEMA)
    for _ in range(3):
        assert exact.shape("Query", operation.selections, copy.deepcopy(data), [], {}) == expected
    compiled = CompiledShaper(SCHEMA, "Query", operation.selections)
    assert compiled.shape(copy.deepcopy(data), [], {}) == expected


def test_a_field_whose_selection_was_all_skipped_never_stands_in_for_another() -> None:
    """`a: item { owner { name @include(if: false) } }` leaves `owner` an empty selection; a
    fresh empty list made for it while compiling was freed and its id reused by the merged
    selection of `b`'s twice-selected `owner`, whose fields were then dropped."""
    query = """
        {
          a: item { owner { name @include(if: false) } }
          b: item { owner { name } owner { name } }
          c: items { owner { mood @skip(if: true) } }
          d: items { owner { mood } owner { mood name } }
        }
    """
    document = parse(query)
    operation = normalize(SCHEMA, document, select_operation(document, None), {})
    data = {
        "a": {"owner": {}},
        "b": {"owner": {"name": "Li"}},
        "c": [{"owner": {}}],
        "d": [{"owner": {"mood": "OPEN", "name": "Wu"}}],
    }
    expected = {
        "a": {"owner": {}},
        "b": {"owner": {"name": "Li"}},
        "c": [{"owner": {}}],
        "d": [{"owner": {"mood": "OPEN", "name": "Wu"}}],
    }
    for _ in range(20):  # the ids of freed lists are reused in a pattern; try a few times
        compiled = CompiledShaper(SCHEMA, "Query", operation.selections)
        assert compiled.shape(copy.deepcopy(data), [], {}) == expected
        assert (
            Shaper(SCHEMA).shape("Query", operation.selections, copy.deepcopy(data), [], {})
            == expected
        )


def test_a_value_that_is_no_object_is_never_shaped_as_one() -> None:
    """An object whose function reads no field unconditionally (only `__typename`, or
    fields under a condition that is off) still refuses a string where the object should be."""
    text = "query Q($a: Boolean!) { item { ... @include(if: $a) { id } __typename } }"
    selections = _normalized(parse(text))
    expected = Shaper(SCHEMA).shape("Query", selections, {"item": "oops"}, [], {"a": False})
    compiled = CompiledShaper(SCHEMA, "Query", selections)
    assert compiled.shape({"item": "oops"}, [], {"a": False}) == expected == {"item": None}
