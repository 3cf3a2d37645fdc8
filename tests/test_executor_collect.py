"""The executor's walk of Flatten paths and its grouping of objects into representations."""

from __future__ import annotations

from typing import Any

from gateway.executor import ExecutionContext, _group_flat
from gateway.planner.plan import EntityInput, RepField


def _ctx(data: dict[str, Any]) -> ExecutionContext:
    ctx = ExecutionContext({}, {}, deadline=0.0, object_types=frozenset({"User", "Review"}))
    ctx.data = data
    return ctx


def test_objects_below_a_merge_are_collected_again_and_the_rest_kept() -> None:
    users = [{"__typename": "User", "id": "1"}, {"__typename": "User", "id": "2"}]
    ctx = _ctx({"users": users})
    at_users = ctx.objects_at(("users", "@"))
    assert at_users == users
    assert ctx.objects_at(("users", "@", "reviews", "@")) == []
    # an entity fetch at users.@ brings each user's reviews
    for user, n in zip(users, (1, 2), strict=True):
        user["reviews"] = [{"__typename": "Review", "id": f"r{n}{i}"} for i in range(n)]
    ctx.merged_at(("users", "@"))
    reviews = ctx.objects_at(("users", "@", "reviews", "@"))
    assert [r["id"] for r in reviews] == ["r10", "r20", "r21"]
    # the objects at the merge's own path are the same dicts: the list is kept
    assert ctx.objects_at(("users", "@")) is at_users
    # a merge deeper down or elsewhere leaves both lists alone
    ctx.merged_at(("users", "@", "reviews", "@"))
    ctx.merged_at(("top", "@"))
    assert ctx.objects_at(("users", "@", "reviews", "@")) is reviews
    assert ctx.objects_at(("users", "@")) is at_users


def _input(*keys: str, key_count: int | None = None) -> EntityInput:
    fields = tuple(RepField(k, k) for k in keys)
    names = keys[: len(keys) if key_count is None else key_count]
    return EntityInput(frozenset({"Product"}), None, fields, "", tuple((k, k) for k in keys), names)


def test_objects_with_equal_keys_share_one_representation() -> None:
    objs = [
        {"__typename": "Product", "upc": "a", "price": 3},
        {"__typename": "Product", "upc": "b", "price": 4},
        {"__typename": "Product", "upc": "a", "price": 3},
        {"__typename": "Product", "upc": None, "price": 5},  # a null key names no entity
        {"__typename": "Product", "price": 6},  # no key: cannot be fetched
        {"__typename": "Other", "upc": "a", "price": 3},  # not a type this input serves
        {"__typename": "Product", "upc": ["x"], "price": 3},  # unhashable: the general path
    ]
    for entity_input, reps in (
        (
            _input("upc"),
            [{"__typename": "Product", "upc": "a"}, {"__typename": "Product", "upc": "b"}],
        ),
        (
            _input("upc", "price", key_count=1),
            [
                {"__typename": "Product", "upc": "a", "price": 3},
                {"__typename": "Product", "upc": "b", "price": 4},
            ],
        ),
    ):
        representations: list[dict[str, Any]] = []
        owners: list[list[dict[str, Any]]] = []
        rest = _group_flat(objs, entity_input, representations, owners, {})
        assert representations == reps
        assert owners == [[objs[0], objs[2]], [objs[1]]]
        assert [owner is objs[0] for owner in owners[0]] == [True, False]
        assert rest == [objs[6]]


def test_a_null_requirement_is_sent_when_the_key_is_set() -> None:
    objs = [{"__typename": "Product", "upc": "a", "price": None}]
    representations: list[dict[str, Any]] = []
    owners: list[list[dict[str, Any]]] = []
    _group_flat(objs, _input("upc", "price", key_count=1), representations, owners, {})
    assert representations == [{"__typename": "Product", "upc": "a", "price": None}]
