"""SourceVersion: parsing round-trips and the order the ledger relies on (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.sync import LedgerStatus, SourceVersion, target_connection

stamps = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
    ),
)
etags = st.none() | st.text(min_size=1, max_size=20)
versions = st.builds(SourceVersion, stamps, etags)


@given(versions)
def test_text_form_round_trips(version: SourceVersion) -> None:
    assert SourceVersion.parse(str(version)) == SourceVersion(
        version.modified.astimezone(UTC), version.etag
    )


@given(versions)
def test_micros_round_trip(version: SourceVersion) -> None:
    assert SourceVersion.from_micros(version.micros, version.etag).modified == version.modified


@given(versions, versions)
def test_order_is_by_time_and_never_both_ways(a: SourceVersion, b: SourceVersion) -> None:
    if a.micros != b.micros:
        assert a.is_newer_than(b) is (a.micros > b.micros)
        assert not (a.is_newer_than(b) and b.is_newer_than(a))
    else:
        # Same instant: only a different ETag counts as a change.
        assert a.is_newer_than(b) is (a.etag != b.etag)
    assert not a.is_newer_than(a)
    assert a.is_newer_than(None)


def test_vendor_forms_parse() -> None:
    assert SourceVersion.parse("2026-11-01T10:00:00Z").etag is None
    assert SourceVersion.parse("2026-11-01T10:00:00.000000Z/v00000003").etag == "v00000003"
    assert (
        SourceVersion.parse('2026-11-01T11:00:00+01:00#W/"7"').micros
        == SourceVersion.parse("2026-11-01T10:00:00Z").micros
    )
    with pytest.raises(ValueError, match="time zone"):
        SourceVersion.parse("2026-11-01T10:00:00")
    with pytest.raises(ValueError):
        SourceVersion.parse('W/"7"')
    with pytest.raises(ValueError, match="timezone-aware"):
        SourceVersion(datetime(2026, 1, 1))


def test_statuses_and_connections() -> None:
    acknowledged = {s for s in LedgerStatus if s.acknowledged}
    assert LedgerStatus.SUPERSEDED not in acknowledged
    assert {s for s in LedgerStatus if not s.settled} == {LedgerStatus.PENDING}
    assert {s for s in LedgerStatus if s.removes} == {
        LedgerStatus.DELETED,
        LedgerStatus.NOT_FOUND,
        LedgerStatus.REVERSED,
    }
    with pytest.raises(ValueError, match="tenant"):
        target_connection("netsuite", "")
