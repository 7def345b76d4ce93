"""A small seeded Kantata account: users, clients, USD / JPY / archived EUR projects, time.

Examples:
    >>> from erpsa_kantata.simulator import KantataSimulator
    >>> sim = KantataSimulator(seed=5)
    >>> sorted({w["currency"] for w in sim.records("workspaces").values()})
    ['EUR', 'JPY', 'USD']
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erpsa_kantata.simulator._handler import KantataSimulator

__all__ = ["load_seed"]

_PEOPLE = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra")
_CLIENTS = ("Northwind Traders", "Contoso Japan KK")


def load_seed(sim: KantataSimulator, rng: random.Random) -> None:
    """Fill the simulator with a small, reproducible account.

    Examples:
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> len(KantataSimulator(seed=1).records("users"))
        5
    """
    users_table = sim.table("users")
    users = [
        str(users_table.insert(sim._user_data(n, n.lower().replace(" ", ".") + "@example.com")).id)
        for n in _PEOPLE
    ]
    sim.store.current_user_id = users[0]
    sim.table("rate_cards").insert(
        {"title": "Standard rates", "currency": "USD", "archived": False, "uses": 2}
    )
    groups = [sim.create("workspace_groups", name=n, company=True)["id"] for n in _CLIENTS]
    plan = (
        ("Northwind rollout", "USD", 0),
        ("Tokyo office move", "JPY", 1),
        ("Legacy audit", "EUR", 0),
    )
    workspaces: list[tuple[str, str]] = []
    for title, currency, group in plan:
        ws = sim.create(
            "workspaces",
            title=title,
            creator_role="maven",
            currency=currency,
            workspace_group_ids=[groups[group]],
            start_date="2026-01-05",
            due_date="2026-06-30",
        )
        row = sim.table("workspaces").get(ws["id"])
        assert row is not None
        row.data["participant_ids"] = list(users)
        workspaces.append((ws["id"], currency))
    for gid in groups:
        sim.store.create(
            "custom_field_values",
            {
                "subject_type": "workspace_group",
                "subject_id": int(gid),
                "custom_field_id": "602325",
                "value": f"cus_{gid}",
            },
        )
    rate = {"USD": 15000, "JPY": 18000, "EUR": 12000}
    start = date(2026, 1, 5)
    for ws_id, currency in workspaces:
        tasks = [
            sim.create("stories", title=t, story_type="task", workspace_id=ws_id)["id"]
            for t in ("Discovery", "Build")
        ]
        sim.create(
            "stories",
            title="Go-live",
            story_type="milestone",
            workspace_id=ws_id,
            due_date="2026-03-31",
        )
        sim.create(
            "workspace_allocations",
            resource_id=users[1],
            workspace_id=ws_id,
            start_date="2026-01-05",
            end_date="2026-02-27",
            minutes=4800,
        )
        for i in range(4):
            sim.create(
                "time_entries",
                workspace_id=ws_id,
                user_id=rng.choice(users),
                story_id=rng.choice(tasks),
                date_performed=(start + timedelta(days=i)).isoformat(),
                time_in_minutes=rng.choice((30, 60, 90, 240, 480)),
                billable=rng.random() < 0.8,
                rate_in_cents=rate[currency],
                cost_rate_in_cents=rate[currency] // 2,
                notes=f"Work item {i + 1}",
            )
        sim.create(
            "expenses",
            workspace_id=ws_id,
            user_id=users[2],
            date=(start + timedelta(days=2)).isoformat(),
            category="Travel",
            amount_in_cents=12345 if currency != "JPY" else 4800,
            notes="Train fare",
        )
    sim.archive_workspace(workspaces[2][0])
