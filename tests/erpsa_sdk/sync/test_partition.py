"""The partitioned writer pool: per-key order on one thread, the submitter's context."""

from __future__ import annotations

import contextvars
import threading

import pytest

from erpsa_sdk.sync._partition import PartitionedExecutor

pytestmark = pytest.mark.timeout(60)


def test_work_for_one_key_runs_in_submission_order_on_one_thread() -> None:
    seen: list[tuple[str, int, str]] = []
    with PartitionedExecutor(workers=4) as pool:
        futures = [
            pool.submit(
                f"k{n % 3}",
                lambda n=n: seen.append((f"k{n % 3}", n, threading.current_thread().name)),
            )
            for n in range(60)
        ]
        for future in futures:
            future.result()
    for key in ("k0", "k1", "k2"):
        mine = [(n, thread) for k, n, thread in seen if k == key]
        assert [n for n, _ in mine] == sorted(n for n, _ in mine)
        assert len({thread for _, thread in mine}) == 1


def test_work_runs_in_the_submitters_context_and_errors_reach_the_submitter() -> None:
    var = contextvars.ContextVar("var", default="unset")
    var.set("submitter")
    with PartitionedExecutor(workers=2) as pool:
        assert pool.submit("k", var.get).result() == "submitter"
        failed = pool.submit("k", lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failed.result()
        assert pool.submit("k", lambda: "still working").result() == "still working"
