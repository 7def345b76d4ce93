"""BusinessEvent: CloudEvents 1.0 envelope, catalogue, JSON round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from erpsa_sdk.events import EVENT_TYPE_PREFIX, BusinessEvent, EventType
from erpsa_sdk.models import EntityKey, TimeEntry, WriteKey

WHEN = datetime(2026, 11, 2, 17, tzinfo=UTC)


def test_catalogue_covers_the_flows() -> None:
    needed = {
        "project.approved",
        "resource.assigned",
        "timesheet.submitted",
        "timeentry.approved",
        "expense.approved",
        "invoice.released",
        "revenue.posted",
    }
    assert needed <= {e.value for e in EventType}
    for event_type in EventType:
        assert EventType.from_ce_type(event_type.ce_type) is event_type
    with pytest.raises(ValueError):
        EventType.from_ce_type("com.example.project.approved")


def test_event_carries_a_canonical_object_and_the_three_extensions() -> None:
    entry = TimeEntry(
        key="te-1",
        resource_key="r",
        project_key="p",
        work_date=date(2026, 11, 2),
        duration_minutes=34,
        status="approved",
    )
    wk = WriteKey(
        entity_key=EntityKey.parse("ek1:acme-prod:kantata:acme:time_entry:1"),
        version="v1",
        operation="upsert",
    )
    event = BusinessEvent.create(
        EventType.TIMEENTRY_APPROVED,
        source="/kantata/acme",
        subject=entry.key,
        data=entry,
        time=WHEN,
        correlationid="run-1",
        causationid="evt-0",
        writekey=wk,
    )
    wire = json.loads(event.to_json())
    assert wire["specversion"] == "1.0"
    assert wire["type"] == EVENT_TYPE_PREFIX + "timeentry.approved"
    assert wire["time"] == "2026-11-02T17:00:00Z"
    assert wire["writekey"] == str(wk)
    assert wire["correlationid"] == "run-1"
    assert wire["causationid"] == "evt-0"
    assert TimeEntry.model_validate(wire["data"]) == entry
    assert event.event_type is EventType.TIMEENTRY_APPROVED
    # A replay of the same write emits the same event id.
    again = BusinessEvent.create(
        EventType.TIMEENTRY_APPROVED, source="/kantata/acme", data=entry, time=WHEN, writekey=wk
    )
    assert again.id == event.id


def test_ids_without_write_key_are_unique_and_time_defaults_to_aware_now() -> None:
    a = BusinessEvent.create("invoice.released", source="/x")
    b = BusinessEvent.create("invoice.released", source="/x")
    assert a.id != b.id
    assert a.time.tzinfo is not None
    assert BusinessEvent.create("com.example.custom", source="/x").type == "com.example.custom"


@pytest.mark.parametrize(
    "bad",
    [
        {"specversion": "0.3"},
        {"time": "2026-11-02T17:00:00"},
        {"id": ""},
        {"unknown": 1},
    ],
)
def test_invalid_envelopes_are_refused(bad: dict[str, object]) -> None:
    base = {
        "id": "1",
        "source": "/x",
        "type": "t",
        "specversion": "1.0",
        "time": "2026-11-02T17:00:00Z",
    }
    with pytest.raises(ValidationError):
        BusinessEvent.from_json(json.dumps({**base, **bad}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(
    data=json_values,
    subject=st.none() | st.text(min_size=1),
    event_type=st.sampled_from(list(EventType)),
)
def test_cloudevents_json_round_trip(
    data: object, subject: str | None, event_type: EventType
) -> None:
    event = BusinessEvent.create(
        event_type, source="/s", data=data, subject=subject, time=WHEN, id="e1", correlationid="c"
    )
    assert BusinessEvent.from_json(event.to_json()) == event
