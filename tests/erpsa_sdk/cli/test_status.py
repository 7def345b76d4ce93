"""`erpsa status CONFIG`: last run, synced, parked, dead letters by role, reconciliation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli.sync import EXIT_CONFIG, EXIT_DEAD_LETTERS

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")


def _status(config: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["status", str(config), "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert isinstance(row, dict)
    return row


def test_status_before_and_after_a_run_with_dead_letters_for_finance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .served_acme import served

    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        before = _status(env.config)
        assert before["last_run"] is None
        assert before["reconciliation"] is None
        env.erp_sim.admin.close_period("2026-10")
        assert CliRunner().invoke(app, ["sync", "run", str(env.config)]).exit_code == (
            EXIT_DEAD_LETTERS
        )
        CliRunner().invoke(app, ["reconcile", str(env.config)])
        after = _status(env.config)
        table = CliRunner().invoke(app, ["status", str(env.config)])
    last = after["last_run"]
    assert isinstance(last, dict)
    assert last["status"] == "completed"
    assert isinstance(after["records_synced"], int)
    assert after["records_synced"] > 0
    assert after["parked"] == 0  # nothing waits for a reference
    letters = after["dead_letters"]
    assert isinstance(letters, dict)
    assert set(letters) == {"finance"}
    assert letters["finance"] == after["open_dead_letters"]
    rec = after["reconciliation"]
    assert isinstance(rec, dict)
    assert rec["state"] == "not_compared"  # the example ERP cannot be read back
    assert table.exit_code == 0
    assert "finance" in table.output


def test_unknown_pipeline_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .served_acme import served

    with served(tmp_path, monkeypatch) as env:
        result = CliRunner().invoke(app, ["status", str(env.config), "-p", "nope"])
    assert result.exit_code == EXIT_CONFIG
