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


def test_a_merge_forgets_only_what_lies_below_the_keys_it_brought() -> None:
    users = [{"__typename": "User", "id": "1", "reviews": [{"__typename": "Review", "id": "r"}]}]
    ctx = _ctx({"users": users})
    reviews = ctx.objects_at(("users", "@", "reviews", "@"))
    assert [r["id"] for r in reviews] == ["r"]
    # an entity fetch at users.@ that brought `name` leaves the reviews where they were
    users[0]["name"] = "Li"
    ctx.merged_at(("users", "@"), frozenset({"name", "__typename"}))
    assert ctx.objects_at(("users", "@", "reviews", "@")) is reviews
    # one that brought `reviews` replaced them: they are collected again
    users[0]["reviews"] = [{"__typename": "Review", "id": "s"}, {"__typename": "Review", "id": "t"}]
    ctx.merged_at(("users", "@"), frozenset({"reviews"}))
    assert [r["id"] for r in ctx.objects_at(("users", "@", "reviews", "@"))] == ["s", "t"]
    # a root fetch that brought `top` leaves `users` alone; unknown keys forget everything below
    ctx.merged_at((), frozenset({"top"}))
    kept = ctx.objects_at(("users", "@"))
    ctx.merged_at((), frozenset({"top"}))
    assert ctx.objects_at(("users", "@")) is kept
    ctx.merged_at(())
    assert ctx.collected == {}


def test_a_path_is_walked_from_the_longest_prefix_already_collected() -> None:
    users = [{"__typename": "User", "id": "1", "best": {"__typename": "Review", "id": "r"}}]
    ctx = _ctx({"users": users})
    assert ctx.objects_at(("users", "@")) == users
    # the prefix's list stands for the walk from the root: a user added to the data after it
    # was collected is not seen below it until a merge says the list changed
    ctx.data["users"].append({"__typename": "User", "id": "2", "best": {"id": "x"}})
    assert [r["id"] for r in ctx.objects_at(("users", "@", "best"))] == ["r"]
    ctx.merged_at((), frozenset({"users"}))
    assert [r["id"] for r in ctx.objects_at(("users", "@", "best"))] == ["r", "x"]


def test_a_fetch_knows_the_keys_its_answer_brings() -> None:
    from gateway.planner.plan import FetchNode
    from gateway.planner.selection import SelectionSet

    selection = SelectionSet()
    fragment = selection.fragment("Product")
    fragment.add_field("name", "n1")
    inner = fragment.fragment("Book")
    inner.add_field("pages", None)
    fetch = FetchNode(
        "products", "PRODUCTS", selection, {}, inputs=(_input("upc"),), renames={"n1": "name"}
    )
    assert fetch.merged_keys is None  # before render: unknown
    fetch.render()
    assert fetch.merged_keys == frozenset({"n1", "name", "pages", "__typename"})
