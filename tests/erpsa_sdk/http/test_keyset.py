"""Keyset seek: read completeness under concurrent updates and inserts, and bounded memory.

The fake server is stateful: every mutation stamps the row's modified timestamp with the
clock's ``now`` (asserted below), rows are ordered by (modified, id), and the page query is
``(modified, id) > after AND modified < before LIMIT n`` as a real keyset endpoint would run it.
"""

from __future__ import annotations

import bisect
import gc
import json
import random
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from erpsa_sdk.http import ApiClient, KeysetSeek, KeysetWindow, Pager
from tests.erpsa_sdk.http._fakes import StepClock

BASE = "https://rows.api.example/v2"


@dataclass
class KeysetServer:
    clock: StepClock
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: list[tuple[datetime, int]] = field(default_factory=list)  # sorted (modified, id)
    on_page: Any = None  # called after each page is answered: mutations "between requests"
    requests: int = 0

    def put(self, row_id: int, modified: datetime, version: int) -> None:
        old = self.rows.get(row_id)
        if old is not None:
            at = bisect.bisect_left(self.keys, (old["_m"], row_id))
            assert self.keys[at] == (old["_m"], row_id)
            self.keys.pop(at)
        self.rows[row_id] = {"id": row_id, "version": version, "_m": modified}
        bisect.insort(self.keys, (modified, row_id))

    def update(self, row_id: int) -> None:
        self.put(row_id, self.clock.now(), self.rows[row_id]["version"] + 1)

    def insert(self, row_id: int) -> None:
        self.put(row_id, self.clock.now(), 1)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        p = request.url.params
        before = datetime.fromisoformat(p["modified_before"])
        limit = int(p["limit"])
        start = 0
        if "after_modified" in p:
            after = (datetime.fromisoformat(p["after_modified"]), int(p["after_id"]))
            start = bisect.bisect_right(self.keys, after)
        page = []
        for modified, row_id in self.keys[start : start + limit]:
            if modified >= before:
                break
            row = self.rows[row_id]
            page.append({"id": row_id, "version": row["version"], "modified": modified.isoformat()})
        response = httpx2.Response(200, json={"items": page})
        if self.on_page is not None:
            self.on_page(self)
        return response


def walk(
    server: KeysetServer, cursor: dict[str, Any] | None, limit: int
) -> tuple[list[Any], int, dict[str, Any]]:
    client = ApiClient(
        base_url=BASE, transport=httpx2.MockTransport(server.handler), clock=server.clock
    )
    pager = Pager(client, KeysetSeek("/rows", limit=limit), cursor=cursor)
    out: list[Any] = []
    largest_cursor = 0
    for page in pager.iter_pages():
        out.extend(page.items)
        largest_cursor = max(largest_cursor, len(json.dumps(page.cursor)))
    assert pager.done
    assert pager.cursor is not None
    return out, max(largest_cursor, len(json.dumps(pager.cursor))), pager.cursor


