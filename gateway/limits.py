"""Limits an operation must keep before anything is fetched: aliases, root fields,
demand-control cost and fan-out.

Each check is cheap next to what it prevents and names its limit and the value found.
Cost follows the demand-control directives (`@cost(weight:)`, `@listSize(assumedSize:,
slicingArguments:)`, as Apollo and IBM's cost specification define them): a field weighs
its `@cost`, else 1 for an object and 0 for a leaf; a list multiplies what is under it by
its slicing argument, its assumed size, or the configured default. Fan-out counts the
subgraph requests a plan may cause, every shard of a scatter included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ConstValueNode,
    DirectiveNode,
    DocumentNode,
    GraphQLList,
    GraphQLOutputType,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.type import get_nullable_type

from gateway.planner.operation import Field, InlineFragment, Operation, Selection
from gateway.planner.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    SequenceNode,
)
from schema.links import linked_directives

MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_ROOT_FIELDS_EXCEEDED = "MAX_ROOT_FIELDS_EXCEEDED"
COST_ESTIMATED_TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"
MAX_FETCHES_EXCEEDED = "MAX_FETCHES_EXCEEDED"
MUTATION_WEIGHT = 10


@dataclass(frozen=True, slots=True)
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()


@dataclass(slots=True)
class CostRules:
    """`@cost` and `@listSize` of a supergraph, per type and per (type, field)."""

    type_weights: dict[str, int] = field(default_factory=dict)
    field_weights: dict[tuple[str, str], int] = field(default_factory=dict)
    list_sizes: dict[tuple[str, str], ListSize] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """One limit an operation passes: what to tell the client."""

    code: str
    message: str

    def error(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {"code": self.code}}


def read_cost_rules(document: DocumentNode) -> CostRules:
    """The demand-control directives, under the names the supergraph's `@link`s give them."""
    names = linked_directives(document, {"cost": ("cost", "listSize")})
    rules = CostRules()
    if not names:
        return rules
    typed = (
        ObjectTypeDefinitionNode,
        ObjectTypeExtensionNode,
        InterfaceTypeDefinitionNode,
        InterfaceTypeExtensionNode,
    )
    for definition in document.definitions:
        if not isinstance(definition, typed):
            continue
        type_name = definition.name.value
        for directive in definition.directives or ():
            if names.get(directive.name.value) == "cost":
                weight = _int_arg(directive, "weight")
                if weight is not None:
                    rules.type_weights[type_name] = weight
        for fdef in definition.fields or ():
            key = (type_name, fdef.name.value)
            for directive in fdef.directives or ():
                kind = names.get(directive.name.value)
                if kind == "cost":
                    weight = _int_arg(directive, "weight")
                    if weight is not None:
                        rules.field_weights[key] = weight
                elif kind == "listSize":
                    rules.list_sizes[key] = ListSize(
                        _int_arg(directive, "assumedSize"),
                        tuple(_strings_arg(directive, "slicingArguments")),
                    )
    return rules


def _int_arg(directive: DirectiveNode, name: str) -> int | None:
    for arg in directive.arguments or ():
        if arg.name.value == name and isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
    return None


def _strings_arg(directive: DirectiveNode, name: str) -> list[str]:
    for arg in directive.arguments or ():
        if arg.name.value != name:
            continue
        values = arg.value.values if isinstance(arg.value, ListValueNode) else (arg.value,)
        return [v.value for v in values if isinstance(v, StringValueNode)]
    return []


def shape_limits(
    operation: Operation, max_aliases: int, max_root_fields: int
) -> LimitExceeded | None:
    """Aliases anywhere in the (expanded) operation and distinct fields at its root."""
    aliases = _count_aliases(operation.selections)
    if aliases > max_aliases:
        return LimitExceeded(
            MAX_ALIASES_EXCEEDED,
            f"The operation uses {aliases} aliases, more than the limit of {max_aliases} set "
            f"by [gateway] max_aliases.",
        )
    roots = len(_root_keys(operation.selections, set()))
    if roots > max_root_fields:
        return LimitExceeded(
            MAX_ROOT_FIELDS_EXCEEDED,
            f"The operation selects {roots} root fields, more than the limit of "
            f"{max_root_fields} set by [gateway] max_root_fields.",
        )
    return None


