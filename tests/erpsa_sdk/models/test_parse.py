"""parse_records: one pass when clean, quarantine one by one when not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from erpsa_sdk.models import (
    ExtensionField,
    ExtensionSchema,
    Rejected,
    TimeEntry,
    TimeEntryStatus,
    parse_records,
    parse_records_json,
)


def raw_entries(n: int) -> list[dict[str, Any]]:
    return [
        {
            "key": f"te-{i}",
            "resource_key": "r1",
            "project_key": "p1",
            "work_date": "2026-11-02",
            "duration_minutes": 34,
            "status": "approved",
            "started_at": "2026-11-02T09:00:00+01:00",
            "source_refs": [{"system": "kantata", "tenant": "acme", "id": str(i)}],
        }
        for i in range(n)
    ]


def test_thousand_records_with_an_unknown_status_and_a_naive_timestamp() -> None:
    raw = raw_entries(1000)
    raw[500]["status"] = "Locked by payroll"
    raw[501]["started_at"] = "2026-11-02T09:00:00"  # naive
    results = [parse_records(TimeEntry, raw), parse_records_json(TimeEntry, json.dumps(raw))]
    for out in results:
        assert len(out) == 1000
        good = [o for o in out if isinstance(o, TimeEntry)]
        rejected = [o for o in out if isinstance(o, Rejected)]
        assert len(good) == 999
        assert [e.key for e in good if e.status is TimeEntryStatus.UNMAPPED] == ["te-500"]
        assert good[500].status_raw == "Locked by payroll"
        assert len(rejected) == 1
        bad = rejected[0]
        assert out[501] is bad
        assert bad.raw == raw[501]
        assert bad.source_ref is not None
        assert bad.source_ref.id == "501"
        assert bad.errors[0]["loc"] == ["started_at"]
        assert bad.errors[0]["type"] == "timezone_aware"
        # Rejected is JSON-able (it becomes a dead letter).
        assert Rejected.model_validate_json(bad.model_dump_json()) == bad


def test_clean_lists_come_back_whole_and_in_order() -> None:
    out = parse_records(TimeEntry, raw_entries(50))
    assert [o.key for o in out if isinstance(o, TimeEntry)] == [f"te-{i}" for i in range(50)]


def test_non_mapping_items_and_broken_source_refs_are_rejected_not_raised() -> None:
    out = parse_records(TimeEntry, [42, {"source_refs": [{"nope": 1}]}, None])
    assert all(isinstance(o, Rejected) for o in out)
    assert [o.source_ref for o in out if isinstance(o, Rejected)] == [None, None, None]


def test_extension_schema_is_applied_per_record() -> None:
    schema = ExtensionSchema(fields={"region": ExtensionField(kind="string", required=True)})
    raw = raw_entries(3)
    raw[0]["extensions"] = {"region": "EMEA"}
    raw[2]["extensions"] = {"region": "AMER"}
    out = parse_records(TimeEntry, raw, extension_schema=schema)
    assert [type(o).__name__ for o in out] == ["TimeEntry", "Rejected", "TimeEntry"]


@given(
    bad_positions=st.sets(st.integers(min_value=0, max_value=29), max_size=30),
    kinds=st.lists(
        st.sampled_from(["float_rate", "naive", "fraction", "missing"]), min_size=30, max_size=30
    ),
)
def test_nothing_is_lost_and_only_bad_records_are_rejected(
    bad_positions: set[int], kinds: list[str]
) -> None:
    raw = raw_entries(30)
    for i in bad_positions:
        kind = kinds[i]
        if kind == "float_rate":
            raw[i]["bill_rate"] = {"amount": 150.0, "currency": "USD"}
        elif kind == "naive":
            raw[i]["started_at"] = "2026-11-02T09:00:00"
        elif kind == "fraction":
            raw[i]["duration_minutes"] = 34.5
        else:
            del raw[i]["project_key"]
    out = parse_records(TimeEntry, raw)
    assert len(out) == 30
    assert {i for i, o in enumerate(out) if isinstance(o, Rejected)} == bad_positions
    for i, o in enumerate(out):
        if isinstance(o, Rejected):
            assert o.raw == raw[i]


def test_data_that_is_not_a_json_array_raises_a_validation_error() -> None:
    for data in (b'[{"key": ', b'{"key": "c1"}', b"not json"):
        with pytest.raises(ValidationError):
            parse_records_json(TimeEntry, data)
