"""Ids sort in the order they were made, even many within one millisecond."""

import pytest

from shared.ids import new_id, ulid


def test_ids_made_in_a_burst_sort_in_creation_order() -> None:
    made = [ulid() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(len(u) == 26 for u in made)


def test_prefix_names_the_kind() -> None:
    assert new_id("unit").startswith("unit_")


def test_crockford_encoding_of_known_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ULID spec's alphabet; 128 bits in 26 digits, most significant first (the top digit at most 7).
    for value, expected in [
        (0, "0" * 26),
        (2**128 - 1, "7" + "Z" * 25),
        (0x015549F01D7E3A66A08C07CE13D25363, "01AN4Z07BY79KA1307SR9X4MV3"),  # the spec example,
    ]:
        monkeypatch.setattr("shared.ids._next_value", lambda value=value: value)
        assert ulid() == expected
