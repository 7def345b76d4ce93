"""Runner processes on one SQLite file: signals stop cleanly; two at once, one works."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from erpsa_sdk.sync import SQLiteStateStore
from erpsa_sdk.testing.faults import FaultPlan

from .harness import STREAMS, finish, loopback, wait_until

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector (make venv)")

# Every request takes 30 ms at the simulators, so a run is still busy when the signal comes.
SLOW = FaultPlan.parse("latency=1.0;seed=1;latency=0.03")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_cleanly_after_the_batch_in_flight(tmp_path: Path, signum: int) -> None:
    state = tmp_path / "state.db"
    url = f"sqlite:///{state}"
    with loopback(seed=31, faults=SLOW) as lb:
        proc = lb.start(url, "--workers", "2", "--page-size", "5")
        wait_until(lambda: state.exists(), 60)
        store = SQLiteStateStore(state)
        try:
            wait_until(lambda: store.get_checkpoint("acme", "Customer") is not None, 60)
            proc.send_signal(signum)
            code, report = finish(proc)
            assert (code, report["status"]) == (3, "stopped"), report
            checkpoints = {
                table: c.cursor
                for stream, table in STREAMS.items()
                if (c := store.get_checkpoint("acme", stream)) is not None
            }
            assert lb.checker.checkpoint_problems(checkpoints) == []
            assert store.runs("acme")[0].status == "stopped"
            if signum == signal.SIGTERM:  # the resumed run is the same for both: checked once
                for sim in (lb.psa_sim, lb.erp_sim):
                    sim.set_faults(None)
                code, report = finish(lb.start(url))
                assert (code, report["status"]) == (0, "completed"), report
                assert lb.checker.problems() == []
        finally:
            store.close()


def test_two_runners_on_one_sqlite_file_exactly_one_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with loopback(seed=37, faults=None) as lb:
        procs = [lb.start(url, "--page-size", "5", "--holder", name) for name in ("A", "B")]
        results = sorted((finish(proc) for proc in procs), key=lambda result: result[0])
        codes = [code for code, _ in results]
        assert codes == [0, 5], results
        assert results[1][1]["status"] == "lease_held"
        assert lb.checker.problems() == []
