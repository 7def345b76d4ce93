"""Value maps: declared tables, never a default (property-tested)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.mapping import MappingPolicy, ValueMap
from erpsa_sdk.models import Expense, Money, TimeEntry
from erpsa_sdk.models.refs import SourceRef
from erpsa_sdk.sync.deadletters import UnmappedValue

TEXT = st.text(min_size=1, max_size=12)


def expense(category: str) -> Expense:
    return Expense(
        key="9",
        source_refs=[SourceRef(system="psa", tenant="t", id="9", version="2026-11-01T00:00:00Z")],
        resource_key="1",
        project_key="2",
        expense_date="2026-11-02",
        category=category,
        amount=Money("12.50", "USD"),
    )


@given(st.dictionaries(TEXT, TEXT, min_size=1), TEXT)
def test_mapped_values_translate_and_others_never_default(
    table: dict[str, str], value: str
) -> None:
    policy = MappingPolicy(value_maps={"Expense.category": ValueMap("cat", table)})
    if value in table:
        assert policy.transform(expense(value)).category == table[value]
    else:
        with pytest.raises(UnmappedValue) as info:
            policy.transform(expense(value))
        assert info.value.reason == "unmapped_value:cat"


def test_mapping_keeps_every_other_field_and_the_version() -> None:
    before = expense("travel")
    after = MappingPolicy(
        value_maps={"Expense.category": ValueMap("c", {"travel": "T"})}
    ).transform(before)
    assert after.category == "T"
    assert after.model_dump(exclude={"category"}) == before.model_dump(exclude={"category"})


def test_enum_fields_are_mapped_to_the_enum() -> None:
    entry = TimeEntry(
        key="1",
        resource_key="r",
        project_key="p",
        work_date="2026-11-02",
        duration_minutes=60,
        status="submitted",
    )
    policy = MappingPolicy(
        value_maps={"TimeEntry.status": ValueMap("status", {"submitted": "approved"})}
    )
    assert policy.transform(entry).status.value == "approved"
    bad = MappingPolicy(value_maps={"TimeEntry.status": ValueMap("status", {"submitted": "??"})})
    with pytest.raises(UnmappedValue):
        bad.transform(entry)


def test_other_types_and_empty_fields_are_untouched() -> None:
    policy = MappingPolicy(value_maps={"Expense.category": ValueMap("c", {})})
    entry = TimeEntry(
        key="1", resource_key="r", project_key="p", work_date="2026-11-02", duration_minutes=5
    )
    assert policy.transform(entry) is entry
