"""The seed generator: a realistic firm from a seed, written into any simulator."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.clock import SimClock
from erpsa_sdk.testing import Simulator
from erpsa_sdk.testing.seed import clear_simulator, generate_firm, write_firm


def test_the_firm_the_demo_needs() -> None:
    firm = generate_firm(seed=1)
    assert len(firm.legal_entities) == 2
    assert len(firm.customers) >= 5
    assert len(firm.projects) >= 12
    assert len(firm.consultants) >= 40
    assert firm.weeks == 6
    assert {p.currency for p in firm.projects} == {le.currency for le in firm.legal_entities}
    assert all(p.milestones for p in firm.projects)
    assert all(c.bill_rate_minor > c.cost_rate_minor for c in firm.consultants)
    assert len({c.email for c in firm.consultants}) == len(firm.consultants)
    last_week = firm.start + timedelta(weeks=firm.weeks - 1)
    assert all(e.approved == (e.day < last_week) for e in firm.time_entries)
    assert Counter(e.project for e in firm.time_entries).keys() <= {p.index for p in firm.projects}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8))
def test_property_same_seed_same_firm_and_entries_stay_inside_the_legal_entity(
    seed: int, weeks: int
) -> None:
    firm = generate_firm(seed=seed, weeks=weeks)
    assert firm == generate_firm(seed=seed, weeks=weeks)
    end = firm.start + timedelta(weeks=weeks)
    for entry in firm.time_entries:
        assert firm.start <= entry.day < end
        assert entry.day.weekday() < 5
        project = firm.project(entry.project)
        assert project.legal_entity == firm.consultant(entry.consultant).legal_entity
        assert 0 <= entry.task < len(project.tasks)
    for expense in firm.expenses:
        assert expense.amount_minor > 0
        assert firm.project(expense.project).legal_entity == (
            firm.consultant(expense.consultant).legal_entity
        )


def test_different_seeds_differ_and_bad_sizes_are_refused() -> None:
    assert generate_firm(seed=1, weeks=1) != generate_firm(seed=2, weeks=1)
    with pytest.raises(ValueError, match="at least"):
        generate_firm(weeks=0)


def test_written_into_kantata_it_reads_back_as_the_firm() -> None:
    pytest.importorskip("erpsa_kantata")
    from erpsa_sdk.models import Project, TimeEntry
    from erpsa_sdk.registry import get_plugin

    plugin = get_plugin("kantata")
    clock = SimClock(autojump=True)
    sim = plugin.simulator(seed=1, clock=clock)
    clear_simulator(sim)
    firm = generate_firm(seed=4, weeks=1)
    ids = write_firm(sim, firm)
    assert len(ids["TimeEntry"]) == len(firm.time_entries)
    kantata = plugin.create({"token": sim.api_token}, transport=httpx2.MockTransport(sim),
                            clock=clock)  # fmt: skip
    entries = {e.key: e for e in kantata.read(TimeEntry)}
    for entry in firm.time_entries:
        got: Any = entries[ids["TimeEntry"][str(entry.index)]]
        assert got.duration_minutes == entry.minutes
        assert got.work_date == entry.day
        assert got.project_key == ids["Project"][str(entry.project)]
        assert got.status.value == ("approved" if entry.approved else "draft")
        person = firm.consultant(entry.consultant)
        assert got.bill_rate.amount * 100 == person.bill_rate_minor
    projects = {p.key: p for p in kantata.read(Project)}
    for project in firm.projects:
        assert projects[ids["Project"][str(project.index)]].currency == project.currency


@pytest.mark.parametrize(
    ("vendor", "tables"),
    [
        ("netsuite", {"subsidiary": 2, "employee": 40, "serviceitem": 4}),
        ("dynamics365", {"cdm_company": 2, "bookableresource": 40}),
    ],
)
def test_erps_get_only_the_master_data_they_own(vendor: str, tables: dict[str, int]) -> None:
    pytest.importorskip(f"erpsa_{vendor}")
    from erpsa_sdk.registry import get_plugin

    sim = get_plugin(vendor).simulator(seed=1, clock=SimClock(autojump=True))
    before = {t: sim.admin.count(t) for t in sim.tables}
    firm = generate_firm(seed=4, weeks=1)
    ids = write_firm(sim, firm)
    after = {t: sim.admin.count(t) for t in sim.tables}
    grown = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert grown == tables
    assert set(ids["Resource"]) == {str(c.index) for c in firm.consultants}


def test_unknown_vendor_names_the_known_ones_and_a_custom_writer_is_used() -> None:
    class Tiny(Simulator):
        vendor = "tiny"
        tables = ("people",)

    sim = Tiny()
    firm = generate_firm(seed=1, weeks=1)
    with pytest.raises(LookupError, match="kantata"):
        write_firm(sim, firm)

    def tiny(s: Any, f: Any) -> dict[str, dict[str, str]]:
        return {"Resource": {str(c.index): str(s.admin.insert("people", {"email": c.email})["id"])
                             for c in f.consultants}}  # fmt: skip

    ids = write_firm(sim, firm, writers={"tiny": tiny})
    assert sim.admin.count("people") == len(firm.consultants) == len(ids["Resource"])
    assert clear_simulator(sim) == len(firm.consultants)
    assert sim.admin.count("people") == 0
