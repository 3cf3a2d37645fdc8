"""A supergraph SDL read into a model the planner can query.

The supergraph is the `link`/`join` form written by Apollo's and The Guild's
composers. This module answers the planner's questions — which subgraphs can
resolve `Type.field`, by which keys an entity can be fetched, what a field
`@requires` or `@provides` — and knows nothing of HTTP or of any domain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    ValueNode,
    build_ast_schema,
    parse,
)
from graphql.type import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType

from schema.fieldset import FieldSet, parse_field_set

# features linked `for: SECURITY` or `for: EXECUTION` that the gateway implements; any other
# is refused when the supergraph loads rather than silently ignored
HONOURED_FEATURES = frozenset(
    {
        "link",
        "core",
        "join",
        "context",
        "inaccessible",
        "tag",
        "authenticated",
        "requiresScopes",
        "policy",
    }
)
SUPPORTED_JOIN_VERSIONS = ("0.1", "0.2", "0.3", "0.4", "0.5")


class SupergraphError(ValueError):
    """The supergraph cannot be read or served; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Subgraph:
    name: str  # join__graph(name:), e.g. "products"
    enum_value: str  # join__Graph value, e.g. "PRODUCTS"
    url: str


@dataclass(frozen=True, slots=True)
class JoinType:
    graph: str
    key: FieldSet | None = None
    key_text: str | None = None
    extension: bool = False
    resolvable: bool = True
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """An argument filled from a context an ancestor sets (join v0.5, `@fromContext`)."""

    context: str  # the name an ancestor type sets with @context
    name: str  # the argument of the field
    type: str  # its type, as the subgraph declares it
    selection: FieldSet  # what to read on the ancestor


@dataclass(frozen=True, slots=True)
class JoinField:
    graph: str | None
    requires: FieldSet | None = None
    requires_text: str | None = None
    provides: FieldSet | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: tuple[ContextArgument, ...] = ()


@dataclass(slots=True)
class FieldModel:
    name: str
    # graph enum value -> its join__field (only when the supergraph lists any)
    joins: dict[str, JoinField] = field(default_factory=dict)
    has_joins: bool = False
    # graphs where the field resolves (computed once, with every progressive override label
    # at its default)
    resolvable_in: frozenset[str] = frozenset()
    # some join__field carries a progressive override label: resolvability depends on it
    labelled: bool = False


@dataclass(slots=True)
class TypeModel:
    name: str
    kind: str  # OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
    join_types: list[JoinType] = field(default_factory=list)
    graphs: frozenset[str] = frozenset()
    fields: dict[str, FieldModel] = field(default_factory=dict)
    # graph -> interfaces this type implements in that graph
    implements: dict[str, set[str]] = field(default_factory=dict)
    # graph -> union members in that graph
    union_members: dict[str, set[str]] = field(default_factory=dict)
    owner: str | None = None  # join v0.1 @join__owner
    contexts: frozenset[str] = frozenset()  # the contexts this type sets (@context(name:))

    def keys_in(self, graph: str) -> list[JoinType]:
        return [jt for jt in self.join_types if jt.graph == graph and jt.key is not None]

    def resolvable_keys_in(self, graph: str) -> list[JoinType]:
        return [jt for jt in self.keys_in(graph) if jt.resolvable]

    def is_interface_object_in(self, graph: str) -> bool:
        return any(jt.graph == graph and jt.is_interface_object for jt in self.join_types)


