"""`erpsa sync run CONFIG` against the Acme simulators served over loopback (issue 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli.sync import EXIT_CONFIG, EXIT_DEAD_LETTERS
from erpsa_sdk.sync import SQLiteStateStore
from erpsa_sdk.sync.deadletters import DeadLetterQueue

from .served_acme import served

ROOT = Path(__file__).resolve().parents[3]


def test_clean_run_exits_zero_and_a_rerun_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(tmp_path, monkeypatch) as env:
        result = CliRunner().invoke(app, ["sync", "run", str(env.config)])
        assert result.exit_code == 0, result.output
        assert "psa-to-erp: completed" in result.output
        assert "linked 8" in result.output  # the ERP's employees, matched by e-mail
        assert env.erp_sim.admin.count("customers") == 4
        assert env.erp_sim.admin.count("projects") == 6
        again = CliRunner().invoke(app, ["sync", "run", str(env.config)])
        assert again.exit_code == 0, again.output
        assert env.posts("/") == 6  # projects were created once, never again


def test_dead_letters_give_exit_code_three_with_reasons_and_owners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        env.erp_sim.admin.close_period("2026-10")
        result = CliRunner().invoke(app, ["sync", "run", str(env.config), "--workers", "2"])
        assert result.exit_code == EXIT_DEAD_LETTERS, result.output
        assert "validation_failed:period_closed  (owner: finance)" in result.output
        october = sum(
            1 for r in env.psa_sim.admin.rows("time_entries") if r["data"]["date"] < "2026-11"
        )
        assert f"dead-lettered {october} record(s)" in result.output
        # A second run dead-letters nothing new: exit code 0.
        assert CliRunner().invoke(app, ["sync", "run", str(env.config)]).exit_code == 0


def test_a_record_dead_lettered_again_gives_exit_code_three_without_a_new_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        env.erp_sim.admin.close_period("2026-10")
        assert CliRunner().invoke(app, ["sync", "run", str(env.config)]).exit_code == 3
        store = SQLiteStateStore(tmp_path / "state.db")
        letters = len(store.dead_letters("psa-to-erp"))
        october = next(
            r for r in env.psa_sim.admin.rows("time_entries") if r["data"]["date"] < "2026-11"
        )
        # Edited at the source, still in the closed period: it fails again on the next run.
        env.psa_sim.admin.update("time_entries", october["id"], {"minutes": 61})
        result = CliRunner().invoke(app, ["sync", "run", str(env.config)])
        assert result.exit_code == EXIT_DEAD_LETTERS, result.output
        assert "dead-lettered 1 record(s)" in result.output
        assert len(store.dead_letters("psa-to-erp")) == letters  # updated, not added
        (again,) = DeadLetterQueue(store, "psa-to-erp").seen_in_run(
            store.runs("psa-to-erp")[0].run_id
        )
        assert again.entity_key.endswith(f":{october['id']}")
        assert again.attempts == 2
        store.close()


def test_check_only_validates_the_example_file() -> None:
    result = CliRunner().invoke(
        app, ["sync", "run", str(ROOT / "examples" / "pipeline.toml"), "--check"]
    )
    assert result.exit_code == 0, result.output
    assert "configuration OK (pipelines: psa-to-erp)" in result.output


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('api_token = { env = "ACMEERP_API_TOKEN" }', 'api_token = "erp-live-token"'),
            ":35: connections.erp.settings.api_token is an inline secret",
        ),
        (('connector = "acmeerp"', 'connector = "acmeerpp"'), ":31: connections.erp.connector: "),
        (
            ('"Expense.category" = "expense_category"', '"Expense.category" = "categories"'),
            ":76: value_maps.'Expense.category' uses value map 'categories', which is not declared",
        ),
    ],
)
def test_a_refused_configuration_runs_nothing_and_names_the_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = (ROOT / "examples" / "pipeline.toml").read_text(encoding="utf-8")
    assert text.count(change[0]) == 1
    config = tmp_path / "pipeline.toml"
    config.write_text(text.replace(*change), encoding="utf-8")
    result = CliRunner().invoke(app, ["sync", "run", str(config)])
    assert result.exit_code == EXIT_CONFIG
    assert "configuration refused" in result.output
    assert f"{config}{expected}" in result.output
    assert "completed" not in result.output  # refused before anything ran
