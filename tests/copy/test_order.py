"""The foreign-key graph logic, in memory."""

from __future__ import annotations

import random

from bbops.copy.order import ForeignKey, explain, load_order, strongly_connected


def fk(child: str, parent: str, name: str | None = None) -> ForeignKey:
    return ForeignKey(name=name or f"{child}_{parent}_fkey", child=child, parent=parent)


def assert_parents_first(order: list[str], keys: list[ForeignKey], skip: set[str] = frozenset()) -> None:
    pos = {t: i for i, t in enumerate(order)}
    for key in keys:
        if key.child != key.parent and key.name not in skip:
            assert pos[key.parent] < pos[key.child], key


def test_chain_is_ordered_parents_first():
    keys = [
        fk("order_items", "orders"),
        fk("orders", "users"),
        fk("order_items", "products"),
        fk("products", "categories"),
    ]
    plan = load_order(["order_items", "orders", "products", "users", "categories"], keys)
    assert_parents_first(plan.order, keys)
    assert sorted(plan.order) == sorted(["order_items", "orders", "products", "users", "categories"])
    assert plan.parents["order_items"] == {"orders", "products"}
    assert plan.parents["users"] == set()
    assert plan.cycles == [] and plan.deferred == [] and plan.self_referencing == set()


def test_independent_tables_keep_given_order():
    plan = load_order(["c", "a", "b"], [])
    assert plan.order == ["c", "a", "b"]


def test_self_reference_is_not_a_cycle():
    keys = [fk("categories", "categories", "categories_parent_fkey"), fk("products", "categories")]
    plan = load_order(["products", "categories"], keys)
    assert plan.self_referencing == {"categories"}
    assert plan.cycles == [] and plan.deferred == []
    assert plan.order.index("categories") < plan.order.index("products")
    assert plan.parents["categories"] == set()
    assert "references itself" in explain(plan)[0]


def test_two_table_cycle_defers_only_its_own_keys():
    keys = [
        fk("users", "addresses", "users_default_address_fkey"),
        fk("addresses", "users", "addresses_user_fkey"),
        fk("addresses", "countries", "addresses_country_fkey"),
        fk("orders", "users", "orders_user_fkey"),
    ]
    plan = load_order(["orders", "users", "addresses", "countries"], keys)
    assert [sorted(c) for c in plan.cycles] == [["addresses", "users"]]
    assert {k.name for k in plan.deferred} == {"users_default_address_fkey", "addresses_user_fkey"}
    # The cycle still waits for its outside parent and precedes its outside child.
    assert_parents_first(plan.order, keys, skip={"users_default_address_fkey", "addresses_user_fkey"})
    assert plan.parents["addresses"] == {"countries"}
    assert plan.parents["users"] == set()
    assert plan.parents["orders"] == {"users"}
    assert "cycle" in explain(plan)[0]


def test_three_table_cycle_and_keys_outside_the_selection():
    keys = [fk("a", "b"), fk("b", "c"), fk("c", "a"), fk("d", "a"), fk("a", "elsewhere")]
    plan = load_order(["a", "b", "c", "d"], keys)
    assert [sorted(c) for c in plan.cycles] == [["a", "b", "c"]]
    assert len(plan.deferred) == 3
    assert plan.order[-1] == "d"
    assert "elsewhere" not in plan.order and plan.parents["a"] == set()


def test_duplicate_table_names_are_collapsed():
    plan = load_order(["a", "a", "b"], [fk("a", "b")])
    assert plan.order == ["b", "a"]


def test_deep_chain_does_not_recurse():
    n = 5000
    tables = [f"t{i}" for i in range(n)]
    keys = [fk(f"t{i}", f"t{i + 1}") for i in range(n - 1)]
    plan = load_order(tables, keys)
    assert plan.order[0] == f"t{n - 1}" and plan.order[-1] == "t0"


def test_random_dags_always_put_parents_first():
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(2, 30)
        tables = [f"t{i}" for i in range(n)]
        # Edges only from higher to lower index: acyclic by construction.
        keys = [fk(f"t{i}", f"t{j}", f"k{i}_{j}") for i in range(n) for j in range(i) if rng.random() < 0.15]
        shuffled = tables[:]
        rng.shuffle(shuffled)
        plan = load_order(shuffled, keys)
        assert plan.cycles == [] and plan.deferred == []
        assert_parents_first(plan.order, keys)


def test_strongly_connected_components():
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"d"}}
    comps = strongly_connected(["a", "b", "c", "d"], edges)
    assert sorted(sorted(c) for c in comps) == [["a", "b"], ["c"], ["d"]]
    # "c" (a successor of the a/b component) comes before it.
    assert comps.index(["c"]) < [sorted(c) for c in comps].index(["a", "b"])