class Supergraph:
    """The parsed supergraph: subgraphs, types with their join metadata, and the schema."""

    def __init__(self, sdl: str) -> None:
        if not sdl or not sdl.strip():
            raise SupergraphError("the supergraph is empty")
        try:
            document = parse(sdl)
        except GraphQLError as exc:
            raise SupergraphError(
                f"the supergraph is not valid GraphQL SDL: {exc.message}"
            ) from None
        self.sdl = sdl
        self.hash = hashlib.sha256(sdl.encode()).hexdigest()
        self.document: DocumentNode = document
        self.prefixes = _read_links(document)
        join = self.prefixes.get("join")
        if join is None:
            raise SupergraphError(
                "the supergraph has no @link to the join spec "
                "(https://specs.apollo.dev/join/v0.x): "
                "is this a subgraph SDL rather than a supergraph?"
            )
        self.join_prefix = join[0]
        try:
            self.schema: GraphQLSchema = build_ast_schema(document, assume_valid_sdl=False)
        except (GraphQLError, TypeError) as exc:
            raise SupergraphError(f"the supergraph does not build a schema: {exc}") from None
        self.subgraphs: dict[str, Subgraph] = {}
        self.types: dict[str, TypeModel] = {}
        self._read_graphs()
        self._read_types()
        self.query_type = self.schema.query_type.name if self.schema.query_type else "Query"
        self.mutation_type = self.schema.mutation_type.name if self.schema.mutation_type else None
        self.subscription_type = (
            self.schema.subscription_type.name if self.schema.subscription_type else None
        )
        self._possible: dict[str, tuple[str, ...]] = {}

    # ---- reading -------------------------------------------------------------

    def _d(self, name: str) -> str:
        return f"{self.join_prefix}__{name}"

    def _read_graphs(self) -> None:
        enum_name = self._d("Graph")
        enum_def = next(
            (
                d
                for d in self.document.definitions
                if isinstance(d, EnumTypeDefinitionNode) and d.name.value == enum_name
            ),
            None,
        )
        if enum_def is None:
            raise SupergraphError(f"the supergraph has no enum {enum_name} listing its subgraphs")
        for value in enum_def.values or ():
            directive = _directive(value.directives, self._d("graph"))
            if directive is None:
                raise SupergraphError(
                    f"{enum_name}.{value.name.value} has no @{self._d('graph')}(name:, url:)"
                )
            args = _args(directive)
            name = _string(args, "name") or value.name.value.lower()
            url = _string(args, "url") or ""
            self.subgraphs[value.name.value] = Subgraph(
                name=name, enum_value=value.name.value, url=url
            )
        if not self.subgraphs:
            raise SupergraphError(f"the supergraph's {enum_name} lists no subgraphs")

    def _read_types(self) -> None:
        context = self.prefixes.get("context")
        context_directive = context[0] if context is not None else None
        nodes: dict[str, list[TypeDefinitionNode | TypeExtensionNode]] = {}
        for d in self.document.definitions:
            if isinstance(d, (TypeDefinitionNode, TypeExtensionNode)):
                nodes.setdefault(d.name.value, []).append(d)
        for name, defs in nodes.items():
            if name.startswith(("__", f"{self.join_prefix}__", "link__")):
                continue
            gtype = self.schema.get_type(name)
            if gtype is None:
                continue
            kind = _kind_of(gtype)
            model = TypeModel(name=name, kind=kind)
            for d in defs:
                for directive in d.directives or ():
                    dname = directive.name.value
                    args = _args(directive)
                    if dname == self._d("type"):
                        graph = args.get("graph")
                        if not isinstance(graph, str) or graph not in self.subgraphs:
                            raise SupergraphError(
                                f"@{dname} on {name} names unknown graph {graph!r}"
                            )
                        key_text = _string(args, "key")
                        key = None
                        if key_text:
                            try:
                                key = parse_field_set(key_text)
                            except GraphQLError as exc:
                                raise SupergraphError(
                                    f"key {key_text!r} of {name} is not a valid field set: "
                                    f"{exc.message}"
                                ) from None
                        model.join_types.append(
                            JoinType(
                                graph=graph,
                                key=key,
                                key_text=key_text,
                                extension=bool(args.get("extension", False)),
                                resolvable=args.get("resolvable", True) is not False,
                                is_interface_object=bool(args.get("isInterfaceObject", False)),
                            )
                        )
                    elif context_directive is not None and dname == context_directive:
                        model.contexts |= {_required(args, "name", f"@{dname} on {name}")}
                    elif dname == self._d("owner"):
                        # join v0.1: fields without @join__field belong to the owning graph
                        model.owner = _string(args, "graph")
                    elif dname == self._d("implements"):
                        where = f"@{dname} on {name}"
                        model.implements.setdefault(_required(args, "graph", where), set()).add(
                            _required(args, "interface", where)
                        )
                    elif dname == self._d("unionMember"):
                        where = f"@{dname} on {name}"
                        model.union_members.setdefault(_required(args, "graph", where), set()).add(
                            _required(args, "member", where)
                        )
                for fdef in getattr(d, "fields", None) or ():
                    fm = model.fields.setdefault(fdef.name.value, FieldModel(fdef.name.value))
                    for directive in fdef.directives or ():
                        if directive.name.value != self._d("field"):
                            continue
                        fm.has_joins = True
                        args = _args(directive)
                        graph = _string(args, "graph")
                        requires_text = _string(args, "requires")
                        provides_text = _string(args, "provides")
                        jf = JoinField(
                            graph=graph,
                            requires=parse_field_set(requires_text) if requires_text else None,
                            requires_text=requires_text,
                            provides=parse_field_set(provides_text) if provides_text else None,
                            type=_string(args, "type"),
                            external=bool(args.get("external", False)),
                            override=_string(args, "override"),
                            used_overridden=bool(args.get("usedOverridden", False)),
                            override_label=_string(args, "overrideLabel"),
                            context_arguments=_context_arguments(
                                args.get("contextArguments"), f"{name}.{fdef.name.value}"
                            ),
                        )
                        if graph is not None:
                            fm.joins[graph] = jf
            model.graphs = frozenset(jt.graph for jt in model.join_types)
            if not model.join_types and kind in ("OBJECT", "INTERFACE", "UNION"):
                # join v0.1 supergraphs may omit join__type on value types:
                # every graph may have them
                model.graphs = frozenset(self.subgraphs)
            self.types[name] = model
        labels: set[str] = set()
        for model in self.types.values():
            for fm in model.fields.values():
                fm.resolvable_in = frozenset(self._resolvable_graphs(model, fm))
                own = {jf.override_label for jf in fm.joins.values() if jf.override_label}
                fm.labelled = bool(own)
                labels |= own
        # progressive override labels ("percent(N)" or custom), decided per request
        self.override_labels: frozenset[str] = frozenset(labels)
        self._labelled_graphs: dict[tuple[str, str, frozenset[str]], frozenset[str]] = {}

    def _resolvable_graphs(
        self, model: TypeModel, fm: FieldModel, labels: frozenset[str] | None = None
    ) -> Iterable[str]:
        if not fm.has_joins:
            if model.owner is not None and not self._in_every_key(model, fm.name):
                return [model.owner]
            # a field another field of the type @requires in a subgraph is @external there
            # (composition allows nothing else); a composer that leaves the field without
            # @join__field (as some do for an @interfaceObject) would otherwise send it there
            required_in = {
                graph
                for other in model.fields.values()
                for graph, jf in other.joins.items()
                if jf.requires is not None
                and any(
                    isinstance(s, FieldNode) and s.name.value == fm.name
                    for s in jf.requires.selections
                )
            }
            if required_in and model.graphs - required_in:
                return model.graphs - required_in
            return model.graphs
        out = []
        for graph, jf in fm.joins.items():
            if jf.external or jf.used_overridden:
                continue
            if jf.override_label:
                # progressive override: the overriding subgraph serves the field unless the
                # label is off ("percent(0)"); the overridden side serves it only then
                active = (
                    override_label_active(jf.override_label)
                    if labels is None
                    else jf.override_label in labels
                )
                if bool(jf.override) != active:
                    continue
            out.append(graph)
        return out

    @staticmethod
    def _in_every_key(model: TypeModel, field_name: str) -> bool:
        """A key field is resolvable in every graph that declares the key (join v0.1)."""
        keys = [jt.key for jt in model.join_types if jt.key is not None]
        return bool(keys) and all(
            any(isinstance(s, FieldNode) and s.name.value == field_name for s in key.selections)
            for key in keys
        )

    # ---- queries of the planner ---------------------------------------------

    def type(self, name: str) -> TypeModel:
        return self.types[name]

    def possible_types(self, name: str) -> tuple[str, ...]:
        """Object types an abstract type may resolve to, in the supergraph."""
        cached = self._possible.get(name)
        if cached is not None:
            return cached
        gtype = self.schema.get_type(name)
        if isinstance(gtype, GraphQLObjectType):
            result: tuple[str, ...] = (name,)
        elif isinstance(gtype, (GraphQLInterfaceType, GraphQLUnionType)):
            result = tuple(t.name for t in self.schema.get_possible_types(gtype))
        else:
            result = ()
        self._possible[name] = result
        return result

    def possible_types_in(self, name: str, graph: str) -> tuple[str, ...]:
        """Object types of `name` that the subgraph `graph` knows as such."""
        model = self.types.get(name)
        if model is None:
            return ()
        if model.kind == "OBJECT":
            return (name,) if graph in model.graphs else ()
        if model.kind == "UNION":
            members = model.union_members.get(graph)
            if members is None:
                # join v0.1/v0.2 has no join__unionMember: every member the graph knows
                members = {t for t in self.possible_types(name) if graph in self.types[t].graphs}
            return tuple(t for t in self.possible_types(name) if t in members)
        out = []
        for t in self.possible_types(name):
            tm = self.types[t]
            if graph not in tm.graphs:
                continue
            if tm.implements:
                if name in tm.implements.get(graph, ()):
                    out.append(t)
            else:
                out.append(t)
        return tuple(out)

    def field_graphs(
        self, type_name: str, field_name: str, labels: frozenset[str] | None = None
    ) -> frozenset[str]:
        """Subgraphs that resolve the field; with `labels`, only those progressive override
        labels are on (without, each label has its default: on unless "percent(0)")."""
        model = self.types.get(type_name)
        if model is None:
            return frozenset()
        fm = model.fields.get(field_name)
        if fm is None:
            return frozenset()
        if labels is None or not fm.labelled:
            return fm.resolvable_in
        key = (type_name, field_name, labels)
        graphs = self._labelled_graphs.get(key)
        if graphs is None:
            graphs = frozenset(self._resolvable_graphs(model, fm, labels))
            self._labelled_graphs[key] = graphs
        return graphs

    def join_field(self, type_name: str, field_name: str, graph: str) -> JoinField | None:
        model = self.types.get(type_name)
        if model is None:
            return None
        fm = model.fields.get(field_name)
        if fm is None:
            return None
        return fm.joins.get(graph)

    def subgraph(self, enum_value: str) -> Subgraph:
        return self.subgraphs[enum_value]


