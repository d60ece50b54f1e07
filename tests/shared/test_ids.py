"""Ids sort in the order they were made, even many within one millisecond."""

from shared.ids import new_id, ulid


def test_ids_made_in_a_burst_sort_in_creation_order() -> None:
    made = [ulid() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(len(u) == 26 for u in made)


def test_prefix_names_the_kind() -> None:
    assert new_id("unit").startswith("unit_")