def test_mutations_stamp_the_clock_now() -> None:
    clock = StepClock()
    server = KeysetServer(clock)
    server.insert(1)
    clock.advance(5)
    server.update(1)
    assert server.rows[1]["_m"] == clock.now()
    assert server.rows[1]["version"] == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keyset_read_completeness_with_ties_updates_and_inserts(seed: int) -> None:
    rng = random.Random(seed)
    clock = StepClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    server = KeysetServer(clock)
    n = 3000
    tie = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(n):
        # 5 % share one timestamp (the tie spans several pages); the rest share in small groups.
        modified = tie if i % 20 == 0 else tie + timedelta(seconds=1 + rng.randrange(n // 4))
        server.put(i, modified, 1)
    tie_size = sum(1 for m, _ in server.keys if m == tie)
    assert tie_size / n >= 0.03

    existed_at_start = set(server.rows)
    next_id = n

    def mutate(s: KeysetServer) -> None:
        nonlocal next_id
        for _ in range(rng.randrange(0, 6)):
            s.update(rng.randrange(next_id))  # may hit rows already read, or not yet read
        for _ in range(rng.randrange(0, 3)):
            s.insert(next_id)
            next_id += 1
        if rng.random() < 0.5:
            clock.advance(rng.choice([0.0, 0.001, 1.0]))  # sometimes no tick: ties at "now"

    server.on_page = mutate
    first, size1, saved = walk(server, None, limit=40)
    inserted = set(server.rows) - existed_at_start
    assert inserted, "the walk saw inserts happen"
    server.on_page = None
    clock.advance(1)
    second, size2, _ = walk(server, json.loads(json.dumps(saved)), limit=40)

    yielded = [(r["id"], r["version"]) for r in first + second]
    assert len(yielded) == len(set(yielded)), "no (id, version) pair twice"
    last_version: dict[int, int] = {}
    for row_id, version in yielded:
        assert version > last_version.get(row_id, 0), "a repeat carries a newer version"
        last_version[row_id] = version
    assert existed_at_start <= set(last_version), "every row that existed was yielded"
    assert inserted <= set(last_version), "inserted rows are yielded by the end of run two"
    assert all(last_version[i] == r["version"] for i, r in server.rows.items()), "current versions"
    # Retained state: the cursor only, bounded by one (timestamp, id) and a horizon - not N,
    # not the tie (here tie_size rows).
    assert max(size1, size2) <= 120


class Tiny(BaseModel):
    id: int
    version: int


def _static_server(n: int) -> tuple[Any, list[int]]:
    """A read-only keyset endpoint over n rows, with each row's JSON encoded up front, so the
    traced allocations are the pager's and one page's, not the fixture's."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [(base + timedelta(seconds=i // 7)).isoformat() for i in range(n)]  # ties of 7
    keys = [(stamps[i], i) for i in range(n)]
    encoded = [
        json.dumps({"id": i, "version": 1, "modified": stamps[i]}).encode() for i in range(n)
    ]
    requests = [0]

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests[0] += 1
        p = request.url.params
        start = 0
        if "after_modified" in p:
            start = bisect.bisect_right(keys, (p["after_modified"], int(p["after_id"])))
        chunk = encoded[start : start + int(p["limit"])]
        return httpx2.Response(200, content=b'{"items":[' + b",".join(chunk) + b"]}")

    return handler, requests


def _peak(n: int) -> tuple[int, int]:
    handler, requests = _static_server(n)
    clock = StepClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    client = ApiClient(base_url=BASE, transport=httpx2.MockTransport(handler), clock=clock)
    pager = Pager(client, KeysetSeek("/rows", limit=5000), model=Tiny)
    gc.collect()
    tracemalloc.start()
    try:
        count = 0
        for _item in pager:
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert len(json.dumps(pager.cursor)) <= 120
    return peak, requests[0]


@pytest.mark.slow
def test_keyset_memory_is_constant_in_n() -> None:
    small, small_requests = _peak(25_000)
    large, large_requests = _peak(250_000)
    assert large_requests > 9 * small_requests - 10  # really ten times the pages
    # pydantic_core.from_json keeps a process-wide cache of at most 16,384 short strings: its
    # traced size grows with the distinct strings a walk meets (more at N=250k), up to that
    # fixed bound (~1.2 MB of these timestamps). It is not the pager's and does not grow with N.
    cache_bound = 16_384 * 80
    assert large <= 1.2 * small + cache_bound, f"peak {large} at N=250k vs {small} at N=25k"


def test_keyset_window_reaches_a_custom_query() -> None:
    seen: list[KeysetWindow] = []

    def query(window: KeysetWindow) -> dict[str, Any]:
        seen.append(window)
        return {"q": f"after {window.after} before {window.before}", "limit": window.limit}

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"items": []})

    client = ApiClient(base_url=BASE, transport=httpx2.MockTransport(handler), clock=StepClock())
    list(Pager(client, KeysetSeek("/rows", limit=7, query=query)))
    assert seen[0].after is None
    assert seen[0].limit == 7