def _count_aliases(selections: list[Selection]) -> int:
    count = 0
    for sel in selections:
        if isinstance(sel, InlineFragment):
            count += _count_aliases(sel.selections)
            continue
        if sel.alias is not None and sel.alias != sel.name:
            count += 1
        if sel.selections:
            count += _count_aliases(sel.selections)
    return count


def _root_keys(selections: list[Selection], keys: set[str]) -> set[str]:
    for sel in selections:
        if isinstance(sel, InlineFragment):
            _root_keys(sel.selections, keys)
        elif not sel.name.startswith("__"):
            keys.add(sel.response_key)
    return keys


def estimate_cost(
    operation: Operation,
    rules: CostRules,
    variables: Mapping[str, Any],
    default_list_size: int,
) -> int:
    """The operation's demand-control cost with these variables."""
    total = _selections_cost(operation.selections, rules, variables, default_list_size)
    if operation.kind == "mutation":
        total += MUTATION_WEIGHT * len(_root_keys(operation.selections, set()))
    return total


def _selections_cost(
    selections: list[Selection],
    rules: CostRules,
    variables: Mapping[str, Any],
    default_list_size: int,
) -> int:
    total = 0
    for sel in selections:
        if isinstance(sel, InlineFragment):
            total += _selections_cost(sel.selections, rules, variables, default_list_size)
        elif not sel.name.startswith("__"):
            total += _field_cost(sel, rules, variables, default_list_size)
    return total


def _field_cost(
    sel: Field, rules: CostRules, variables: Mapping[str, Any], default_list_size: int
) -> int:
    key = (sel.parent_type, sel.name)
    named = sel.named_type
    weight = rules.field_weights.get(key)
    if weight is None:
        weight = rules.type_weights.get(named)
    if weight is None:
        weight = 0 if is_leaf_type(get_named_type(sel.type)) else 1
    if not sel.selections and not _is_list(sel.type):
        return weight
    size = _list_size(sel, rules.list_sizes.get(key), variables, default_list_size)
    inner = (
        _selections_cost(sel.selections, rules, variables, default_list_size)
        if sel.selections
        else 0
    )
    return (weight + inner) * size if _is_list(sel.type) else weight + inner


def _is_list(gtype: GraphQLOutputType) -> bool:
    return isinstance(get_nullable_type(gtype), GraphQLList)


def _list_size(
    sel: Field, rule: ListSize | None, variables: Mapping[str, Any], default_list_size: int
) -> int:
    if rule is not None and rule.slicing_arguments:
        sizes = [
            v
            for v in (_argument(sel, name, variables) for name in rule.slicing_arguments)
            if isinstance(v, int) and not isinstance(v, bool)
        ]
        if sizes:
            return max(0, max(sizes))
    if rule is not None and rule.assumed_size is not None:
        return rule.assumed_size
    return default_list_size


def _argument(sel: Field, name: str, variables: Mapping[str, Any]) -> Any:
    for arg in sel.node.arguments or ():
        if arg.name.value != name:
            continue
        value: ValueNode | ConstValueNode = arg.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
    return None


def count_fetches(node: PlanNode | None, shards_of: Callable[[FetchNode], int]) -> int:
    """The subgraph requests a plan may cause: both branches of a condition counted, every
    shard a partitioned fetch may reach counted."""
    if node is None:
        return 0
    if isinstance(node, FetchNode):
        return shards_of(node)
    if isinstance(node, FlattenNode):
        return shards_of(node.node)
    if isinstance(node, SequenceNode | ParallelNode):
        return sum(count_fetches(n, shards_of) for n in node.nodes)
    if isinstance(node, ConditionNode):
        return count_fetches(node.if_clause, shards_of) + count_fetches(node.else_clause, shards_of)
    return 0
