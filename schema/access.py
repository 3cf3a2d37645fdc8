"""Access rules of a supergraph: Federation's `@authenticated`, `@requiresScopes` and `@policy`.

The directives are read under the names the supergraph's `@link` gives them (an `import`
may rename them, and an unimported directive is prefixed by the feature's name), so a
renamed directive protects exactly what the plain one would. A rule on a type protects
every field whose type it is; a rule on a field protects that field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
)

from schema.links import linked_directives, list_items, string_value

# feature name in the spec URL -> the directives it defines
ACCESS_FEATURES = {
    "authenticated": ("authenticated",),
    "requiresScopes": ("requiresScopes",),
    "policy": ("policy",),
}

# any of the inner tuples, each satisfied as a whole
Alternatives = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a caller needs to see one field or type; empty when nothing is asked."""

    authenticated: bool = False
    scopes: tuple[Alternatives, ...] = ()  # every entry must be met
    policies: tuple[Alternatives, ...] = ()

    def __bool__(self) -> bool:
        return self.authenticated or bool(self.scopes) or bool(self.policies)

    def combined(self, other: Requirement) -> Requirement:
        if not other:
            return self
        if not self:
            return other
        return Requirement(
            self.authenticated or other.authenticated,
            self.scopes + other.scopes,
            self.policies + other.policies,
        )

    def met_by(self, authenticated: bool, scopes: frozenset[str], policies: frozenset[str]) -> bool:
        if self.authenticated and not authenticated:
            return False
        return all(_any_met(a, scopes) for a in self.scopes) and all(
            _any_met(a, policies) for a in self.policies
        )


def _any_met(alternatives: Alternatives, held: frozenset[str]) -> bool:
    return any(all(name in held for name in group) for group in alternatives)


@dataclass(slots=True)
class AccessRules:
    """The rules of one supergraph: per type and per (type, field)."""

    types: dict[str, Requirement] = field(default_factory=dict)
    fields: dict[tuple[str, str], Requirement] = field(default_factory=dict)
    policy_names: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.types) or bool(self.fields)

    def for_field(self, parent: str, name: str, named_type: str) -> Requirement:
        own = self.fields.get((parent, name), _NONE)
        return own.combined(self.types.get(named_type, _NONE))


_NONE = Requirement()


def read_access_rules(document: DocumentNode) -> AccessRules:
    """The access rules a supergraph declares (none when it links no access feature)."""
    rules = AccessRules()
    names = linked_directives(document, ACCESS_FEATURES)
    if not names:
        return rules
    typed = (
        ObjectTypeDefinitionNode,
        ObjectTypeExtensionNode,
        InterfaceTypeDefinitionNode,
        InterfaceTypeExtensionNode,
        ScalarTypeDefinitionNode,
        ScalarTypeExtensionNode,
        EnumTypeDefinitionNode,
        EnumTypeExtensionNode,
    )
    for definition in document.definitions:
        if not isinstance(definition, typed):
            continue
        type_name = definition.name.value
        own = _requirement(definition.directives, names, rules.policy_names)
        if own:
            rules.types[type_name] = rules.types.get(type_name, _NONE).combined(own)
        for fdef in getattr(definition, "fields", None) or ():
            req = _requirement(fdef.directives, names, rules.policy_names)
            if req:
                key = (type_name, fdef.name.value)
                rules.fields[key] = rules.fields.get(key, _NONE).combined(req)
    return rules


def _requirement(
    directives: Iterable[DirectiveNode] | None, names: Mapping[str, str], policy_names: set[str]
) -> Requirement:
    req = _NONE
    for directive in directives or ():
        kind = names.get(directive.name.value)
        if kind is None:
            continue
        if kind == "authenticated":
            req = req.combined(Requirement(authenticated=True))
            continue
        argument = "scopes" if kind == "requiresScopes" else "policies"
        value = next((a.value for a in directive.arguments or () if a.name.value == argument), None)
        alternatives = tuple(
            tuple(s for s in (string_value(v) for v in list_items(group)) if s is not None)
            for group in list_items(value)
        )
        if kind == "requiresScopes":
            req = req.combined(Requirement(scopes=(alternatives,)))
        else:
            policy_names.update(name for group in alternatives for name in group)
            req = req.combined(Requirement(policies=(alternatives,)))
    return req
