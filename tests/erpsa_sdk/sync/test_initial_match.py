"""Initial match of master data the target already holds (issue 8, acceptance 1)."""

from __future__ import annotations

from pathlib import Path

from acme_psa_erp.simulators.psa import CUSTOMERS

from .acme_pipeline import AcmeEnv, config_text

ERP_TARGET = "acmeerp:sim"


def preseed(env: AcmeEnv) -> tuple[int, int]:
    """Give both systems 40 resources and 5 customers; the ERP already holds all of them."""
    for n in range(32):
        person = {"name": f"Person {n}", "email": f"person{n}@acme.example"}
        env.psa_sim.admin.insert("resources", {**person, "role": "Analyst", "active": True})
        env.erp_sim.admin.insert("employees", {**person, "title": "Analyst", "status": "active"})
    env.psa_sim.admin.insert(
        "customers", {"name": "Wayne Enterprises", "currency": "USD", "active": True}
    )
    for name in (*CUSTOMERS, "Wayne Enterprises"):
        env.erp_sim.admin.insert("customers", {"name": name, "currency": "USD", "status": "active"})
    env.clock.advance(60)  # past the readers' horizon, so the new rows are read
    return env.erp_sim.admin.count("employees"), env.erp_sim.admin.count("customers")


def test_first_sync_links_every_preseeded_record_and_creates_none(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types='["Customer", "Project"]'))
    employees, customers = preseed(env)
    assert (employees, customers) == (40, 5)

    report = env.runner().run_once()

    assert report.ok, report.error
    assert env.erp_sim.admin.count("employees") == 40
    assert env.erp_sim.admin.count("customers") == 5  # none created
    assert env.writes("/customers") == []  # and none written to
    assert report.counts["linked"] == 45
    linked = env.store._run(
        lambda tx: tx.q(
            "SELECT object_type, record_id FROM {crosswalk} WHERE system = ?", (ERP_TARGET,)
        ),
        write=False,
    )
    assert sum(1 for t, _ in linked if t == "resource") == 40
    assert sum(1 for t, _ in linked if t == "customer") == 5
    # Projects reference the linked customers, never copies of them.
    erp_customer_ids = {r["id"] for r in env.erp_sim.admin.rows("customers")}
    projects = env.erp_sim.admin.rows("projects")
    assert len(projects) == 6
    assert {p["data"]["customer_id"] for p in projects} <= erp_customer_ids
    assert env.letters() == []


def test_second_sync_does_not_match_again(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types='["Customer"]'))
    preseed(env)
    env.runner().run_once()
    env.requests.clear()
    report = env.runner().run_once()
    assert report.ok
    assert report.counts.get("matches", 0) == 0
    assert [r for r in env.requests if r[1].startswith(("/api/customers", "/api/employees"))] == []


def test_one_email_shared_by_two_target_resources_is_one_ambiguous_match(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types='["Customer"]'))
    preseed(env)
    env.erp_sim.admin.insert(
        "employees",
        {
            "name": "Person 7 (old)",
            "email": "person7@acme.example",
            "title": "?",
            "status": "active",
        },
    )

    report = env.runner().run_once()

    letters = env.letters()
    assert [(d.reason, d.owner) for d in letters] == [("ambiguous_match", "it")]
    assert letters[0].payload["email"] == "person7@acme.example"
    assert "2 Resource records" in (letters[0].error or "")
    assert report.counts["linked"] == 44


def test_none_found_is_created_once(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types='["Customer"]'))  # the ERP holds no customers
    report = env.runner().run_once()
    assert report.counts["created"] == len(CUSTOMERS)
    assert len(env.writes("/customers/ext/")) == len(CUSTOMERS)
    assert env.erp_sim.admin.count("customers") == len(CUSTOMERS)


def test_transactional_records_are_never_matched(tmp_path: Path) -> None:
    env = AcmeEnv(
        tmp_path, config_text(types='["Project", "TimeEntry"]', natural_keys='Resource = ["email"]')
    )
    report = env.runner().run_once()
    assert report.ok, report.error
    # One match per referenced employee (master data), none per time entry.
    assert report.counts["matches"] == len(
        {r["data"]["person_id"] for r in env.psa_sim.admin.rows("time_entries")}
    )
    assert len(env.writes("/time-entries")) == 60


def test_a_linked_record_edited_at_the_source_is_never_copied(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types='["Customer"]'))
    preseed(env)
    env.runner().run_once()
    env.psa_sim.admin.update("customers", 1, {"name": "Initech"})  # a new version, same name
    env.clock.advance(60)
    env.requests.clear()
    report = env.runner().run_once()
    assert report.ok
    assert report.counts["linked_not_written"] == 1
    assert any(n.startswith("linked_not_written:Customer") for n in report.notes)
    assert env.writes("/customers") == []
    assert env.erp_sim.admin.count("customers") == 5


def test_replay_of_an_ambiguous_match_links_once_the_target_is_cleaned(tmp_path: Path) -> None:
    from erpsa_sdk.sync.deadletters import replay

    env = AcmeEnv(tmp_path, config_text(types='["Customer"]'))
    preseed(env)
    copy = env.erp_sim.admin.insert(
        "customers", {"name": "Globex", "currency": "USD", "status": "active"}
    )
    env.runner().run_once()
    (letter,) = env.letters()
    assert letter.reason == "ambiguous_match"
    assert [r.outcome for r in replay(env.runner())] == ["failed"]  # still two
    env.erp_sim.admin.delete("customers", copy["id"])  # IT merged the duplicate
    env.requests.clear()
    (result,) = replay(env.runner())
    assert result.outcome == "linked"
    assert env.writes("/customers") == []
    assert env.erp_sim.admin.count("customers") == 5
