"""Random Federation v2 subgraph sets, drawn from a seeded `random.Random`.

`generate(seed)` returns a `SchemaSet`: 2-4 subgraph SDLs plus the facts the generic
resolvers (`subgraphs.py`) need to answer consistently across subgraphs:

- entity identities: an entity is (concrete type, n) with n in 0..ENTITY_COUNT-1; every key
  field is derived from it and decodes back to it (`id` = "Type:n", `sku` = "sku:Type:n",
  `num` = 100 + n, `loc { code }` = "code:Type:n");
- `targets`: for every abstract type, the concrete types a field of that type may return,
  the intersection over every subgraph that defines the type;
- `requires`: the field set of each `@requires`, so the resolver can hash the values it
  receives in the representation (a wrong representation gives a wrong answer);
- `stale`: fields overridden away (`@override(from:)`): the old subgraph answers a
  different value, so a planner that still asks it is caught;
- `leaks`: `@external` fields no `@provides` covers: the subgraph answers a poisoned
  value, so a planner that asks it is caught;
- `flaky`: fields that raise a GraphQL error for some parents;
- `never_null`: shared fields typed non-null in some subgraphs and nullable in others,
  answered never null so that every subgraph agrees;
- `tags`: the federation features each coordinate takes part in, for the report.

Features drawn: entities with single, compound, nested and multiple `@key`s (some
`resolvable: false` stubs), `@shareable` value types, fields and root fields, `@external` +
`@requires` (with field arguments, nested selections and type conditions on an abstract
field), `@provides`, `@override(from:)`, entity interfaces with implementations spread
over subgraphs, `@interfaceObject`, value interfaces and unions whose members differ
between subgraphs, nullable, non-null and list fields, fields with arguments and defaults,
and shared fields typed differently per subgraph (`Int` here, `Int!` there).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

FEDERATION_URL = "https://specs.apollo.dev/federation/v2.3"
ENTITY_COUNT = 10

SUBGRAPH_NAMES = ["accounts", "catalog", "reviews", "shipping", "pricing", "media"]
ENTITY_NAMES = ["Product", "User", "Review", "Store", "Order", "Author", "Book", "Team"]
ANIMALS = ["Cat", "Dog", "Bird"]
SCALAR_FIELDS = ["name", "title", "rank", "score", "active", "weight", "status", "note",
                 "price", "color", "size", "code"]
SCALAR_TYPES = ["String", "Int", "Boolean", "Float", "String", "Int"]
ARG_TEMPLATES = [
    "(x: Int = 1)", "(x: Int)", "(flag: Boolean = false)", "(x: Int!, s: String)",
    "(s: String = \"a\")", "(c: Color)", "(c: Color = RED, x: Int = 2)",
]
KEY_STYLES = ["single", "single", "compound", "multi", "nested", "int"]
KEY_FIELD_TYPES = {"id": "ID!", "sku": "String!", "num": "Int!", "loc": "Loc!"}


@dataclass(slots=True)
class FieldDef:
    name: str
    type: str
    args: str = ""
    directives: list[str] = field(default_factory=list)

    def render(self) -> str:
        directives = "".join(" " + d for d in self.directives)
        return f"  {self.name}{self.args}: {self.type}{directives}"


@dataclass(slots=True)
class TypeDef:
    kind: str  # "type", "interface", "union", "enum"
    name: str
    directives: list[str] = field(default_factory=list)
    implements: list[str] = field(default_factory=list)
    fields: dict[str, FieldDef] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)

    def render(self, only_fields: set[str] | None = None) -> str:
        directives = "".join(" " + d for d in self.directives)
        if self.kind == "union":
            return f"union {self.name}{directives} = " + " | ".join(self.members)
        if self.kind == "enum":
            return f"enum {self.name}{directives} {{ " + " ".join(self.members) + " }"
        implements = (" implements " + " & ".join(self.implements)) if self.implements else ""
        body = [f.render() for f in self.fields.values()
                if only_fields is None or f.name in only_fields]
        return f"{self.kind} {self.name}{implements}{directives} {{\n" + "\n".join(body) + "\n}"


@dataclass(slots=True)
class SchemaSet:
    seed: int
    subgraphs: dict[str, dict[str, TypeDef]]
    # entity type (concrete, entity interface, or interface object) -> key field -> kind
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)
    value_types: set[str] = field(default_factory=set)
    requires: dict[tuple[str, str, str], str] = field(default_factory=dict)
    stale: set[tuple[str, str, str]] = field(default_factory=set)
    leaks: set[tuple[str, str, str]] = field(default_factory=set)
    flaky: set[tuple[str, str]] = field(default_factory=set)
    # (type, field) typed non-null in some subgraphs and nullable in others: never null, so
    # every subgraph agrees whichever the gateway asks
    never_null: set[tuple[str, str]] = field(default_factory=set)
    tags: dict[str, set[str]] = field(default_factory=dict)

    def sdl(self, subgraph: str, only: dict[str, set[str] | None] | None = None) -> str:
        """The subgraph's SDL; with `only`, just those types (and fields, when given)."""
        used = sorted({d.split("(")[0] for t in self.subgraphs[subgraph].values()
                       for d in [*t.directives, *(x for f in t.fields.values()
                                                   for x in f.directives)]})
        imports = ", ".join(f'"{d}"' for d in used)
        parts = [f'extend schema @link(url: "{FEDERATION_URL}", import: [{imports}])']
        for name, type_def in self.subgraphs[subgraph].items():
            if only is not None and name not in only:
                continue
            if only is not None and only[name] is not None and not (
                    set(type_def.fields) & only[name]):
                continue
            parts.append(type_def.render(None if only is None else only[name]))
        return "\n\n".join(parts) + "\n"

    def tag(self, coordinate: str, *names: str) -> None:
        self.tags.setdefault(coordinate, set()).update(names)


