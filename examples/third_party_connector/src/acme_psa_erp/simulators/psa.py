"""AcmePSA: the invented PSA the example connector reads from.

API (base path ``/v2``, bearer token):

* ``GET /v2/{collection}`` — keyset pages ordered by ``(updated_at, id)``: ``updated_after`` +
  ``after_id`` (exclusive), ``updated_before`` (exclusive), ``limit`` (max 200), equality
  filters (``email``, ``code``, ``name``). Answer: ``{"data": [...], "meta": {...}}``.
* ``GET /v2/{collection}/{id}`` — one record.
* ``GET /v2/deleted/{collection}`` — tombstones ordered by ``(deleted_at, id)``, same keyset
  arguments (``deleted_after``, ``deleted_before``).
* Errors: ``{"error": {"code", "message"}}``; 429 with ``Retry-After`` above 20 requests in
  flight or 600 requests a minute.

Collections: ``customers``, ``projects``, ``resources``, ``time_entries``, ``expenses``.
Money arrives as JSON numbers (``"rate": 150.0``), minutes as integers, dates as ``YYYY-MM-DD``.

Example:
    >>> sim = AcmePsaSimulator(seed=3)
    >>> sorted(sim.admin.rows("resources")[0]["data"])
    ['active', 'email', 'name', 'role']
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from acme_psa_erp.simulators._shared import PEOPLE, keyset_page
from erpsa_sdk.testing import Row, SimError, SimRequest, SimResponse, Simulator, route
from erpsa_sdk.testing.store import iso

__all__ = ["AcmePsaSimulator"]

COLLECTIONS = ("customers", "projects", "resources", "time_entries", "expenses")
CUSTOMERS = ("Initech", "Globex", "Umbrella Health", "Stark Advisory")
CATEGORIES = ("travel", "meals", "lodging", "software")
FILTERS = ("email", "code", "name", "project_id")


class AcmePsaSimulator(Simulator):
    """The AcmePSA simulator (see the module docstring for its API).

    Seeded data set: 4 customers, 6 projects, 8 resources, 60 time entries in October and
    November 2026 and 20 expenses, stamped a few seconds apart with some timestamp ties.

    Example:
        >>> sim = AcmePsaSimulator(seed=1)
        >>> sim.admin.count("projects"), sim.admin.count("expenses")
        (6, 20)
    """

    vendor: ClassVar[str] = "acmepsa"
    base_path: ClassVar[str] = "/v2"
    tables: ClassVar[tuple[str, ...]] = COLLECTIONS
    concurrency_limit: ClassVar[int | None] = 20
    window_limit: ClassVar[tuple[int, float] | None] = (600, 60.0)
    source_tables: ClassVar[dict[str, str]] = {
        "Customer": "customers",
        "Project": "projects",
        "Resource": "resources",
        "TimeEntry": "time_entries",
        "Expense": "expenses",
    }

    def seed_data(self, rng: random.Random) -> None:
        start = self.clock.now() - timedelta(hours=1)
        step = 0

        def at() -> Any:
            nonlocal step
            step += 1
            # Every third row shares its predecessor's timestamp: keyset readers meet ties.
            return start + timedelta(seconds=step - step % 3)

        for name in CUSTOMERS:
            self.table("customers").insert(
                {
                    "name": name,
                    "currency": "USD",
                    "email": f"ap@{name.split()[0].lower()}.example",
                    "active": True,
                },
                at=at(),
            )
        for i in range(6):
            self.table("projects").insert(
                {
                    "name": f"Project {i + 1}",
                    "code": f"PRJ-{i + 1:03d}",
                    "customer_id": 1 + i % len(CUSTOMERS),
                    "currency": "USD",
                    "status": "active",
                    "budget": float(rng.randrange(20, 200) * 1000),
                    "start_date": "2026-09-01",
                },
                at=at(),
            )
        for name, email, role in PEOPLE:
            self.table("resources").insert(
                {"name": name, "email": email, "role": role, "active": True}, at=at()
            )
        for _ in range(60):
            self.table("time_entries").insert(self.sample_row("time_entries", rng), at=at())
        for _ in range(20):
            self.table("expenses").insert(self.sample_row("expenses", rng), at=at())

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        day = date(2026, 10, 1) + timedelta(days=rng.randrange(61))
        if table == "time_entries":
            return {
                "person_id": rng.randrange(1, len(PEOPLE) + 1),
                "project_id": rng.randrange(1, 7),
                "task_id": rng.choice([None, rng.randrange(1, 40)]),
                "date": day.isoformat(),
                "minutes": rng.choice([30, 45, 60, 90, 120, 240, 480]),
                "billable": rng.random() < 0.8,
                "status": rng.choice(["approved", "approved", "submitted"]),
                "notes": f"work item {rng.randrange(10_000)}",
                "rate": float(rng.choice([120, 150, 175, 210])),
                "currency": "USD",
            }
        if table == "expenses":
            return {
                "person_id": rng.randrange(1, len(PEOPLE) + 1),
                "project_id": rng.randrange(1, 7),
                "date": day.isoformat(),
                "category": rng.choice(CATEGORIES),
                "amount": rng.randrange(500, 90_000) / 100,
                "currency": "USD",
                "status": "approved",
                "notes": f"receipt {rng.randrange(10_000)}",
            }
        if table == "customers":
            n = rng.randrange(10_000)
            return {
                "name": f"Customer {n}",
                "currency": "USD",
                "email": f"ap{n}@example.com",
                "active": True,
            }
        if table == "projects":
            n = rng.randrange(10_000)
            return {
                "name": f"Project {n}",
                "code": f"PRJ-{n:05d}",
                "customer_id": 1,
                "currency": "USD",
                "status": "active",
                "budget": 10000.0,
                "start_date": "2026-10-01",
            }
        n = rng.randrange(10_000)
        return {
            "name": f"Person {n}",
            "email": f"p{n}@acme.example",
            "role": "Analyst",
            "active": True,
        }

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        if table == "time_entries":
            return {
                "minutes": rng.choice([15, 30, 60, 120]),
                "notes": f"edited {rng.randrange(999)}",
            }
        if table == "expenses":
            return {"amount": rng.randrange(500, 90_000) / 100}
        return {"name": f"{str(data.get('name', 'x')).split(' (')[0]} ({rng.randrange(999)})"}

    def bad_row(self, table: str) -> dict[str, Any]:
        """A row the connector must reject: fractional minutes, an unknown currency, no name."""
        row = self.sample_row(table, random.Random(0))  # noqa: S311 - test data
        if table == "time_entries":
            row["minutes"] = 12.5
        elif table in {"expenses", "projects"}:
            row["currency"] = "ZZZ"
        else:
            row["name"] = ""
        return row

    @staticmethod
    def render(row: Row) -> dict[str, Any]:
        """The API's JSON form of a row."""
        return {
            "id": row.id,
            **row.data,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.modified_at),
            "version": row.row_version,
        }

    def _collection(self, req: SimRequest) -> str:
        name = req.params["collection"]
        if name not in COLLECTIONS:
            raise SimError(404, "NOT_FOUND", f"unknown collection {name!r}")
        return name

    @route("GET", "/{collection}")
    def list_rows(self, req: SimRequest) -> SimResponse:
        table = self.table(self._collection(req))
        rows = keyset_page(
            table, req, after_name="updated_after", before_name="updated_before", filters=FILTERS
        )
        limit = req.int_arg("limit", 100, maximum=200)
        return SimResponse.json(
            {
                "data": [self.render(r) for r in rows],
                "meta": {"limit": limit, "returned": len(rows)},
            }
        )

    @route("GET", "/{collection}/{id}")
    def get_row(self, req: SimRequest) -> SimResponse:
        row = self.table(self._collection(req)).get(req.params["id"])
        if row is None:
            raise SimError(404, "NOT_FOUND", f"{req.params['collection']}/{req.params['id']}")
        return SimResponse.json({"data": self.render(row)})

    @route("GET", "/deleted/{collection}")
    def list_deleted(self, req: SimRequest) -> SimResponse:
        table = self.table(self._collection(req))
        rows = keyset_page(
            table, req, after_name="deleted_after", before_name="deleted_before", tombstones=True
        )
        data = [{"id": r.id, "deleted_at": iso(r.deleted_at or r.modified_at)} for r in rows]
        return SimResponse.json({"data": data, "meta": {"returned": len(data)}})
