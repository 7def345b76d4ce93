"""Two runner processes on PostgreSQL: one works; a frozen holder is taken over and refused.

Both start together; exactly one gets the lease. The holder is frozen with SIGSTOP past the
lease TTL; a third runner takes the lease over and finishes the job. On SIGCONT the frozen
runner's next write or commit is refused (its lease lapsed and its fence is stale) and it stops
with a clear message. The independent checker then finds nothing lost or duplicated.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from erpsa_sdk.sync import PostgresStateStore
from erpsa_sdk.testing.faults import FaultPlan

from .harness import finish, loopback, wait_until

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector (make venv)")

TTL = 3.0
# Every request takes 40 ms at the simulators, so one run lasts several seconds.
SLOW = FaultPlan.parse("latency=1.0;seed=1;latency=0.04")


def test_frozen_holder_is_taken_over_and_refused(postgres_url: str) -> None:
    schema = f"erpsa_lease_{uuid.uuid4().hex[:10]}"
    args = ("--schema", schema, "--lease-ttl", str(TTL), "--workers", "2", "--page-size", "5")
    store = PostgresStateStore(postgres_url, schema=schema)
    try:
        with loopback(seed=23, faults=SLOW) as lb:
            first = lb.start(postgres_url, *args, "--holder", "A")
            second = lb.start(postgres_url, *args, "--holder", "B")
            wait_until(lambda: first.poll() is not None or second.poll() is not None, 60)
            loser, holder = (first, second) if first.poll() is not None else (second, first)
            code, report = finish(loser)
            assert (code, report["status"]) == (5, "lease_held"), report
            assert holder.poll() is None, "the lease holder should still be working"

            wait_until(lambda: store.get_checkpoint("acme", "Customer") is not None, 60)
            os.kill(holder.pid, signal.SIGSTOP)
            try:
                time.sleep(TTL + 1.5)
                code, report = finish(lb.start(postgres_url, *args, "--holder", "C"))
                assert (code, report["status"]) == (0, "completed"), report
            finally:
                os.kill(holder.pid, signal.SIGCONT)
            code, report = finish(holder)
            assert (code, report["status"]) == (4, "lease_lost"), report
            assert "lease" in report["error"]
            assert "taken over" in report["error"] or "lapsed" in report["error"]

            code, report = finish(lb.start(postgres_url, *args, "--holder", "D"))
            assert (code, report["status"]) == (0, "completed"), report
            assert report["counts"].get("created", 0) == 0
            assert lb.checker.problems() == []
            runs = store.runs("acme")
            assert {r.status for r in runs} >= {"completed", "lease_lost"}
    finally:
        store.drop_schema()
        store.close()
