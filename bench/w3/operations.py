"""Distinct operations over the W1 schema, generated from a seed so every gateway sees the same ones."""
from __future__ import annotations

import random
from dataclasses import dataclass

SCALARS = {
    "User": ("id", "username", "name", "birthday"),
    "Review": ("id", "body"),
    "Product": ("upc", "name", "price", "weight", "inStock", "shippingEstimate"),
}
CHILDREN = {
    "User": (("reviews", "Review"),),
    "Review": (("author", "User"), ("product", "Product")),
    "Product": (("reviews", "Review"),),
}


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    query: str

    def as_request(self) -> dict[str, object]:
        return {"query": self.query, "operationName": self.name}


def generate(count: int, seed: int = 20260101) -> list[Operation]:
    """`count` operations with distinct texts; each selects a random shape up to four levels deep."""
    rng = random.Random(seed)
    operations: list[Operation] = []
    texts: set[str] = set()
    while len(operations) < count:
        name = f"Op{len(operations) + 1}"
        roots = _roots(rng)
        query = f"query {name} {{ {' '.join(roots)} }}"
        body = query.split("{", 1)[1]
        if body in texts:
            continue
        texts.add(body)
        operations.append(Operation(name=name, query=query))
    return operations


def _roots(rng: random.Random) -> list[str]:
    candidates = [
        ("users", "User"),
        (f"topProducts(first: {rng.randint(1, 5)})", "Product"),
        ("me", "User"),
        (f'user(id: "{rng.randint(1, 6)}")', "User"),
    ]
    chosen = rng.sample(candidates, rng.randint(1, 2))
    return [f"{field} {_selection(rng, kind, depth=1)}" for field, kind in chosen]


def _selection(rng: random.Random, kind: str, depth: int) -> str:
    scalars = list(SCALARS[kind])
    fields = rng.sample(scalars, rng.randint(1, len(scalars)))
    if depth < 4:
        for child, child_kind in CHILDREN[kind]:
            if rng.random() < 0.6:
                fields.append(f"{child} {_selection(rng, child_kind, depth + 1)}")
    return "{ " + " ".join(fields) + " }"
