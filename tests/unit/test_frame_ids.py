"""The ids a stage gives its outputs: derived from the input, so a replay yields the same ids."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from agents.frame import derived_id

parts = st.lists(st.text(max_size=40), min_size=1, max_size=4)


@given(parts)
def test_derived_id_is_deterministic_and_a_version5_uuid(values: list[str]) -> None:
    first = derived_id(*values)
    assert first == derived_id(*values)
    parsed = uuid.UUID(first)
    assert str(parsed) == first
    assert parsed.version == 5


@given(parts, parts)
def test_different_parts_give_different_ids(one: list[str], other: list[str]) -> None:
    if "|".join(one) != "|".join(other):
        assert derived_id(*one) != derived_id(*other)


def test_known_inputs_give_distinct_ids() -> None:
    ids = {derived_id("issuance", "ev-1"), derived_id("issuance", "ev-2"),
           derived_id("transmission", "ev-1"), derived_id("ev-1", "issuance")}
    assert len(ids) == 4


def test_parts_containing_the_separator_do_not_collide() -> None:
    assert derived_id("a|b") != derived_id("a", "b")
