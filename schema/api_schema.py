"""The API schema: what clients see of a supergraph.

Composition machinery (`link`, `join__*`, `@tag`, `@inaccessible`) is removed,
and so is every element marked `@inaccessible`, so introspection and validation
against this schema never reveal or admit them.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    REMOVE,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumValueDefinitionNode,
    FieldDefinitionNode,
    GraphQLSchema,
    InputValueDefinitionNode,
    NamedTypeNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    Visitor,
    build_ast_schema,
    visit,
)

# specs whose directives and types are composition machinery, never client-visible
_MACHINERY_SPECS = ("link", "join", "core", "tag", "inaccessible")


def api_schema(document: DocumentNode, prefixes: dict[str, tuple[str, str]]) -> GraphQLSchema:
    """Derive the API schema from a supergraph document (see `schema.supergraph`)."""
    names = {spec: prefixes.get(spec, (spec, ""))[0] for spec in _MACHINERY_SPECS}
    inaccessible = names["inaccessible"]
    type_prefixes = tuple(f"{names[s]}__" for s in ("link", "join", "core"))
    machinery_directives = {names["link"], names["core"], names["tag"], inaccessible, "link"}

    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, (TypeDefinitionNode, TypeExtensionNode))
        and (d.name.value.startswith(type_prefixes) or _marked(d, inaccessible))
    }

    def is_machinery_directive(name: str) -> bool:
        return name in machinery_directives or name.startswith(type_prefixes)

    class Strip(Visitor):
        def enter_directive_definition(self, node: DirectiveDefinitionNode, *_: Any) -> Any:
            return REMOVE if is_machinery_directive(node.name.value) else None

        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            return REMOVE if is_machinery_directive(node.name.value) else None

        def enter_field_definition(self, node: FieldDefinitionNode, *_: Any) -> Any:
            if _marked(node, inaccessible) or _named(node.type) in hidden_types:
                return REMOVE
            return None

        def enter_input_value_definition(self, node: InputValueDefinitionNode, *_: Any) -> Any:
            if _marked(node, inaccessible) or _named(node.type) in hidden_types:
                return REMOVE
            return None

        def enter_enum_value_definition(self, node: EnumValueDefinitionNode, *_: Any) -> Any:
            return REMOVE if _marked(node, inaccessible) else None

        def enter_named_type(self, node: NamedTypeNode, key: Any, parent: Any, *_: Any) -> Any:
            # union members and implemented interfaces that are hidden
            if node.name.value in hidden_types and isinstance(key, int):
                return REMOVE
            return None

    definitions = [
        d
        for d in document.definitions
        if not (
            isinstance(d, (TypeDefinitionNode, TypeExtensionNode)) and d.name.value in hidden_types
        )
    ]
    stripped = visit(DocumentNode(definitions=tuple(definitions)), Strip())
    # a schema definition left with only default root names is dropped by build_ast_schema
    stripped = DocumentNode(
        definitions=tuple(
            d
            for d in stripped.definitions
            if not (
                isinstance(d, SchemaExtensionNode) and not d.directives and not d.operation_types
            )
        )
    )
    schema = build_ast_schema(stripped, assume_valid_sdl=True)
    return schema


def _marked(node: Any, directive: str) -> bool:
    return any(d.name.value == directive for d in getattr(node, "directives", None) or ())


def _named(type_node: Any) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type
    return type_node.name.value


__all__ = ["api_schema"]
