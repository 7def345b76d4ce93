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
        # Extension attributes are allowed, but only with CloudEvents names and value types.
        {"Upper": "x"},
        {"snake_case": "x"},
        {"ratio": 1.5},
        {"big": 2**31},
        {"nested": {"a": 1}},
        {"list": ["a"]},
        {"data": {"a": 1}, "data_base64": "AAE="},
        {"data_base64": "not base64!"},
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


def test_events_from_other_producers_keep_their_extensions_and_may_lack_time() -> None:
    text = json.dumps(
        {
            "specversion": "1.0",
            "id": "A234-1234-1234",
            "source": "https://github.com/cloudevents/spec/pull",
            "type": "com.github.pull_request.opened",
            "subject": "123",
            "comexampleextension1": "value",
            "comexampleothervalue": 5,
            "sampled": True,
            "absent": None,
            "data_base64": "AAECAw==",
            "datacontenttype": "application/octet-stream",
        }
    )
    event = BusinessEvent.from_json(text)
    assert event.time is None
    assert event.event_type is None
    assert event.extensions == {
        "comexampleextension1": "value",
        "comexampleothervalue": 5,
        "sampled": True,
    }
    out = json.loads(event.to_json())
    assert out["comexampleothervalue"] == 5
    assert out["data_base64"] == "AAECAw=="
    assert "absent" not in out
    assert "time" not in out
    assert BusinessEvent.from_json(event.to_json()) == event


def test_create_adds_extensions_but_never_over_a_context_attribute() -> None:
    event = BusinessEvent.create(
        "invoice.posted", source="/x", time=WHEN, extensions={"tenant": "acme", "retry": 2}
    )
    assert event.extensions == {"tenant": "acme", "retry": 2}
    with pytest.raises(ValueError, match="not extension attributes"):
        BusinessEvent.create("invoice.posted", source="/x", extensions={"subject": "s"})


extension_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: name not in BusinessEvent.model_fields
)
extension_values = st.text() | st.booleans() | st.integers(min_value=-(2**31), max_value=2**31 - 1)


@given(
    extensions=st.dictionaries(extension_names, extension_values, max_size=6),
    with_time=st.booleans(),
)
def test_round_trip_keeps_arbitrary_valid_extensions(
    extensions: dict[str, str | bool | int], with_time: bool
) -> None:
    document = {"specversion": "1.0", "id": "e1", "source": "/s", "type": "t", **extensions}
    if with_time:
        document["time"] = "2026-11-02T17:00:00Z"
    event = BusinessEvent.from_json(json.dumps(document))
    assert event.extensions == extensions
    again = BusinessEvent.from_json(event.to_json())
    assert again == event
    assert again.extensions == extensions
    assert {k: type(v) for k, v in again.extensions.items()} == {
        k: type(v) for k, v in extensions.items()
    }
