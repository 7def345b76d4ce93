"""Validation before write, and vendor refusals validate() did not predict (issue 8)."""

from __future__ import annotations

import contextvars
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from erpsa_sdk.sync.deadletters import cached_lookup, lookup_scope

from .acme_pipeline import AcmeEnv, config_text

TYPES = '["Project", "TimeEntry"]'


def october(env: AcmeEnv) -> set[str]:
    return {
        str(r["id"])
        for r in env.psa_sim.admin.rows("time_entries")
        if r["data"]["date"].startswith("2026-10")
    }


def test_closed_period_is_dead_lettered_for_finance_and_never_sent(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES))
    env.erp_sim.admin.close_period("2026-10")
    closed = october(env)
    assert closed

    report = env.runner().run_once()

    assert report.ok, report.error
    letters = env.letters()
    assert {(d.reason, d.owner) for d in letters} == {
        ("validation_failed:period_closed", "finance")
    }
    assert {d.entity_key.rsplit(":", 1)[1] for d in letters} == closed
    assert all(d.write_key for d in letters)
    sent = env.writes("/time-entries")
    assert not [b for _, _, b in sent if b["date"].startswith("2026-10")]  # no write request
    assert len(sent) == 60 - len(closed)  # the rest of the batch synced


def test_validate_off_the_vendor_refusal_is_one_dead_letter_not_a_loop(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES, validate=False))
    env.erp_sim.admin.close_period("2026-10")
    closed = october(env)

    report = env.runner().run_once()

    assert report.ok, report.error
    letters = env.letters()
    assert {(d.reason, d.owner) for d in letters} == {("vendor_rejected:PERIOD_CLOSED", "it")}
    assert {d.entity_key.rsplit(":", 1)[1] for d in letters} == closed  # none lost
    refused = [b for _, _, b in env.writes("/time-entries") if b["date"].startswith("2026-10")]
    assert len(refused) == len(closed)  # each sent once: never retried in a loop

    env.requests.clear()
    again = env.runner().run_once()
    assert again.ok
    assert env.writes("/time-entries") == []  # the next run does not resend them either
    assert len(env.letters()) == len(closed)


def test_owner_rules_from_the_configuration(tmp_path: Path) -> None:
    env = AcmeEnv(
        tmp_path,
        config_text(
            types=TYPES,
            validate=False,
            extra='owners = { "vendor_rejected:PERIOD_CLOSED" = "finance" }',
        ),
    )
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    assert {d.owner for d in env.letters()} == {"finance"}


def test_validation_lookups_see_open_periods_again(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    parked = len(env.letters())
    env.erp_sim.admin.open_period("2026-10")
    env.requests.clear()
    env.runner().run_once()
    # Parked records wait for a person (replay), they are not resent by the next run.
    assert env.writes("/time-entries") == []
    assert len(env.letters()) == parked


def test_validation_lookups_are_cached_for_the_run(tmp_path: Path) -> None:
    """A connector whose validate() uses cached_lookup asks each look-up once per run."""
    env = AcmeEnv(tmp_path, config_text(types=TYPES))
    runner = env.runner(workers=8)
    client = runner.pipeline.target._client  # type: ignore[attr-defined]
    plain = client.request

    def request(method: str, path: str, **kwargs: Any) -> Any:
        if method == "GET":  # only validate()'s look-ups run inside the runner's scope
            return cached_lookup(("acmeerp", path), lambda: plain(method, path, **kwargs))
        return plain(method, path, **kwargs)

    client.request = request
    report = runner.run_once()
    assert report.ok, report.error
    periods = [p for m, p, _ in env.requests if m == "GET" and p.startswith("/api/periods/")]
    assert sorted(periods) == ["/api/periods/2026-10", "/api/periods/2026-11"]  # 60 entries
    lookups = [p for m, p, _ in env.requests if m == "GET" and p.startswith("/api/employees/")]
    assert len(lookups) == len(set(lookups))

    # The next run looks again: a period may have closed in between.
    env.erp_sim.admin.close_period("2026-11")
    first = env.psa_sim.admin.rows("time_entries")[0]["data"]
    env.psa_sim.admin.insert("time_entries", {**first, "date": "2026-11-10"})
    env.clock.advance(60)
    env.requests.clear()
    runner2 = env.runner()
    plain = runner2.pipeline.target._client.request  # type: ignore[attr-defined]
    runner2.pipeline.target._client.request = request  # type: ignore[attr-defined]
    assert runner2.run_once().ok
    assert {d.reason for d in env.letters()} == {"validation_failed:period_closed"}


def test_threads_asking_for_one_lookup_together_compute_it_once() -> None:
    calls: list[int] = []
    start = threading.Barrier(8)

    def period_status() -> str:
        calls.append(1)
        time.sleep(0.01)  # a network call: long enough for the others to ask meanwhile
        return "open"

    def ask(results: list[str]) -> None:
        start.wait()
        results.append(cached_lookup(("acmeerp", "period", "2026-11"), period_status))

    results: list[str] = []
    with lookup_scope():
        context = contextvars.copy_context()
        threads = [
            threading.Thread(target=context.copy().run, args=(ask, results)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == ["open"] * 8
    assert len(calls) == 1


def test_cached_lookup_outside_a_run_always_computes() -> None:
    calls: list[int] = []
    for _ in range(2):
        cached_lookup("k", lambda: calls.append(1))
    assert len(calls) == 2
    with lookup_scope():
        cached_lookup("k", lambda: calls.append(1))
        cached_lookup("k", lambda: calls.append(1))
    assert len(calls) == 3
    with lookup_scope(), pytest.raises(ZeroDivisionError):
        cached_lookup("boom", lambda: 1 // 0)  # a failed look-up is not cached