def override_label_active(label: str) -> bool:
    """Progressive override labels default to the overriding subgraph.

    `percent(0)` keeps the overridden one.
    """
    text = label.strip()
    if text.startswith("percent(") and text.endswith(")"):
        try:
            return float(text[len("percent(") : -1]) > 0
        except ValueError:
            return True
    return True


def _read_links(document: DocumentNode) -> dict[str, tuple[str, str]]:
    """spec name (e.g. "join") -> (prefix used in this document, version)."""
    out: dict[str, tuple[str, str]] = {}
    for d in document.definitions:
        if not isinstance(d, (SchemaDefinitionNode, SchemaExtensionNode)):
            continue
        for directive in d.directives or ():
            if directive.name.value not in ("link", "core"):
                continue
            args = _args(directive)
            url = args.get("url") or args.get("feature")
            if not isinstance(url, str):
                continue
            parts = url.rstrip("/").split("/")
            if len(parts) < 2:
                continue
            name, version = parts[-2], parts[-1].lstrip("v")
            if name == "join" and version not in SUPPORTED_JOIN_VERSIONS:
                raise SupergraphError(
                    f"join spec v{version} is not supported (supported: "
                    + ", ".join("v" + v for v in SUPPORTED_JOIN_VERSIONS)
                    + ")"
                )
            purpose = args.get("for")
            if purpose in ("SECURITY", "EXECUTION") and name not in HONOURED_FEATURES:
                consequence = (
                    "answer requests the subgraphs mean to refuse"
                    if purpose == "SECURITY"
                    else "answer wrongly"
                )
                raise SupergraphError(
                    f"the supergraph links {url} for {purpose}, which this gateway does not "
                    f"implement; serving it anyway would {consequence}. Remove the feature "
                    f"from the subgraphs or serve this supergraph with a gateway that "
                    f"implements it"
                )
            out[name] = (_string(args, "as") or name, version)
    return out


