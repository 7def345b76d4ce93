"""AcmeERP: the invented ERP the example connector writes to.

API (base path ``/api``, bearer token). Every list takes keyset arguments (``modified_after``
+ ``after_id``, ``modified_before``, ``limit``) and equality filters, and answers
``{"items": [...], "has_more": bool}``. Errors: ``{"error": {"code", "message"}}``.

==================  =====================================================  ==================
collection          writes                                                 idempotency
==================  =====================================================  ==================
``customers``       ``PUT /customers/ext/{external_id}`` (201 / 200),      natural upsert
                    ``DELETE /customers/ext/{external_id}``; a plain
                    ``POST /customers`` exists too
``projects``        ``POST /projects`` (``external_ref`` stored, never     none: look up by
                    checked), ``PATCH`` / ``DELETE /projects/{id}``        ``?external_ref=``
``time-entries``    ``POST /time-entries``, ``PATCH`` / ``DELETE /{id}``,  none (a blind
                    ``POST /{id}/reversal`` for posted entries             re-POST duplicates)
``expenses``        ``POST /expenses`` with ``Idempotency-Key`` (replayed  the key, 24 h
                    for the same key), ``PATCH`` / ``DELETE``, ``POST
                    /{id}/credit``
``employees``       read only (match by ``?email=``)                       —
==================  =====================================================  ==================

Posted time entries and expenses refuse ``PATCH`` and ``DELETE`` with 409 ``RECORD_POSTED``;
writes dated in a closed period get 422 ``PERIOD_CLOSED`` (``GET /periods/{YYYY-MM}`` tells).
Limits: 8 requests in flight and 100 per second per account, answered with 429 and
``Retry-After``.

Example:
    >>> sim = AcmeErpSimulator(seed=1)
    >>> [r["data"]["email"] for r in sim.admin.rows("employees")][:2]
    ['ada@acme.example', 'grace@acme.example']
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from acme_psa_erp.simulators._shared import PEOPLE, keyset_page, matcher, period_of
from erpsa_sdk.testing import Row, SimError, SimRequest, SimResponse, Simulator, route
from erpsa_sdk.testing.store import iso

__all__ = ["AcmeErpSimulator"]

#: URL collection -> table.
COLLECTIONS = {
    "customers": "customers",
    "projects": "projects",
    "employees": "employees",
    "time-entries": "time_entries",
    "expenses": "expenses",
}
FILTERS = ("name", "code", "email", "external_ref", "ext_ref", "external_id", "project_id")
DATED = ("time_entries", "expenses")


class AcmeErpSimulator(Simulator):
    """The AcmeERP simulator (see the module docstring for its API).

    Seeded data set: the 8 employees (the same people as AcmePSA's resources); customers,
    projects, time entries and expenses arrive through the API.

    Example:
        >>> sim = AcmeErpSimulator()
        >>> sim.naive_create("TimeEntry", 0)[:2]
        ('POST', '/api/time-entries')
    """

    vendor: ClassVar[str] = "acmeerp"
    base_path: ClassVar[str] = "/api"
    tables: ClassVar[tuple[str, ...]] = tuple(COLLECTIONS.values())
    concurrency_limit: ClassVar[int | None] = 8
    window_limit: ClassVar[tuple[int, float] | None] = (100, 1.0)

    entity_key_fields: ClassVar[dict[str, tuple[str, str]]] = {
        "Customer": ("customers", "external_id"),
        "Project": ("projects", "external_ref"),
        "TimeEntry": ("time_entries", "ext_ref"),
        "Expense": ("expenses", "ext_ref"),
    }
    source_tables: ClassVar[dict[str, str]] = {"Resource": "employees"}

    def __init__(self, **kwargs: Any) -> None:
        self._idempotency: dict[str, tuple[int, int]] = {}
        super().__init__(**kwargs)

    def seed_data(self, rng: random.Random) -> None:
        start = self.clock.now() - timedelta(hours=2)
        for i, (name, email, role) in enumerate(PEOPLE):
            self.table("employees").insert(
                {"name": name, "email": email, "title": role, "status": "active"},
                at=start + timedelta(seconds=i),
            )

    def on_post(self, table: str, row: Row) -> None:
        row.data["status"] = "posted"

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        n = rng.randrange(100_000)
        if table == "employees":
            return {
                "name": f"Person {n}",
                "email": f"p{n}@acme.example",
                "title": "Analyst",
                "status": "active",
            }
        raise NotImplementedError(f"acmeerp does not invent {table} rows")

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {"title": rng.choice(["Analyst", "Consultant", "Manager"])}

    def bad_row(self, table: str) -> dict[str, Any]:
        """An employee without a name (the canonical Resource requires one)."""
        return {"name": "", "email": "nameless@acme.example", "title": "?", "status": "active"}

    # -- helpers for tests and checkers --------------------------------------------------------

    def naive_create(self, type_name: str, index: int) -> tuple[str, str, dict[str, Any]]:
        """A plain, keyless create as a naive integrator would send it (the negative control).

        Example:
            >>> AcmeErpSimulator().naive_create("Project", 3)[2]["code"]
            'NAIVE-3'
        """
        if type_name == "Customer":
            return "POST", "/api/customers", {"name": f"Naive {index}", "currency": "USD"}
        if type_name == "Project":
            return (
                "POST",
                "/api/projects",
                {"name": f"Naive {index}", "code": f"NAIVE-{index}", "currency": "USD"},
            )
        if type_name == "TimeEntry":
            return (
                "POST",
                "/api/time-entries",
                {
                    "employee_id": 1,
                    "project_id": self._any_project(),
                    "date": "2026-11-02",
                    "minutes": 60 + index,
                    "billable": True,
                    "memo": f"naive {index}",
                },
            )
        if type_name == "Expense":
            return (
                "POST",
                "/api/expenses",
                {
                    "employee_id": 1,
                    "project_id": self._any_project(),
                    "date": "2026-11-02",
                    "category": "meals",
                    "amount": f"{10 + index}.00",
                    "currency": "USD",
                },
            )
        raise KeyError(type_name)

    def _any_project(self) -> int:
        with self._lock:
            live = self.table("projects").live_rows()
            if live:
                return live[0].id
            return (
                self.table("projects")
                .insert({"name": "Bench", "code": "BENCH", "currency": "USD", "status": "active"})
                .id
            )

    # -- rendering and checks ------------------------------------------------------------------

    @staticmethod
    def render(row: Row) -> dict[str, Any]:
        """The API's JSON form of a row."""
        return {
            "id": row.id,
            **row.data,
            "created_at": iso(row.created_at),
            "modified_at": iso(row.modified_at),
        }

    def _table_of(self, req: SimRequest) -> str:
        name = COLLECTIONS.get(req.params["collection"])
        if name is None:
            raise SimError(404, "NOT_FOUND", f"unknown collection {req.params['collection']!r}")
        return name

    def _row(self, table: str, row_id: str) -> Row:
        row = self.table(table).get(row_id)
        if row is None:
            raise SimError(404, "NOT_FOUND", f"{table}/{row_id} does not exist")
        return row

    def _open_period(self, day: Any) -> None:
        if isinstance(day, str) and period_of(day) in self.closed_periods:
            raise SimError(422, "PERIOD_CLOSED", f"accounting period {period_of(day)} is closed")

    def _check(self, table: str, data: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise SimError(400, "INVALID", "body must be a JSON object")
        body = dict(data)
        required = {
            "customers": ("name",),
            "projects": ("name", "currency"),
            "time_entries": ("employee_id", "project_id", "date", "minutes"),
            "expenses": ("employee_id", "project_id", "date", "amount", "currency", "category"),
        }.get(table, ())
        missing = [f for f in required if body.get(f) in (None, "")]
        if missing:
            raise SimError(
                400, "REQUIRED_FIELD", f"missing required field(s): {', '.join(missing)}"
            )
        if "date" in body:
            try:
                date.fromisoformat(str(body["date"]))
            except ValueError:
                raise SimError(400, "INVALID", "date must be YYYY-MM-DD") from None
        if "minutes" in body and (
            not isinstance(body["minutes"], int)
            or isinstance(body["minutes"], bool)
            or body["minutes"] <= 0
        ):
            raise SimError(400, "INVALID", "minutes must be a positive integer")
        if "amount" in body:
            try:
                Decimal(str(body["amount"]))
            except InvalidOperation:
                raise SimError(400, "INVALID", "amount must be a decimal string") from None
        for field, target in (
            ("customer_id", "customers"),
            ("project_id", "projects"),
            ("employee_id", "employees"),
        ):
            if body.get(field) is not None and self.table(target).get(body[field]) is None:
                raise SimError(422, "INVALID_REFERENCE", f"{field} {body[field]} does not exist")
        return body

    def _writable(self, table: str, row: Row) -> None:
        if row.posted:
            raise SimError(409, "RECORD_POSTED", f"{table}/{row.id} is posted and cannot change")
        if table in DATED:
            self._open_period(row.data.get("date"))

    # -- generic collection routes --------------------------------------------------------------

    @route("GET", "/{collection}")
    def list_rows(self, req: SimRequest) -> SimResponse:
        table = self.table(self._table_of(req))
        rows = keyset_page(
            table, req, after_name="modified_after", before_name="modified_before", filters=FILTERS
        )
        limit = req.int_arg("limit", 100, maximum=200)
        return SimResponse.json(
            {"items": [self.render(r) for r in rows], "has_more": len(rows) >= limit}
        )

    @route("POST", "/{collection}")
    def create(self, req: SimRequest) -> SimResponse:
        table = self._table_of(req)
        if table == "employees":
            raise SimError(405, "READ_ONLY", "employees are maintained in HR")
        key = req.headers.get("idempotency-key") if table == "expenses" else None
        if key is not None and key in self._idempotency:
            status, row_id = self._idempotency[key]
            row = self.table(table).get_any(row_id)
            assert row is not None
            return SimResponse.json(
                self.render(row), status=status, headers={"idempotent-replayed": "true"}
            )
        body = self._check(table, req.json())
        if table in DATED:
            self._open_period(body.get("date"))
        body.setdefault("status", "open" if table in DATED else "active")
        row = self.table(table).insert(body)
        if key is not None:
            self._idempotency[key] = (201, row.id)
        return SimResponse.json(self.render(row), status=201)

    @route("GET", "/{collection}/{id}")
    def get_row(self, req: SimRequest) -> SimResponse:
        return SimResponse.json(self.render(self._row(self._table_of(req), req.params["id"])))

    @route("PATCH", "/{collection}/{id}")
    def patch_row(self, req: SimRequest) -> SimResponse:
        table = self._table_of(req)
        row = self._row(table, req.params["id"])
        self._writable(table, row)
        changes = self._check("", req.json())
        if table in DATED and "date" in changes:
            self._open_period(changes["date"])
        changes.pop("status", None)
        if any(row.data.get(k) != v for k, v in changes.items()):
            self.table(table).update(row.id, changes)
        return SimResponse.json(self.render(row))

    @route("DELETE", "/{collection}/{id}")
    def delete_row(self, req: SimRequest) -> SimResponse:
        table = self._table_of(req)
        row = self._row(table, req.params["id"])
        self._writable(table, row)
        self.table(table).delete(row.id)
        return SimResponse.empty(204)

    # -- customers: natural upsert by external id ------------------------------------------------

    def _by_external_id(self, ext: str) -> Row | None:
        found = self.table("customers").find(matcher(external_id=ext))
        return found[0] if found else None

    @route("GET", "/customers/ext/{ext}")
    def get_customer_ext(self, req: SimRequest) -> SimResponse:
        row = self._by_external_id(req.params["ext"])
        if row is None:
            raise SimError(404, "NOT_FOUND", f"no customer with external id {req.params['ext']}")
        return SimResponse.json(self.render(row))

    @route("PUT", "/customers/ext/{ext}")
    def put_customer_ext(self, req: SimRequest) -> SimResponse:
        body = self._check("customers", req.json())
        body["external_id"] = req.params["ext"]
        row = self._by_external_id(req.params["ext"])
        if row is None:
            body.setdefault("status", "active")
            return SimResponse.json(self.render(self.table("customers").insert(body)), status=201)
        if any(row.data.get(k) != v for k, v in body.items()):
            self.table("customers").update(row.id, body)
        return SimResponse.json(self.render(row), status=200)

    @route("DELETE", "/customers/ext/{ext}")
    def delete_customer_ext(self, req: SimRequest) -> SimResponse:
        row = self._by_external_id(req.params["ext"])
        if row is None:
            raise SimError(404, "NOT_FOUND", f"no customer with external id {req.params['ext']}")
        self.table("customers").delete(row.id)
        return SimResponse.empty(204)

    # -- reversals of posted documents -----------------------------------------------------------

    def _reverse(self, table: str, row_id: str, negate: str) -> SimResponse:
        row = self._row(table, row_id)
        if not row.posted:
            raise SimError(422, "NOT_POSTED", f"{table}/{row.id} is not posted; change it instead")
        existing = row.data.get("reversed_by")
        if existing is not None:
            reversal = self.table(table).get_any(existing)
            assert reversal is not None
            return SimResponse.json(self.render(reversal), status=200)
        today = self.clock.now().date().isoformat()
        self._open_period(today)
        data = dict(row.data)
        value = data[negate]
        data[negate] = -value if isinstance(value, int) else str(-Decimal(str(value)))
        data.update(
            {
                "date": today,
                "reverses_id": row.id,
                "status": "posted",
                "ext_ref": f"{row.data.get('ext_ref')}:reversal",
            }
        )
        data.pop("reversed_by", None)
        reversal = self.table(table).insert(data)
        reversal.posted = True
        row.data["reversed_by"] = reversal.id
        self.table(table).touch(row)
        return SimResponse.json(self.render(reversal), status=201)

    @route("POST", "/time-entries/{id}/reversal")
    def reverse_time_entry(self, req: SimRequest) -> SimResponse:
        return self._reverse("time_entries", req.params["id"], "minutes")

    @route("POST", "/expenses/{id}/credit")
    def credit_expense(self, req: SimRequest) -> SimResponse:
        return self._reverse("expenses", req.params["id"], "amount")

    @route("GET", "/periods/{period}")
    def get_period(self, req: SimRequest) -> SimResponse:
        period = req.params["period"]
        return SimResponse.json(
            {"period": period, "status": "closed" if period in self.closed_periods else "open"}
        )
