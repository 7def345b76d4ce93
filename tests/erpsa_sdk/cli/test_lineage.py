"""`erpsa lineage CONFIG KEY`: one record from the source to both targets of a dual run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app

from .ops_env import Dual, dual

pytest.importorskip("erpsa_dynamics365")
pytest.importorskip("erpsa_kantata")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dual]:
    with pytest.MonkeyPatch.context() as mp, dual(tmp_path_factory.mktemp("lin"), mp) as env:
        for name in ("psa-to-current", "psa-to-target"):
            result = CliRunner().invoke(app, ["sync", "run", str(env.config), "-p", name])
            assert result.exit_code == 0, result.output
        yield env


def _lineage(env: Dual, key: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["lineage", str(env.config), key, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, object] = json.loads(result.output)
    return body


def test_a_source_id_leads_to_both_postings_with_keys_versions_and_correlation(
    synced: Dual,
) -> None:
    body = _lineage(synced, "time_entry:3")
    assert body["source_id"] == "3"
    targets = body["targets"]
    assert isinstance(targets, dict)
    assert len(targets) == 2
    assert all(targets.values())
    steps = body["steps"]
    assert isinstance(steps, list)
    ledger = [s for s in steps if s["kind"] == "ledger"]
    lineage = [s for s in steps if s["kind"] == "lineage"]
    assert {s["target"] for s in ledger} == set(targets)
    assert {s["target_id"] for s in ledger} == set(targets.values())
    assert all(s["write_key"] and s["version"] and s["status"] == "created" for s in ledger)
    assert all(s["correlation_id"] and s["run_id"] for s in lineage)
    # One logical write per target: the same WriteKey names it at both.
    assert len({s["write_key"] for s in ledger}) == 1


def test_the_entity_key_form_gives_the_same_lineage(synced: Dual) -> None:
    by_id = _lineage(synced, "time_entry:3")
    by_key = _lineage(synced, str(by_id["entity_key"]))
    assert by_key["steps"] == by_id["steps"]


def test_unknown_record_and_malformed_key(synced: Dual) -> None:
    missing = CliRunner().invoke(app, ["lineage", str(synced.config), "time_entry:999999"])
    assert missing.exit_code == 1
    assert "no record" in missing.output
    table = CliRunner().invoke(app, ["lineage", str(synced.config), "time_entry:3"])
    assert table.exit_code == 0
    assert "ledger" in table.output