def _directive(directives: Iterable[DirectiveNode] | None, name: str) -> DirectiveNode | None:
    for directive in directives or ():
        if directive.name.value == name:
            return directive
    return None


def _args(directive: DirectiveNode) -> dict[str, object]:
    return {arg.name.value: _literal(arg.value) for arg in directive.arguments or ()}


def _string(args: Mapping[str, object], name: str) -> str | None:
    """A string argument (`String`, `join__FieldSet`, a `join__Graph` value), or None."""
    value = args.get(name)
    return value if isinstance(value, str) else None


def _required(args: Mapping[str, object], name: str, where: str) -> str:
    value = _string(args, name)
    if value is None:
        raise SupergraphError(f"{where} needs a string {name}: argument, got {args.get(name)!r}")
    return value


def _context_arguments(value: object, where: str) -> tuple[ContextArgument, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SupergraphError(f"contextArguments of {where} must be a list")
    out = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("context", "name", "type", "selection")
        ):
            raise SupergraphError(
                f"contextArguments of {where} need context, name, type and selection strings"
            )
        text = item["selection"].strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]  # written as a selection set, braces included
        try:
            selection = parse_field_set(text)
        except GraphQLError as exc:
            raise SupergraphError(
                f"context selection {item['selection']!r} of {where} is not a valid field set: "
                f"{exc.message}"
            ) from None
        out.append(ContextArgument(item["context"], item["name"], item["type"], selection))
    return tuple(out)


def _literal(node: ValueNode) -> object:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, EnumValueNode):
        return node.value
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, ListValueNode):
        return [_literal(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal(f.value) for f in node.fields}
    return getattr(node, "value", None)


def _kind_of(gtype: object) -> str:
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLScalarType,
    )

    if isinstance(gtype, GraphQLObjectType):
        return "OBJECT"
    if isinstance(gtype, GraphQLInterfaceType):
        return "INTERFACE"
    if isinstance(gtype, GraphQLUnionType):
        return "UNION"
    if isinstance(gtype, GraphQLEnumType):
        return "ENUM"
    if isinstance(gtype, GraphQLInputObjectType):
        return "INPUT_OBJECT"
    if isinstance(gtype, GraphQLScalarType):
        return "SCALAR"
    return "UNKNOWN"


__all__ = [
    "FieldModel",
    "JoinField",
    "JoinType",
    "Subgraph",
    "Supergraph",
    "SupergraphError",
    "TypeModel",
]
