"""`erpsa reconcile CONFIG`: a balanced dual run, then tampering at an ERP, named by record."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli._ops import EXIT_MISMATCH
from erpsa_sdk.cli.sync import EXIT_CONFIG

from .ops_env import Dual, dual, written_rows

pytest.importorskip("erpsa_dynamics365")
pytest.importorskip("erpsa_kantata")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dual]:
    with pytest.MonkeyPatch.context() as mp, dual(tmp_path_factory.mktemp("rec"), mp) as env:
        cli = CliRunner()
        for name in ("psa-to-current", "psa-to-target"):
            result = cli.invoke(app, ["sync", "run", str(env.config), "-p", name])
            assert result.exit_code == 0, result.output
        # Dataverse reads stop before the current second (rows of this second come next time).
        time.sleep(1.1)
        yield env


def _json(output: str) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(output.strip().splitlines()[-1])
    return data


def test_balanced_dual_run_exits_0_with_totals_per_project(synced: Dual) -> None:
    result = CliRunner().invoke(app, ["reconcile", str(synced.config), "--json"])
    assert result.exit_code == 0, result.output
    runs = _json(result.output)
    assert [r["pipeline"] for r in runs] == ["psa-to-current", "psa-to-target"]
    for run in runs:
        assert run["mismatches"] == 0
        assert run["compared"] == ["TimeEntry"]
        groups = run["groups"]
        assert isinstance(groups, list)
        assert groups
        assert all(g["source_count"] == g["target_count"] > 0 for g in groups)
        assert all(g["source_minutes"] == g["target_minutes"] for g in groups)
    table = CliRunner().invoke(app, ["reconcile", str(synced.config), "-p", "psa-to-current"])
    assert table.exit_code == 0
    assert "BALANCED" in table.output


def test_tampering_behind_the_runner_is_named_and_exits_1(synced: Dual) -> None:
    sim = synced.current
    ours = written_rows(sim)[-2:]
    deleted, changed = ours
    sim.admin.delete("msdyn_timeentry", deleted["id"])
    sim.admin.update("msdyn_timeentry", changed["id"], {"msdyn_duration": 1})
    time.sleep(1.1)
    result = CliRunner().invoke(
        app, ["reconcile", str(synced.config), "-p", "psa-to-current", "--json"]
    )
    assert result.exit_code == EXIT_MISMATCH, result.output
    [run] = _json(result.output)
    found = {(m["kind"], m["target_id"]) for m in run["records"]}  # type: ignore[union-attr]
    changed_id = changed["data"]["msdyn_timeentryid"]
    assert ("minutes_differ", changed_id) in found
    assert any(kind == "missing_at_target" for kind, _ in found)
    assert run["mismatches"] == 2
    other = CliRunner().invoke(app, ["reconcile", str(synced.config), "-p", "psa-to-target"])
    assert other.exit_code == 0, other.output


def test_nothing_comparable_is_not_called_balanced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")
    from .served_acme import served

    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        assert CliRunner().invoke(app, ["sync", "run", str(env.config)]).exit_code == 0
        result = CliRunner().invoke(app, ["reconcile", str(env.config)])
    assert result.exit_code == EXIT_MISMATCH
    assert "cannot read it" in result.output
    assert "NOT COMPARED" in result.output


def test_bad_period_and_bad_config_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('namespace = "x"\n[connections.a]\nconnector = "nope"\n', encoding="utf-8")
    assert CliRunner().invoke(app, ["reconcile", str(bad)]).exit_code == EXIT_CONFIG
    result = CliRunner().invoke(app, ["reconcile", str(bad), "--from", "yesterday"])
    assert result.exit_code == EXIT_CONFIG
