"""`erpsa diff CONFIG A B` (dual run) and `erpsa diff CONFIG A --dry-run`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

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
    with pytest.MonkeyPatch.context() as mp, dual(tmp_path_factory.mktemp("diff"), mp) as env:
        for name in ("psa-to-current", "psa-to-target"):
            result = CliRunner().invoke(app, ["sync", "run", str(env.config), "-p", name])
            assert result.exit_code == 0, result.output
        time.sleep(1.1)  # Dataverse reads stop before the current second
        yield env


def _diff(env: Dual, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["diff", str(env.config), *args, "--json"])
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def test_identical_targets_do_not_differ_then_one_edit_at_a_target_does(synced: Dual) -> None:
    code, body = _diff(synced, "psa-to-current", "psa-to-target")
    assert code == 0
    assert body["differences"] == []
    ours = written_rows(synced.target)
    synced.target.admin.update("msdyn_timeentry", ours[0]["id"], {"msdyn_duration": 7})
    time.sleep(1.1)
    code, body = _diff(synced, "psa-to-current", "psa-to-target")
    assert code == EXIT_MISMATCH
    [row] = body["differences"]  # type: ignore[misc]
    assert row["kind"] == "differs"
    assert row["fields"]["minutes"][1] == "7"
    synced.target.admin.update(
        "msdyn_timeentry", ours[0]["id"], {"msdyn_duration": ours[0]["data"]["msdyn_duration"]}
    )
    table = CliRunner().invoke(app, ["diff", str(synced.config), "psa-to-current", "psa-to-target"])
    assert "record(s) differ" in table.output


def test_dry_run_shows_the_source_edit_the_next_run_would_send_and_sends_nothing(
    synced: Dual,
) -> None:
    entry = next(iter(synced.kantata.records("time_entries").values()))
    synced.kantata.update("time_entries", entry["id"], time_in_minutes=999)
    before = synced.current.stats.requests
    writes_before = [r["modified_at"] for r in synced.current.admin.rows("msdyn_timeentry")]
    code, body = _diff(synced, "psa-to-current", "--dry-run")
    assert code == EXIT_MISMATCH
    changed = [r for r in body["differences"] if r["kind"] == "differs"]  # type: ignore[union-attr]
    assert [r["fields"]["minutes"][1] for r in changed] == ["999"]
    assert changed[0]["entity_key"].endswith(f":time_entry:{entry['id']}")
    assert synced.current.stats.requests > before  # it read the target...
    after = [r["modified_at"] for r in synced.current.admin.rows("msdyn_timeentry")]
    assert after == writes_before  # ...and wrote nothing


def test_pipelines_must_share_a_source_and_arguments_must_make_sense(synced: Dual) -> None:
    both = CliRunner().invoke(
        app, ["diff", str(synced.config), "psa-to-current", "psa-to-target", "--dry-run"]
    )
    assert both.exit_code == EXIT_CONFIG
    neither = CliRunner().invoke(app, ["diff", str(synced.config), "psa-to-current"])
    assert neither.exit_code == EXIT_CONFIG
