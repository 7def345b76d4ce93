"""`erpsa dlq list` / `erpsa dlq replay` against served Acme simulators (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli.sync import EXIT_DEAD_LETTERS

from .served_acme import served


def test_list_then_replay_posts_each_parked_record_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliRunner()
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        env.erp_sim.admin.close_period("2026-10")
        assert cli.invoke(app, ["sync", "run", str(env.config)]).exit_code == EXIT_DEAD_LETTERS

        listed = cli.invoke(app, ["dlq", "list", str(env.config), "--owner", "finance", "--json"])
        assert listed.exit_code == 0, listed.output
        letters = [json.loads(line) for line in listed.output.splitlines()]
        assert letters
        assert {(d["reason"], d["status"], d["attempts"]) for d in letters} == {
            ("validation_failed:period_closed", "open", 1)
        }

        # Still closed: the replay fails, nothing is sent, the letters stay open.
        env.requests.clear()
        failed = cli.invoke(app, ["dlq", "replay", str(env.config)])
        assert failed.exit_code == EXIT_DEAD_LETTERS, failed.output
        assert env.posts("/time-entries") == 0

        env.erp_sim.admin.open_period("2026-10")  # finance reopened the period
        env.requests.clear()
        done = cli.invoke(app, ["dlq", "replay", str(env.config)])
        assert done.exit_code == 0, done.output
        assert done.output.count("replayed") == len(letters)
        assert env.posts("/time-entries") == len(letters)

        again = cli.invoke(app, ["dlq", "replay", str(env.config)])
        assert again.exit_code == 0
        assert env.posts("/time-entries") == len(letters)  # exactly once
        remaining = cli.invoke(app, ["dlq", "list", str(env.config), "--json"])
        assert remaining.output.strip() == ""
        history = cli.invoke(app, ["dlq", "list", str(env.config), "--all", "--json"])
        statuses = {json.loads(line)["status"] for line in history.output.splitlines()}
        assert statuses == {"replayed"}


def test_replay_of_one_id_and_of_an_unknown_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliRunner()
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        env.erp_sim.admin.close_period("2026-10")
        cli.invoke(app, ["sync", "run", str(env.config)])
        env.erp_sim.admin.open_period("2026-10")
        env.requests.clear()
        one = cli.invoke(app, ["dlq", "replay", str(env.config), "--id", "1", "--refresh"])
        assert one.exit_code == 0, one.output
        assert env.posts("/time-entries") == 1
        unknown = cli.invoke(app, ["dlq", "replay", str(env.config), "--id", "999"])
        assert unknown.exit_code == 2
        assert "no dead letter 999" in unknown.output


def test_replay_after_the_missing_reference_is_created_posts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliRunner()
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        zed = env.psa_sim.admin.insert(
            "resources", {"name": "Zed Shaw", "email": "zed@acme.example", "role": "Analyst"}
        )
        first = env.psa_sim.admin.rows("time_entries")[0]["data"]
        env.psa_sim.admin.insert(
            "time_entries", {**first, "person_id": zed["id"], "date": "2026-11-12", "notes": "zed"}
        )
        result = cli.invoke(app, ["sync", "run", str(env.config)])
        assert result.exit_code == EXIT_DEAD_LETTERS, result.output
        assert "reference_unmatched:resource_key  (owner: pmo)" in result.output

        # HR creates the employee in the ERP; the parked entry can now be posted.
        env.erp_sim.admin.insert(
            "employees",
            {
                "name": "Zed Shaw",
                "email": "zed@acme.example",
                "title": "Analyst",
                "status": "active",
            },
        )
        env.requests.clear()
        done = cli.invoke(app, ["dlq", "replay", str(env.config)])
        assert done.exit_code == 0, done.output
        assert env.posts("/time-entries") == 1
        assert cli.invoke(app, ["dlq", "replay", str(env.config)]).exit_code == 0
        assert env.posts("/time-entries") == 1  # exactly once
        (posted,) = [
            r for r in env.erp_sim.admin.rows("time_entries") if r["data"].get("memo") == "zed"
        ]
        zed_employee = env.erp_sim.admin.rows("employees")[-1]
        assert posted["data"]["employee_id"] == zed_employee["id"]
