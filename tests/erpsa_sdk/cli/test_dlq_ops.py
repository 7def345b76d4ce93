"""`erpsa dlq list` filters (owner, reason, pipeline, project), `dlq show`, `dlq discard`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli.sync import EXIT_DEAD_LETTERS

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")


def _list(config: Path, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["dlq", "list", str(config), "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_filters_show_and_discard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .served_acme import served

    cli = CliRunner()
    with served(tmp_path, monkeypatch, types='["Project", "TimeEntry"]') as env:
        env.erp_sim.admin.close_period("2026-10")
        assert cli.invoke(app, ["sync", "run", str(env.config)]).exit_code == EXIT_DEAD_LETTERS
        every = _list(env.config)
        assert every
        assert _list(env.config, "--owner", "finance") == every
        assert _list(env.config, "--owner", "it") == []
        assert _list(env.config, "--reason", "validation_failed") == every
        assert _list(env.config, "--reason", "unmapped_value") == []
        projects = {d["project"] for d in every}
        assert None not in projects
        one = sorted(projects, key=str)[0]
        by_project = _list(env.config, "--project", str(one))
        assert by_project
        assert {d["project"] for d in by_project} == {one}
        assert _list(env.config, "--project", "no-such-project") == []

        shown = cli.invoke(app, ["dlq", "show", str(env.config), str(every[0]["id"])])
        assert shown.exit_code == 0, shown.output
        detail = json.loads(shown.output)
        assert detail["payload"]["project_key"] == every[0]["project"]
        assert detail["reason"] == "validation_failed:period_closed"

        gone = cli.invoke(
            app,
            ["dlq", "discard", str(env.config), str(every[0]["id"]), "--note", "billed by hand"],
        )
        assert gone.exit_code == 0, gone.output
        assert [d["id"] for d in _list(env.config)] == [d["id"] for d in every[1:]]
        history = {d["id"]: d for d in _list(env.config, "--all")}
        assert history[every[0]["id"]]["status"] == "discarded"
        again = cli.invoke(
            app, ["dlq", "discard", str(env.config), str(every[0]["id"]), "--note", "twice"]
        )
        assert again.exit_code == 1
        unknown = cli.invoke(app, ["dlq", "show", str(env.config), "999999"])
        assert unknown.exit_code == 1
        table = cli.invoke(app, ["dlq", "list", str(env.config)])
        assert table.exit_code == 0
        assert "finance" in table.output
