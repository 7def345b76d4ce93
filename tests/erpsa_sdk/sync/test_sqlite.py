"""SQLiteStateStore: the conformance suite, plus what only a file database shows."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from erpsa_sdk.clock import Clock, SimClock
from erpsa_sdk.errors import ConfigurationError, LeaseHeld, StateError
from erpsa_sdk.sync import SQLiteStateStore, StateStore, open_state_store

from .conformance import StateStoreConformance


class TestSQLiteConformance(StateStoreConformance):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Any:
        stores: list[SQLiteStateStore] = []

        def make(*, clock: Clock | None = None) -> StateStore:
            store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
            stores.append(store)
            return store

        yield make
        for store in stores:
            store.close()


def test_wal_mode_and_prefix(tmp_path: Path) -> None:
    SQLiteStateStore(tmp_path / "s.db", table_prefix="erpsa_").close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"erpsa_ledger", "erpsa_checkpoints", "erpsa_schema_migrations"} <= tables


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLiteStateStore(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'later')")
    with pytest.raises(StateError, match="schema version 99"):
        SQLiteStateStore(tmp_path / "s.db")


def test_open_state_store_urls(tmp_path: Path) -> None:
    store = open_state_store(f"sqlite:///{tmp_path}/x/state.db")
    assert isinstance(store, SQLiteStateStore)
    assert (tmp_path / "x" / "state.db").exists()
    with pytest.raises(ConfigurationError, match="scheme"):
        open_state_store("state.db")
    with pytest.raises(ConfigurationError, match="sqlite:///path"):
        open_state_store("sqlite://state.db")


def _contend(path: str, holder: str, start: Any, results: Any) -> None:
    store = SQLiteStateStore(path, clock=SimClock())
    start.wait()
    try:
        store.acquire_lease("p", holder=holder, ttl=60)
        results.put((holder, "won"))
    except LeaseHeld:
        results.put((holder, "held"))


def test_two_processes_on_one_file_exactly_one_takes_the_lease(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SQLiteStateStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(path, f"w{n}", start, results)) for n in range(2)]
    for proc in procs:
        proc.start()
    start.set()
    outcomes = sorted(results.get(timeout=60)[1] for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    assert outcomes == ["held", "won"]
