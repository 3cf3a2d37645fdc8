"""The local names a schema's `@link`s give a feature's directives.

`@link(url: ".../feature/v0.1", as: "f", import: ["@d", {name: "@e", as: "@g"}])` names
the directives of a feature: an imported directive by its import (or alias), any other
by the feature's prefix (`@f__e`), and a directive named like its feature by the prefix
alone. A renamed directive must mean exactly what the plain one means.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    ConstListValueNode,
    DocumentNode,
    ListValueNode,
    ObjectValueNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    ValueNode,
)


def linked_directives(
    document: DocumentNode, features: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """Local directive name -> spec directive name, for the features (feature name in the
    spec URL -> its directives) that the schema links."""
    names: dict[str, str] = {}
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            args = {a.name.value: a.value for a in directive.arguments or ()}
            url = string_value(args.get("url") or args.get("feature"))
            if url is None:
                continue
            parts = url.rstrip("/").split("/")
            feature = parts[-2] if len(parts) >= 2 else ""
            directives = features.get(feature)
            if directives is None:
                continue
            prefix = string_value(args.get("as")) or feature
            local = {d: prefix if d == feature else f"{prefix}__{d}" for d in directives}
            for item in list_items(args.get("import")):
                imported, alias = _import(item)
                if imported is not None and imported.lstrip("@") in local:
                    local[imported.lstrip("@")] = (alias or imported).lstrip("@")
            names.update({name: spec for spec, name in local.items()})
    return names


def list_items(value: ValueNode | None) -> tuple[ValueNode, ...]:
    """A list argument's items (list input coercion: a single value is a list of one)."""
    if value is None:
        return ()
    if isinstance(value, ListValueNode | ConstListValueNode):
        return tuple(value.values)
    return (value,)


def string_value(value: ValueNode | None) -> str | None:
    """A string literal's value; None for anything else."""
    return value.value if isinstance(value, StringValueNode) else None


def _import(item: ValueNode) -> tuple[str | None, str | None]:
    if isinstance(item, StringValueNode):
        return item.value, None
    if isinstance(item, ObjectValueNode):
        fields = {f.name.value: string_value(f.value) for f in item.fields}
        return fields.get("name"), fields.get("as")
    return None, None
