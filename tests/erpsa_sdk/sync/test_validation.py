"""Validation before write, and vendor refusals validate() did not predict (issue 8)."""

from __future__ import annotations

from pathlib import Path

from .acme_pipeline import AcmeEnv, config_text

TYPES = '["Project", "TimeEntry"]'


def october(env: AcmeEnv) -> set[str]:
    return {
        str(r["id"])
        for r in env.psa_sim.admin.rows("time_entries")
        if r["data"]["date"].startswith("2026-10")
    }


def test_closed_period_is_dead_lettered_for_finance_and_never_sent(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES))
    env.erp_sim.admin.close_period("2026-10")
    closed = october(env)
    assert closed

    report = env.runner().run_once()

    assert report.ok, report.error
    letters = env.letters()
    assert {(d.reason, d.owner) for d in letters} == {
        ("validation_failed:period_closed", "finance")
    }
    assert {d.entity_key.rsplit(":", 1)[1] for d in letters} == closed
    assert all(d.write_key for d in letters)
    sent = env.writes("/time-entries")
    assert not [b for _, _, b in sent if b["date"].startswith("2026-10")]  # no write request
    assert len(sent) == 60 - len(closed)  # the rest of the batch synced


def test_validate_off_the_vendor_refusal_is_one_dead_letter_not_a_loop(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES, validate=False))
    env.erp_sim.admin.close_period("2026-10")
    closed = october(env)

    report = env.runner().run_once()

    assert report.ok, report.error
    letters = env.letters()
    assert {(d.reason, d.owner) for d in letters} == {("vendor_rejected:PERIOD_CLOSED", "it")}
    assert {d.entity_key.rsplit(":", 1)[1] for d in letters} == closed  # none lost
    refused = [b for _, _, b in env.writes("/time-entries") if b["date"].startswith("2026-10")]
    assert len(refused) == len(closed)  # each sent once: never retried in a loop

    env.requests.clear()
    again = env.runner().run_once()
    assert again.ok
    assert env.writes("/time-entries") == []  # the next run does not resend them either
    assert len(env.letters()) == len(closed)


def test_owner_rules_from_the_configuration(tmp_path: Path) -> None:
    env = AcmeEnv(
        tmp_path,
        config_text(
            types=TYPES,
            validate=False,
            extra='owners = { "vendor_rejected:PERIOD_CLOSED" = "finance" }',
        ),
    )
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    assert {d.owner for d in env.letters()} == {"finance"}


def test_validation_lookups_see_open_periods_again(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TYPES))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    parked = len(env.letters())
    env.erp_sim.admin.open_period("2026-10")
    env.requests.clear()
    env.runner().run_once()
    # Parked records wait for a person (replay), they are not resent by the next run.
    assert env.writes("/time-entries") == []
    assert len(env.letters()) == parked