def key_value(kind: str, field_name: str, type_name: str, n: int) -> object:
    """The value of a key field of entity (type_name, n)."""
    if kind == "id":
        return f"{type_name}:{n}"
    if kind == "num":
        return 100 + n
    if kind == "loc":
        return {"code": f"code:{type_name}:{n}"}
    return f"{field_name}:{type_name}:{n}"


def lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


class _Builder:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        # a stream of its own for the features added last, so the rest of a seed's set stays
        # what it was before they existed
        self.r2 = random.Random(seed * 7919 + 104729)
        self.seed = seed
        count = self.r.randint(2, 4)
        self.names = self.r.sample(SUBGRAPH_NAMES, count)
        self.set = SchemaSet(seed, {name: {} for name in self.names})
        # entity -> subgraphs where it has a resolvable key, and the home subgraph
        self.resolvable: dict[str, list[str]] = {}
        self.home: dict[str, str] = {}
        self.entity_keys: dict[str, list[str]] = {}
        # (type, field) -> (owner subgraphs, FieldDef template)
        self.owned: dict[tuple[str, str], list[str]] = {}
        self.color = self.r.random() < 0.5
        self.queries: dict[str, TypeDef] = {}

    # --- helpers ---------------------------------------------------------------------
    def types(self, subgraph: str) -> dict[str, TypeDef]:
        return self.set.subgraphs[subgraph]

    def query(self, subgraph: str) -> TypeDef:
        types = self.types(subgraph)
        if "Query" not in types:
            types["Query"] = TypeDef("type", "Query")
        return types["Query"]

    def args(self) -> str:
        template = self.r.choice(ARG_TEMPLATES)
        return template if self.color or "Color" not in template else "(x: Int = 1)"

    def ensure_color(self, subgraph: str) -> None:
        if "Color" not in self.types(subgraph):
            self.types(subgraph)["Color"] = TypeDef("enum", "Color",
                                                    members=["RED", "GREEN", "BLUE"])

    def ensure_args_types(self, subgraph: str, args: str) -> None:
        if "Color" in args:
            self.ensure_color(subgraph)

    def ensure_loc(self, subgraph: str) -> None:
        if "Loc" not in self.types(subgraph):
            self.types(subgraph)["Loc"] = TypeDef(
                "type", "Loc", ["@shareable"], fields={"code": FieldDef("code", "String!")})
            self.set.value_types.add("Loc")

    def ensure_info(self, subgraph: str) -> None:
        if "Info" not in self.types(subgraph):
            self.types(subgraph)["Info"] = TypeDef("type", "Info", ["@shareable"], fields={
                "a": FieldDef("a", "String"),
                "b": FieldDef("b", "Int!", "(x: Int = 0)"),
                "tags": FieldDef("tags", "[String!]"),
            })
            self.set.value_types.add("Info")

    def add_key_fields(self, subgraph: str, type_def: TypeDef, key: str) -> None:
        for name in key.replace("{", " ").replace("}", " ").split():
            if name in KEY_FIELD_TYPES and name not in type_def.fields:
                type_def.fields[name] = FieldDef(name, KEY_FIELD_TYPES[name])
                if name == "loc":
                    self.ensure_loc(subgraph)

    def ensure_entity(self, subgraph: str, entity: str, resolvable: bool = False) -> TypeDef:
        """The entity in the subgraph, as a `resolvable: false` stub when it was absent."""
        types = self.types(subgraph)
        if entity not in types:
            key = self.r.choice(self.entity_keys[entity])
            directive = f'@key(fields: "{key}"' + (")" if resolvable else ", resolvable: false)")
            types[entity] = TypeDef("type", entity, [directive])
            self.add_key_fields(subgraph, types[entity], key)
            if resolvable:
                self.resolvable[entity].append(subgraph)
            else:
                self.set.tag(entity, "stub-nonresolvable-key")
        return types[entity]

    def place(self, entity: str) -> list[str]:
        """Subgraphs that define a new field of the entity: one, or several @shareable."""
        holders = self.resolvable[entity]
        if len(holders) > 1 and self.r.random() < 0.3:
            return self.r.sample(holders, self.r.randint(2, len(holders)))
        return [self.r.choice(holders)]

    def add_field(self, entity: str, field_def: FieldDef, subgraphs: list[str]) -> None:
        shared = len(subgraphs) > 1
        # a shared nullable scalar typed non-null in some of its subgraphs (the supergraph
        # keeps the nullable type and says `@join__field(type:)` for the others)
        narrowed: set[str] = set()
        if (shared and not field_def.type.endswith("!") and not field_def.type.startswith("[")
                and self.r2.random() < 0.4):
            narrowed = set(self.r2.sample(subgraphs, self.r2.randint(1, len(subgraphs) - 1)))
            self.set.never_null.add((entity, field_def.name))
            self.set.tag(f"{entity}.{field_def.name}", "per-subgraph-type")
        for subgraph in subgraphs:
            type_def = self.types(subgraph)[entity]
            directives = [*field_def.directives, *(["@shareable"] if shared else [])]
            type_ = field_def.type + ("!" if subgraph in narrowed else "")
            type_def.fields[field_def.name] = FieldDef(field_def.name, type_,
                                                       field_def.args, directives)
            self.ensure_args_types(subgraph, field_def.args + field_def.type)
        self.owned[entity, field_def.name] = list(subgraphs)
        coordinate = f"{entity}.{field_def.name}"
        if shared:
            self.set.tag(coordinate, "shareable-field")
        if field_def.args:
            self.set.tag(coordinate, "field-arguments")

    def scalar_field(self, taken: set[str]) -> FieldDef:
        name = self.r.choice([n for n in SCALAR_FIELDS if n not in taken] or ["extra"])
        scalar = self.r.choice(SCALAR_TYPES + (["Color"] if self.color else []))
        shape = self.r.random()
        if shape < 0.15:
            type_ = f"[{scalar}!]"
        elif shape < 0.25:
            type_ = f"[{scalar}]!"
        elif shape < 0.55:
            type_ = f"{scalar}!"
        else:
            type_ = scalar
        args = self.args() if self.r.random() < 0.35 else ""
        return FieldDef(name, type_, args)

    # --- the schema ------------------------------------------------------------------
    def entities(self) -> list[str]:
        names = self.r.sample(ENTITY_NAMES, self.r.randint(2, 4))
        for entity in names:
            style = self.r.choice(KEY_STYLES)
            keys = {"single": ["id"], "compound": ["id sku"], "multi": ["id", "sku"],
                    "nested": ["id loc { code }"], "int": ["num"]}[style]
            self.entity_keys[entity] = keys
            self.set.keys[entity] = {f: f for k in keys
                                     for f in k.replace("{", " ").replace("}", " ").split()
                                     if f in KEY_FIELD_TYPES}
            self.set.tag(entity, f"key-{style}")
            home = self.r.choice(self.names)
            self.home[entity] = home
            self.resolvable[entity] = [home]
            type_def = TypeDef("type", entity, [f'@key(fields: "{k}")' for k in keys])
            for key in keys:
                self.add_key_fields(home, type_def, key)
            self.types(home)[entity] = type_def
            for other in self.r.sample([n for n in self.names if n != home],
                                       self.r.randint(0, len(self.names) - 1)):
                chosen = keys if self.r.random() < 0.5 else [self.r.choice(keys)]
                type_def = TypeDef("type", entity, [f'@key(fields: "{k}")' for k in chosen])
                for key in chosen:
                    self.add_key_fields(other, type_def, key)
                self.types(other)[entity] = type_def
                self.resolvable[entity].append(other)
            for _ in range(self.r.randint(2, 4)):
                taken = {f for s in self.resolvable[entity] for f in self.types(s)[entity].fields}
                self.add_field(entity, self.scalar_field(taken), self.place(entity))
            if self.r.random() < 0.3:
                holders = self.place(entity)
                for holder in holders:
                    self.ensure_info(holder)
                self.add_field(entity, FieldDef("info", self.r.choice(["Info", "Info!"])), holders)
                self.set.tag(f"{entity}.info", "value-type")
        return names

    def references(self, entities: list[str]) -> None:
        for entity in entities:
            if self.r.random() < 0.6:
                target = self.r.choice(entities)
                subgraph = self.r.choice(self.resolvable[entity])
                self.ensure_entity(subgraph, target)
                type_ = self.r.choice([target, f"{target}!", f"[{target}!]!", f"[{target}]"])
                name = lower_first(target) + ("s" if type_.startswith("[") else "") + "Ref"
                args = "(first: Int = 2)" if type_.startswith("[") and self.r.random() < 0.5 else ""
                self.add_field(entity, FieldDef(name, type_, args), [subgraph])
                self.set.tag(f"{entity}.{name}", "entity-reference")

    def roots(self, entities: list[str]) -> None:
        for entity in entities:
            keys = self.entity_keys[entity]
            lookup_arg = "num: Int!" if keys == ["num"] else "id: ID!"
            owners = [self.home[entity]]
            if len(self.resolvable[entity]) > 1 and self.r.random() < 0.4:
                owners = self.r.sample(self.resolvable[entity], 2)
            for owner in owners:
                directives = ["@shareable"] if len(owners) > 1 else []
                self.query(owner).fields[lower_first(entity)] = FieldDef(
                    lower_first(entity), entity, f"({lookup_arg})", directives)
            if len(owners) > 1:
                self.set.tag(f"Query.{lower_first(entity)}", "shareable-root")
            if "sku" in keys[-1] and len(keys) > 1:
                owner = self.r.choice(self.resolvable[entity])
                if "sku" in " ".join(self.types(owner)[entity].directives):
                    name = lower_first(entity) + "BySku"
                    self.query(owner).fields[name] = FieldDef(name, entity, "(sku: String!)")
            if self.r.random() < 0.8:
                owner = self.r.choice(self.resolvable[entity])
                name = lower_first(entity) + "s"
                self.query(owner).fields[name] = FieldDef(
                    name, self.r.choice([f"[{entity}!]!", f"[{entity}]"]), "(first: Int = 2)")
        shared = self.r.sample(self.names, self.r.randint(1, len(self.names)))
        for owner in shared:
            self.query(owner).fields["version"] = FieldDef(
                "version", "String", "", ["@shareable"] if len(shared) > 1 else [])
        if self.r.random() < 0.4:
            shared = self.r.sample(self.names, self.r.randint(1, 2))
            for owner in shared:
                self.ensure_info(owner)
                self.query(owner).fields["config"] = FieldDef(
                    "config", "Info", "", ["@shareable"] if len(shared) > 1 else [])
            self.set.tag("Query.config", "value-type")

    def entity_interface(self, entities: list[str]) -> None:
        home = self.r.choice(self.names)
        impls = self.r.sample(ANIMALS, self.r.randint(2, 3))
        self.set.targets["Animal"] = list(impls)
        self.set.keys["Animal"] = {"id": "id"}
        types = self.types(home)
        types["Animal"] = TypeDef("interface", "Animal", ['@key(fields: "id")'], fields={
            "id": FieldDef("id", "ID!"), "name": FieldDef("name", "String")})
        self.set.tag("Animal", "entity-interface")
        own = {"Cat": ("lives", "Int!"), "Dog": ("breed", "String"), "Bird": ("wings", "Int")}
        for impl in impls:
            self.set.keys[impl] = {"id": "id"}
            self.entity_keys[impl] = ["id"]
            self.home[impl] = home
            self.resolvable[impl] = [home]
            name, type_ = own[impl]
            types[impl] = TypeDef("type", impl, ['@key(fields: "id")'], ["Animal"], {
                "id": FieldDef("id", "ID!"), "name": FieldDef("name", "String"),
                name: FieldDef(name, type_)})
            self.owned[impl, "name"] = [home]
            self.owned[impl, name] = [home]
            self.set.tag(f"{impl}.name", "entity-interface")
        self.query(home).fields["animals"] = FieldDef("animals", "[Animal!]!", "(first: Int = 3)")
        self.query(home).fields["animal"] = FieldDef("animal", "Animal", "(id: ID!)")
        others = [n for n in self.names if n != home]
        if others and self.r.random() < 0.7:
            other = self.r.choice(others)
            args = self.args() if self.r.random() < 0.5 else ""
            self.ensure_args_types(other, args)
            self.types(other)["Animal"] = TypeDef(
                "type", "Animal", ['@key(fields: "id")', "@interfaceObject"], fields={
                    "id": FieldDef("id", "ID!"), "extra": FieldDef("extra", "String", args)})
            self.set.tag("Animal.extra", "interface-object")
            for impl in impls:
                self.set.tag(f"{impl}.extra", "interface-object")
            if self.r.random() < 0.5:
                self.query(other).fields["featured"] = FieldDef("featured", "[Animal!]!")
                self.set.tag("Query.featured", "interface-object")
            if self.r.random() < 0.4:
                animal = self.types(other)["Animal"]
                animal.fields["name"] = FieldDef("name", "String", "", ["@external"])
                animal.fields["nameLength"] = FieldDef("nameLength", "Int", "",
                                                       ['@requires(fields: "name")'])
                self.set.requires[other, "Animal", "nameLength"] = "name"
                self.set.leaks.add((other, "Animal", "name"))
                self.set.tag("Animal.nameLength", "requires", "interface-object")
            if entities and self.r.random() < 0.5:
                entity = self.r.choice(entities)
                if other in self.resolvable[entity]:
                    self.add_field(entity, FieldDef("pet", "Animal"), [other])
                    self.set.tag(f"{entity}.pet", "interface-object")
        if others and self.r.random() < 0.5:
            other = self.r.choice(others)
            impl = self.r.choice(impls)
            self.types(other)[impl] = TypeDef("type", impl, ['@key(fields: "id")'], fields={
                "id": FieldDef("id", "ID!"), "nickname": FieldDef("nickname", "String")})
            self.resolvable[impl].append(other)
            self.owned[impl, "nickname"] = [other]
        if entities and self.r.random() < 0.5:
            entity = self.r.choice(entities)
            if home in self.resolvable[entity]:
                self.add_field(entity, FieldDef("pets", "[Animal!]", "(first: Int = 2)"), [home])
                self.set.tag(f"{entity}.pets", "abstract-entity-interface")

    def value_interface(self, entities: list[str]) -> None:
        core = self.r.choice(entities)
        hosts = self.r.sample(self.resolvable[core], min(len(self.resolvable[core]),
                                                         self.r.randint(1, 2)))
        per_host: list[set[str]] = []
        for host in hosts:
            members = {core} | {e for e in entities if host in self.resolvable[e]
                                and self.r.random() < 0.5}
            per_host.append(members)
            self.types(host)["Named"] = TypeDef("interface", "Named",
                                                fields={"label": FieldDef("label", "String")})
            for member in sorted(members):
                type_def = self.types(host)[member]
                type_def.implements.append("Named")
                type_def.fields["label"] = FieldDef("label", "String", "", ["@shareable"])
                self.set.tag(f"{member}.label", "value-interface")
            self.query(host).fields["named"] = FieldDef(
                "named", "[Named]", "", ["@shareable"] if len(hosts) > 1 else [])
        self.set.targets["Named"] = sorted(set.intersection(*per_host))
        self.set.tag("Query.named", "value-interface")

    def union(self, entities: list[str]) -> None:
        hosts = self.r.sample(self.names, self.r.randint(1, min(2, len(self.names))))
        core = self.r.choice(entities)
        per_host: list[set[str]] = []
        for host in hosts:
            members = {core} | {e for e in entities if self.r.random() < 0.4}
            if self.r.random() < 0.3:
                members.add("Info")
            for member in members:
                if member == "Info":
                    self.ensure_info(host)
                else:
                    self.ensure_entity(host, member)
            per_host.append(members)
            self.types(host)["Result"] = TypeDef("union", "Result", members=sorted(members))
            self.query(host).fields["search"] = FieldDef(
                "search", "[Result!]!", "(term: String)",
                ["@shareable"] if len(hosts) > 1 else [])
        self.set.targets["Result"] = sorted(set.intersection(*per_host))
        self.set.tag("Query.search", "union")
        if self.r.random() < 0.5:
            entity = self.r.choice(entities)
            holder = self.r.choice([h for h in hosts if h in self.resolvable[entity]] or [None])
            if holder is not None:
                self.add_field(entity, FieldDef("result", "Result"), [holder])
                self.set.tag(f"{entity}.result", "union")
                self.requires_on_union(entity, holder)

    def requires_on_union(self, entity: str, owner: str) -> None:
        """`@requires` with a type condition on an abstract (union) field."""
        others = [s for s in self.resolvable[entity] if s != owner]
        members = [m for m in self.set.targets["Result"] if m != "Info"]
        if not others or not members or self.r.random() < 0.3:
            return
        subgraph = self.r.choice(others)
        member = self.r.choice(members)
        member_fields = [f for (t, f), o in self.owned.items()
                         if t == member and len(o) == 1 and not self.types(o[0])[t].fields[f].args
                         and not self.types(o[0])[t].fields[f].type.lstrip("[").startswith(
                             tuple(ENTITY_NAMES + ANIMALS + ["Animal", "Info", "Result", "Loc"]))]
        if not member_fields:
            return
        required = self.r.choice(member_fields)
        union_members = list(self.types(owner)["Result"].members)
        for m in union_members:
            if m == "Info":
                self.ensure_info(subgraph)
            else:
                self.ensure_entity(subgraph, m)
        self.types(subgraph)["Result"] = TypeDef("union", "Result", members=union_members)
        stub = self.types(subgraph)[member]
        template = self.types(self.owned[member, required][0])[member].fields[required]
        if required not in stub.fields:
            stub.fields[required] = FieldDef(required, template.type, "", ["@external"])
            self.ensure_args_types(subgraph, template.type)
            self.set.leaks.add((subgraph, member, required))
        type_def = self.types(subgraph)[entity]
        type_def.fields["result"] = FieldDef("result", "Result", "", ["@external"])
        self.set.leaks.add((subgraph, entity, "result"))
        fields = f"result {{ ... on {member} {{ {required} }} }}"
        type_def.fields["resultSummary"] = FieldDef(
            "resultSummary", "String", "", [f'@requires(fields: "{fields}")'])
        self.set.requires[subgraph, entity, "resultSummary"] = fields
        self.set.tag(f"{entity}.resultSummary", "requires", "requires-type-condition")

    def requires(self, entities: list[str]) -> None:
        candidates = [e for e in entities if len(self.resolvable[e]) > 1]
        for _ in range(self.r.randint(1, 2)):
            if not candidates:
                return
            entity = self.r.choice(candidates)
            owned = [(f, o[0]) for (t, f), o in self.owned.items()
                     if t == entity and len(o) == 1 and f != "result"
                     and not self.types(o[0])[t].fields[f].type.lstrip("[").startswith(
                         tuple(ENTITY_NAMES + ANIMALS + ["Animal"]))]
            if not owned:
                continue
            required, owner = self.r.choice(owned)
            subgraph = self.r.choice([s for s in self.resolvable[entity] if s != owner])
            template = self.types(owner)[entity].fields[required]
            type_def = self.types(subgraph)[entity]
            if required in type_def.fields or any(
                    f"{required}Derived" in getattr(self.types(s).get(entity), "fields", {})
                    for s in self.names):
                continue
            type_def.fields[required] = FieldDef(required, template.type, template.args,
                                                 ["@external"])
            self.ensure_args_types(subgraph, template.args + template.type)
            self.set.leaks.add((subgraph, entity, required))
            selection = required
            tags = ["requires"]
            if template.type.startswith("Info"):
                self.ensure_info(subgraph)
                selection = f"{required} {{ a b(x: 3) }}"
                tags.append("requires-nested")
            elif template.args:
                argument = template.args.strip("()").split(",")[0].split(":")[0].strip()
                literal = {"x": "2", "flag": "true", "s": '\\"b\\"', "c": "GREEN"}[argument]
                selection = f"{required}({argument}: {literal})"
                tags.append("requires-field-arguments")
            name = f"{required}Derived"
            args = self.args() if self.r.random() < 0.3 else ""
            self.ensure_args_types(subgraph, args)
            type_def.fields[name] = FieldDef(name, self.r.choice(["String", "String!"]), args,
                                             [f'@requires(fields: "{selection}")'])
            self.set.requires[subgraph, entity, name] = selection.replace('\\"', '"')
            self.set.tag(f"{entity}.{name}", *tags)

    def provides(self, entities: list[str]) -> None:
        entity = self.r.choice(entities)
        owned = [(f, o[0]) for (t, f), o in self.owned.items()
                 if t == entity and len(o) == 1 and self.types(o[0])[t].fields[f].args == ""
                 and not self.types(o[0])[t].fields[f].type.lstrip("[").startswith(
                     tuple(ENTITY_NAMES + ANIMALS + ["Animal", "Info", "Result"]))]
        if not owned:
            return
        provided, owner = self.r.choice(owned)
        others = [s for s in self.names if s != owner]
        subgraph = self.r.choice(others)
        stub = self.ensure_entity(subgraph, entity)
        if provided in stub.fields:
            return
        template = self.types(owner)[entity].fields[provided]
        if "@shareable" not in template.directives:
            template.directives.append("@shareable")
        stub.fields[provided] = FieldDef(provided, template.type, "", ["@external"])
        self.ensure_args_types(subgraph, template.type)
        name = "top" + entity + "s"
        self.query(subgraph).fields[name] = FieldDef(
            name, f"[{entity}!]!", "", [f'@provides(fields: "{provided}")'])
        self.set.tag(f"Query.{name}", "provides")
        self.set.tag(f"{entity}.{provided}", "provided")

    def override(self, entities: list[str]) -> None:
        candidates = [e for e in entities if len(self.resolvable[e]) > 1]
        if not candidates:
            return
        entity = self.r.choice(candidates)
        owned = [(f, o[0]) for (t, f), o in self.owned.items()
                 if t == entity and len(o) == 1 and f not in ("result", "info")
                 and not self.types(o[0])[t].fields[f].type.lstrip("[").startswith(
                     tuple(ENTITY_NAMES + ANIMALS + ["Animal", "Info", "Result"]))]
        if not owned:
            return
        moved, owner = self.r.choice(owned)
        subgraph = self.r.choice([s for s in self.resolvable[entity] if s != owner])
        if moved in self.types(subgraph)[entity].fields:
            return
        template = self.types(owner)[entity].fields[moved]
        self.types(subgraph)[entity].fields[moved] = FieldDef(
            moved, template.type, template.args, [f'@override(from: "{owner}")'])
        self.ensure_args_types(subgraph, template.args + template.type)
        self.set.stale.add((owner, entity, moved))
        self.owned[entity, moved] = [subgraph]
        self.set.tag(f"{entity}.{moved}", "override")

    def flaky(self, entities: list[str]) -> None:
        entity = self.r.choice(entities)
        holder = self.r.choice(self.resolvable[entity])
        name, type_ = self.r.choice([("flaky", "String"), ("strict", "Int!")])
        self.add_field(entity, FieldDef(name, type_), [holder])
        self.set.flaky.add((entity, name))
        self.set.tag(f"{entity}.{name}", "subgraph-error")

    def build(self) -> SchemaSet:
        entities = self.entities()
        self.references(entities)
        if self.r.random() < 0.5:
            self.entity_interface(entities)
        if self.r.random() < 0.4:
            self.value_interface(entities)
        if self.r.random() < 0.5:
            self.union(entities)
        if self.r.random() < 0.8:
            self.requires(entities)
        if self.r.random() < 0.5:
            self.provides(entities)
        if self.r.random() < 0.5:
            self.override(entities)
        if self.r.random() < 0.3:
            self.flaky(entities)
        self.roots(entities)
        for subgraph in self.names:
            types = self.types(subgraph)
            if "Query" in types:  # Query first, for readable SDL
                types["Query"] = types.pop("Query")
                self.set.subgraphs[subgraph] = {"Query": types["Query"],
                                                **{k: v for k, v in types.items() if k != "Query"}}
        return self.set


def generate(seed: int) -> SchemaSet:
    """The random subgraph set of this seed; the same seed always gives the same set."""
    return _Builder(seed).build()


if __name__ == "__main__":
    import sys

    schema_set = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    for subgraph_name in schema_set.subgraphs:
        print(f"# --- {subgraph_name}\n{schema_set.sdl(subgraph_name)}")
