"""Incremental SEEK reads: read completeness under change, big ties, resume from any page."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_kantata import KantataSimulator
from erpsa_kantata._seek import SeekPlan, parse_timestamp
from erpsa_sdk.models import TimeEntry
from tests.connectors.kantata._helpers import client, make_sim


@dataclass
class Walk:
    """What one or more reads yielded, checked against the read-completeness definition."""

    yielded: list[tuple[str, str]] = field(default_factory=list)

    def add(self, entries: list[Any]) -> None:
        for e in entries:
            assert isinstance(e, TimeEntry), e
            self.yielded.append((e.key, e.source_refs[0].version or ""))

    def check(self, sim: KantataSimulator, existed_throughout: set[str]) -> None:
        pairs = self.yielded
        assert len(pairs) == len(set(pairs)), "an (id, version) pair was yielded twice"
        ids = {i for i, _ in pairs}
        assert existed_throughout <= ids, f"missing {sorted(existed_throughout - ids)[:5]}"
        current = {k: v["updated_at"] for k, v in sim.records("time_entries").items()}
        assert set(current) <= ids, "a row inserted during the walk was never yielded"
        last: dict[str, str] = {}
        for rid, version in pairs:
            last[rid] = version
        stale = {rid for rid, v in current.items() if last[rid] != v}
        assert not stale, f"last version yielded is not current for {sorted(stale)[:5]}"


def populate(sim: KantataSimulator, rng: random.Random, n: int, tie: int) -> str:
    ws = next(w["id"] for w in sim.records("workspaces").values() if not w["archived"])
    clock = sim.clock
    for i in range(n):
        if i % 9 == 0:
            clock.advance(1)  # type: ignore[attr-defined]
        sim.create(
            "time_entries",
            workspace_id=ws,
            date_performed="2026-01-05",
            time_in_minutes=rng.randint(1, 480),
        )
    clock.advance(1)  # type: ignore[attr-defined]
    for _ in range(tie):  # one second shared by more than a page of rows
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-06", time_in_minutes=30)
    clock.advance(1)  # type: ignore[attr-defined]
    for i in range(n // 2):
        if i % 4 == 0:
            clock.advance(1)  # type: ignore[attr-defined]
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-07", time_in_minutes=60)
    return ws


class Mutator(httpx2.BaseTransport):
    """Changes the data between page requests, as other users do during a read.

    Over the read: 1 % of the rows updated and 0.1 % inserted (spread over the first requests),
    and rows of the tie second updated (so they leave it) between the requests that walk it.
    """

    def __init__(
        self, sim: KantataSimulator, rng: random.Random, ws: str, tie_ids: list[str]
    ) -> None:
        self.sim, self.rng, self.ws, self.tie_ids = sim, rng, ws, list(tie_ids)
        n = len(sim.records("time_entries"))
        self.updates_left = max(1, n // 100)
        self.inserts_left = max(1, n // 1000)
        self.tie_hits_left = 3
        self.requests = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        sim, rng = self.sim, self.rng
        if self.requests > 1 and (self.updates_left or self.inserts_left):
            ids = list(sim.records("time_entries"))
            for rid in rng.sample(ids, min(self.updates_left, 4)):
                sim.update("time_entries", rid, notes=f"edit {rng.random()}")
                self.updates_left -= 1
            if self.inserts_left:
                sim.create(
                    "time_entries",
                    workspace_id=self.ws,
                    date_performed="2026-01-08",
                    time_in_minutes=15,
                )
                self.inserts_left -= 1
            if rng.random() < 0.5:
                sim.clock.advance(1)  # type: ignore[attr-defined]
        if "updated_before" in request.url.params and self.tie_hits_left:
            for rid in rng.sample(self.tie_ids, 2):
                sim.update("time_entries", rid, notes="moved out of the tie second")
            self.tie_hits_left -= 1
        return sim(request)


def tie_rows(sim: KantataSimulator) -> list[str]:
    by_second: dict[str, list[str]] = {}
    for rid, rec in sim.records("time_entries").items():
        by_second.setdefault(rec["updated_at"], []).append(rid)
    return max(by_second.values(), key=len)


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("kill_after", [None, 1, 4, 6, 7, 8, 10])
def test_read_completeness_under_change_with_a_tie_larger_than_a_page(
    inclusive: bool, kill_after: int | None
) -> None:
    rng = random.Random(kill_after or 0)
    sim = make_sim(seed=11, updated_after_inclusive=inclusive)
    ws = populate(sim, rng, n=1200, tie=230)
    tie_ids = tie_rows(sim)
    assert len(tie_ids) > 200
    existed = set(sim.records("time_entries"))
    mutator = Mutator(sim, rng, ws, tie_ids)
    kantata = client(sim, transport=mutator)
    walk = Walk()
    cursor: dict[str, Any] | None = None
    pager = kantata.read(TimeEntry)
    for pages, page in enumerate(pager.iter_pages(), start=1):
        cursor = pager.cursor  # saved when the next page is asked for: earlier pages are done
        if kill_after is not None and pages == kill_after:
            break  # the process dies with this page unprocessed; only the saved cursor survives
        walk.add(page.items)
    else:
        cursor = pager.cursor
    # Resume (after a kill) or the next incremental run: from the saved cursor.
    resumed = kantata.read(TimeEntry, since=json.loads(json.dumps(cursor)))
    for page in resumed.iter_pages():
        walk.add(page.items)
    final = kantata.read(TimeEntry, since=resumed.cursor)
    walk.add(list(final))
    walk.check(sim, existed)
    assert mutator.tie_hits_left == 0 or kill_after is not None
    # State is bounded by the largest tie, never by the number of rows.
    assert len(resumed.cursor["ids"]) <= len(tie_ids) + 50  # type: ignore[index]
    assert len(json.dumps(resumed.cursor)) < 20 * (len(tie_ids) + 50)


def test_the_tie_second_is_walked_with_bounds() -> None:
    sim = make_sim(seed=2)
    populate(sim, random.Random(2), n=20, tie=450)
    pager = client(sim).read(TimeEntry)
    got = [e.key for e in pager]
    assert len(got) == len(set(got)) == len(sim.records("time_entries"))
    # 450 tied rows with 200 a page: more requests than pages, every one answered.
    assert pager.requests >= 3


@settings(max_examples=80, deadline=None)
@given(
    seconds=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=60),
    per_page=st.integers(min_value=1, max_value=7),
    inclusive=st.booleans(),
    edits=st.lists(st.integers(min_value=0, max_value=59), max_size=10),
    kill_at=st.integers(min_value=0, max_value=40),
)
def test_seek_plan_property(
    seconds: list[int], per_page: int, inclusive: bool, edits: list[int], kill_at: int
) -> None:
    """Any timestamps, any page size, edits between requests, a crash at any page: every row
    that existed throughout is emitted, no (id, version) twice, the last version emitted is
    current."""
    sim = make_sim(seed=len(seconds), updated_after_inclusive=inclusive)
    ws = next(w["id"] for w in sim.records("workspaces").values() if not w["archived"])
    for rid in list(sim.records("time_entries")):
        sim.delete("time_entries", rid)
    for s in sorted(seconds):
        sim.create(
            "time_entries", workspace_id=ws, date_performed="2026-01-05", time_in_minutes=s + 1
        )
        if s % 2:
            sim.clock.advance(1)  # type: ignore[attr-defined]
    existed = set(sim.records("time_entries"))
    plan = SeekPlan(None, per_page=per_page)
    seen: list[tuple[str, str]] = []
    ids = sorted(existed, key=int)
    step = 0
    c = httpx2.Client(
        transport=httpx2.MockTransport(sim), base_url=sim.base_url, headers=sim.auth_headers()
    )
    latest: dict[str, str] = {}  # what a caller keeps for rows held back during a tie walk
    while (params := plan.next_params()) is not None:
        body = c.get("time_entries", params=params).json()
        rows = [(r["id"], body["time_entries"][r["id"]]["updated_at"]) for r in body["results"]]
        latest.update(rows)
        if step == kill_at:
            # The reader dies before handing this page over; a new one starts from its cursor.
            plan = SeekPlan(json.loads(json.dumps(plan.cursor)), per_page=per_page)
            step += 1
            continue
        for rid in plan.feed(rows, body["meta"]):
            seen.append((rid, latest[rid]))
        if step < len(edits):
            sim.update("time_entries", ids[edits[step] % len(ids)], notes=str(step))
            if edits[step] % 3 == 0:
                sim.clock.advance(1)  # type: ignore[attr-defined]
        step += 1
        assert step < 500, "the walk did not terminate"
    rest = SeekPlan(plan.cursor, per_page=per_page)
    while (params := rest.next_params()) is not None:
        body = c.get("time_entries", params=params).json()
        rows = [(r["id"], body["time_entries"][r["id"]]["updated_at"]) for r in body["results"]]
        latest.update(rows)
        for rid in rest.feed(rows, body["meta"]):
            seen.append((rid, latest[rid]))
    assert len(seen) == len(set(seen))
    assert existed <= {i for i, _ in seen}
    last = dict(seen)
    current = {k: v["updated_at"] for k, v in sim.records("time_entries").items()}
    assert all(last[k] == v for k, v in current.items())


def test_cursor_from_an_unknown_server_detects_an_inclusive_bound() -> None:
    plan = SeekPlan({"ts": "2026-01-05T09:00:00+00:00", "ids": ["1"]}, per_page=2)
    assert plan.next_params()["updated_after"] == "2026-01-05T08:59:59+00:00"  # type: ignore[index]
    behind = "2026-01-05T08:59:59+00:00"
    assert plan.feed([("0", behind), ("00", behind)], {"count": 9}) == []
    assert plan.inclusive is True
    assert plan.next_params()["updated_after"] == "2026-01-05T09:00:00+00:00"  # type: ignore[index]


class Timeouts(httpx2.BaseTransport):
    """Counts the simulated 3-minute timeouts (504) on the way to the client."""

    def __init__(self, sim: KantataSimulator) -> None:
        self.sim = sim
        self.timeouts = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.sim(request)
        self.timeouts += response.status_code == 504
        return response


def test_server_timeouts_split_the_updated_at_range() -> None:
    sim = make_sim(seed=4, scan_limit=300)
    ws = next(w["id"] for w in sim.records("workspaces").values() if not w["archived"])
    for i in range(1500):
        if i % 10 == 0:
            sim.clock.advance(6 * 3600)  # type: ignore[attr-defined]
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-05", time_in_minutes=30)
    counting = Timeouts(sim)
    kantata = client(sim, transport=counting)
    pager = kantata.read(TimeEntry)
    got = [e.key for e in pager]
    assert counting.timeouts > 0  # the unbounded query timed out ...
    assert sorted(got, key=int) == sorted(sim.records("time_entries"), key=int)  # ... yet all
    assert len(got) == len(set(got))
    assert pager.cursor is not None
    assert "window" in pager.cursor
    # The next incremental run resumes with the learned window and sees only what changed.
    changed = sorted(sim.records("time_entries"), key=int)[:3]
    for rid in changed:
        sim.update("time_entries", rid, notes="after the read")
    again = [e.key for e in kantata.read(TimeEntry, since=pager.cursor)]
    assert sorted(again, key=int) == changed


@given(
    at=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1)),
    offset_minutes=st.sampled_from([0, 0, -480, 330, 60, 840]),
    zulu=st.booleans(),
    timespec=st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)
def test_a_timestamp_is_its_utc_second_whatever_its_offset_or_fraction(
    at: datetime, offset_minutes: int, zulu: bool, timespec: str
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    text = at.replace(tzinfo=zone).isoformat(timespec=timespec)
    if zulu and offset_minutes == 0:
        text = text.replace("+00:00", "Z")
    parsed = parse_timestamp(text)
    assert parsed == at.replace(tzinfo=zone).astimezone(UTC).replace(microsecond=0)
    assert parsed.tzinfo is UTC
    assert parsed.microsecond == 0
