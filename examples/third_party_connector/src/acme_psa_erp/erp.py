"""The AcmeERP connector: a target for customers, projects, time entries and expenses.

One type per write safety, as the vendor really behaves:

* ``Customer`` — ``NATURAL_UPSERT``: ``PUT /customers/ext/<EntityKey>``; repeating it is harmless.
* ``Project`` — ``LOOKUP_THEN_CREATE``: the EntityKey travels in ``external_ref``; before a
  retried create the connector looks the project up.
* ``TimeEntry`` — ``UNSAFE`` create: never retried; a lost answer raises
  :class:`~erpsa_sdk.errors.IndeterminateWrite`, resolved by :meth:`AcmeErpConnector.lookup`.
* ``Expense`` — ``SERVER_DEDUP``: the WriteKey goes in ``Idempotency-Key`` on every attempt.

Updates and deletes address records by id (idempotent). Posted entries raise
:class:`~erpsa_sdk.errors.PostedRecordError` and change nothing; they can be reversed.
Employees (``Resource``) are read-only and matched by e-mail, so time entries and expenses
declare ``resource_key`` with the ``match`` rule; tasks do not exist (``optional``).

``refs`` passed to :meth:`AcmeErpConnector.upsert`: ``project_key`` and ``resource_key``
(required) for time entries and expenses; ``customer_key`` (optional) for projects. Each is the
AcmeERP record the runner resolved (a project written earlier, an employee found by ``match``).
The EntityKey is stored in ``external_id`` (customers), ``external_ref`` (projects) or
``ext_ref`` (time entries, expenses): a checker reads those fields from the simulator.

Example:
    >>> import httpx2
    >>> from erpsa_sdk.models import Customer, EntityKey, SourceRef, WriteKey
    >>> from acme_psa_erp import ACMEERP, settings_for
    >>> sim = ACMEERP.simulator(seed=1)
    >>> erp = ACMEERP.create(settings_for(sim), transport=httpx2.MockTransport(sim),
    ...                      clock=sim.clock)
    >>> c = Customer(key="7", name="Initech", currency="USD",
    ...              source_refs=[SourceRef(system="acmepsa", tenant="acme", id="7")])
    >>> ek = c.entity_key("demo")
    >>> wk = WriteKey(entity_key=ek, version="v1", operation="upsert")
    >>> erp.upsert(c, entity_key=ek, write_key=wk, refs={}).outcome.value
    'created'
    >>> erp.lookup(Customer, entity_key=ek).id
    '1'
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN
from functools import partial
from typing import Annotated, Any, ClassVar

import httpx2
from pydantic import BaseModel, BeforeValidator

from acme_psa_erp._common import AcmeSettings, make_client
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    Cursor,
    Health,
    Problem,
    ProblemCode,
    TypeCapabilities,
    WriteOutcome,
    WriteResult,
    type_name,
)
from erpsa_sdk.errors import (
    ConfigurationError,
    ErpsaError,
    NotFoundError,
    PostedRecordError,
    ResponseFormatError,
    ValidationFailed,
)
from erpsa_sdk.http import KeysetSeek, KeysetWindow, Pager, WriteSafety, parse_json
from erpsa_sdk.limits import Concurrency, Limit, ScopeKind, SlidingWindow
from erpsa_sdk.models import Customer, EntityKey, Expense, Money, Project, TimeEntry, WriteKey
from erpsa_sdk.models.money import quantize_amount
from erpsa_sdk.models.refs import SourceRef

__all__ = ["CAPABILITIES", "AcmeErpConnector", "AcmeErpSettings"]

SYSTEM = "acmeerp"

#: canonical type -> (URL collection, field that carries the EntityKey)
TARGETS: dict[str, tuple[str, str]] = {
    "Customer": ("customers", "external_id"),
    "Project": ("projects", "external_ref"),
    "TimeEntry": ("time-entries", "ext_ref"),
    "Expense": ("expenses", "ext_ref"),
}
_REVERSAL_PATH = {"TimeEntry": "reversal", "Expense": "credit"}

_BY_ID = WriteSafety.NATURAL_UPSERT  # PATCH / DELETE / reversal address one record by id
_DOCUMENT_REFS: dict[str, Any] = {
    "resource_key": "match",
    "task_key": "optional",
    "assignment_key": "optional",
}

CAPABILITIES = Capabilities(
    types={
        "Customer": TypeCapabilities(
            write=True,
            delete=True,
            natural_keys=("name",),
            write_safety={"upsert": WriteSafety.NATURAL_UPSERT, "delete": _BY_ID},
            references={"parent_key": "optional"},
            # Our upsert is addressed by key, but AcmeERP itself keeps a keyless POST sent
            # twice as two customers: say so, and the negative control proves it.
            vendor_dedupes_blind_creates=False,
        ),
        "Project": TypeCapabilities(
            write=True,
            delete=True,
            natural_keys=("code",),
            write_safety={
                "create": WriteSafety.LOOKUP_THEN_CREATE,
                "update": _BY_ID,
                "delete": _BY_ID,
            },
            references={
                "contract_key": "optional",
                "legal_entity_key": "optional",
                "cost_center_key": "optional",
                "manager_key": "match",
            },
        ),
        "Resource": TypeCapabilities(read=True, incremental=True, natural_keys=("email",)),
        "TimeEntry": TypeCapabilities(
            write=True,
            delete=True,
            reverse=True,
            posting=True,
            closed_periods=True,
            write_safety={
                "create": WriteSafety.UNSAFE,
                "update": _BY_ID,
                "delete": _BY_ID,
                "reverse": _BY_ID,
            },
            references={**_DOCUMENT_REFS, "timesheet_key": "optional"},
        ),
        "Expense": TypeCapabilities(
            write=True,
            delete=True,
            reverse=True,
            posting=True,
            closed_periods=True,
            write_safety={
                "create": WriteSafety.SERVER_DEDUP,
                "update": _BY_ID,
                "delete": _BY_ID,
                "reverse": _BY_ID,
            },
            references=_DOCUMENT_REFS,
        ),
    },
    limits=(
        Limit(Concurrency(8), ScopeKind.ACCOUNT, note="AcmeERP: 8 requests in flight per account"),
        Limit(SlidingWindow(100, 1), ScopeKind.ACCOUNT, note="AcmeERP: 100 requests a second"),
    ),
    rounding="ROUND_HALF_EVEN",
)


class AcmeErpSettings(AcmeSettings):
    """AcmeERP settings (environment variables ``ERPSA_ACMEERP_*``).

    Example:
        >>> AcmeErpSettings(api_token="t").base_url
        'https://erp.acmeerp.example/api'
    """

    env_prefix: ClassVar[str] = "ERPSA_ACMEERP_"
    base_url: str = "https://erp.acmeerp.example/api"


def _money_text(money: Money) -> str:
    # AcmeERP rounds half to even (declared in CAPABILITIES.rounding).
    return str(quantize_amount(money.amount, money.currency, rounding=ROUND_HALF_EVEN))


def _employee(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    ref = {
        "system": SYSTEM,
        "tenant": tenant,
        "id": str(row["id"]),
        "version": row.get("modified_at"),
    }
    return {
        "key": str(row["id"]),
        "source_refs": [ref],
        "name": row.get("name"),
        "email": row.get("email"),
        "role": row.get("title"),
        "active": row.get("status") == "active",
    }


class AcmeErpConnector(Connector):
    """Writes to AcmeERP (see the module docstring).

    Example:
        >>> import httpx2
        >>> from erpsa_sdk.models import Resource
        >>> from acme_psa_erp import ACMEERP, settings_for
        >>> sim = ACMEERP.simulator()
        >>> erp = ACMEERP.create(settings_for(sim), transport=httpx2.MockTransport(sim),
        ...                      clock=sim.clock)
        >>> [r.id for r in erp.match(Resource, email="grace@acme.example")]
        ['2']
    """

    name: ClassVar[str] = SYSTEM

    def __init__(
        self,
        settings: AcmeErpSettings,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.tenant = settings.tenant
        self._client = make_client(
            settings,
            limits=CAPABILITIES.limits,
            transport=transport,
            clock=clock,
            write_key_header="Idempotency-Key",
        )

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    # -- helpers ---------------------------------------------------------------------------

    def _ref(self, row: Mapping[str, Any]) -> SourceRef:
        rid = row.get("id") if isinstance(row, Mapping) else None
        if rid is None or rid == "":
            # After a write this leaves it in doubt: the runner looks the record up.
            raise ResponseFormatError(f"acmeerp answered without a record id: {str(row)[:200]}")
        return SourceRef(
            system=SYSTEM,
            tenant=self.tenant,
            id=str(rid),
            version=str(row.get("modified_at") or "") or None,
        )

    def _target(self, model: type[BaseModel] | str) -> tuple[str, str]:
        name = type_name(model)
        if name not in TARGETS:
            raise ConfigurationError(f"acmeerp cannot write {name} records")
        return TARGETS[name]

    def _find_row(
        self, model: type[BaseModel] | str, entity_key: EntityKey
    ) -> dict[str, Any] | None:
        collection, field = self._target(model)
        if type_name(model) == "Customer":
            try:
                row: dict[str, Any] = self._client.request_json(
                    "GET", f"/customers/ext/{entity_key}"
                )
            except NotFoundError:
                return None
            return row
        body = self._client.request_json(
            "GET", f"/{collection}", params={field: str(entity_key), "limit": 200}
        )
        items = sorted(body.get("items", []), key=lambda r: int(r["id"]))
        return items[0] if items else None

    def _required_ref(self, refs: Mapping[str, SourceRef], field: str) -> int:
        ref = refs.get(field)
        if ref is None:
            raise ValidationFailed(
                f"reference {field} was not resolved to an acmeerp record",
                vendor_code="REFERENCE_MISSING",
                tenant=self.tenant,
            )
        return int(ref.id)

    def _payload(
        self, obj: BaseModel, entity_key: EntityKey, refs: Mapping[str, SourceRef]
    ) -> dict[str, Any]:
        if isinstance(obj, Customer):
            return {"name": obj.name, "currency": obj.currency, "email": obj.email}
        if isinstance(obj, Project):
            customer = refs.get("customer_key")
            return {
                "name": obj.name,
                "code": obj.code,
                "currency": obj.currency,
                "status": obj.status.value,
                "customer_id": int(customer.id) if customer is not None else None,
                "budget": _money_text(obj.budget) if obj.budget is not None else None,
                "external_ref": str(entity_key),
            }
        if isinstance(obj, TimeEntry):
            return {
                "employee_id": self._required_ref(refs, "resource_key"),
                "project_id": self._required_ref(refs, "project_key"),
                "date": obj.work_date.isoformat(),
                "minutes": obj.duration_minutes,
                "billable": obj.billable,
                "memo": obj.description,
                "rate": _money_text(obj.bill_rate) if obj.bill_rate is not None else None,
                "currency": obj.bill_rate.currency if obj.bill_rate is not None else None,
                "ext_ref": str(entity_key),
            }
        if isinstance(obj, Expense):
            return {
                "employee_id": self._required_ref(refs, "resource_key"),
                "project_id": self._required_ref(refs, "project_key"),
                "date": obj.expense_date.isoformat(),
                "category": obj.category,
                "amount": _money_text(obj.amount),
                "currency": obj.amount.currency,
                "memo": obj.description,
                "ext_ref": str(entity_key),
            }
        raise ConfigurationError(f"acmeerp cannot write {type(obj).__name__} records")

    # -- the contract ------------------------------------------------------------------------

    def read(self, model: type[BaseModel], *, since: Cursor = None, **filters: Any) -> Pager[Any]:
        """Employees (``Resource``), incrementally; AcmeERP is a target for everything else."""
        if type_name(model) != "Resource":
            raise ConfigurationError(f"acmeerp does not read {type_name(model)} records")
        item_type: Any = Annotated[model, BeforeValidator(partial(_employee, self.tenant))]

        def query(window: KeysetWindow) -> dict[str, Any]:
            params: dict[str, Any] = {"modified_before": window.before, "limit": window.limit}
            if window.after is not None:
                params["modified_after"] = window.after_timestamp
                params["after_id"] = window.after_id
            return {**params, **filters}

        strategy = KeysetSeek(
            "/employees",
            limit=self.settings.page_size,
            query=query,
            items="items",
            timestamp_field="modified_at",
        )
        return Pager(self._client, strategy, model=item_type, cursor=since)

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """The AcmeERP record carrying ``entity_key`` (the lowest id if a naive writer left
        duplicates), or ``None``."""
        row = self._find_row(model, entity_key)
        return self._ref(row) if row is not None else None

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Existing records by natural key: Customer ``name``, Project ``code``, Resource
        ``email``."""
        allowed = self.capabilities.of(model).natural_keys
        if not natural_key or set(natural_key) - set(allowed):
            raise ConfigurationError(
                f"acmeerp matches {type_name(model)} by {list(allowed)}, not {sorted(natural_key)}"
            )
        collection = {"Resource": "employees", "Customer": "customers", "Project": "projects"}
        body = self._client.request_json(
            "GET", f"/{collection[type_name(model)]}", params={**natural_key, "limit": 200}
        )
        return [self._ref(row) for row in body.get("items", [])]

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """Create or update the record for ``entity_key`` (see the module docstring)."""
        name = type(obj).__name__
        collection, field = self._target(name)
        payload = self._payload(obj, entity_key, refs)

        def result(outcome: WriteOutcome, row: Mapping[str, Any]) -> WriteResult:
            return WriteResult(
                outcome=outcome, entity_key=entity_key, write_key=write_key, ref=self._ref(row)
            )

        if name == "Customer":
            resp = self._client.request(
                "PUT",
                f"/customers/ext/{entity_key}",
                json=payload,
                safety=WriteSafety.NATURAL_UPSERT,
            )
            created = resp.status_code == 201
            return result(
                WriteOutcome.CREATED if created else WriteOutcome.UPSERTED, parse_json(resp)
            )
        existing = self._find_row(name, entity_key)
        if existing is not None:
            if existing.get("status") == "posted":
                raise PostedRecordError(
                    f"{collection}/{existing['id']} is posted; reverse it",
                    vendor_code="RECORD_POSTED",
                    tenant=self.tenant,
                )
            changes = {k: v for k, v in payload.items() if existing.get(k) != v and k != field}
            if not changes:
                return result(WriteOutcome.UNCHANGED, existing)
            row = self._client.request_json(
                "PATCH", f"/{collection}/{existing['id']}", json=changes, safety=_BY_ID
            )
            return result(WriteOutcome.UPDATED, row)
        safety = self.capabilities.of(name).safety("create")
        lookup = None
        if safety is WriteSafety.LOOKUP_THEN_CREATE:
            lookup = partial(self._found_response, name, entity_key)
        resp = self._client.request(
            "POST",
            f"/{collection}",
            json=payload,
            safety=safety,
            write_key=str(write_key) if safety is WriteSafety.SERVER_DEDUP else None,
            lookup=lookup,
        )
        outcome = WriteOutcome.CREATED if resp.status_code == 201 else WriteOutcome.UPSERTED
        return result(outcome, parse_json(resp))

    def _found_response(self, model: str, entity_key: EntityKey) -> httpx2.Response | None:
        # LOOKUP_THEN_CREATE: before a retried create, find the record the lost attempt made.
        row = self._find_row(model, entity_key)
        if row is None:
            return None
        collection, _ = self._target(model)
        return self._client.request("GET", f"/{collection}/{row['id']}")

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """Delete the record for ``entity_key``: ``deleted``, or ``not_found`` when there is
        none (a retry after a lost answer is a success)."""
        name = type_name(model)
        collection, _ = self._target(name)
        path: str
        if name == "Customer":
            path = f"/customers/ext/{entity_key}"
            existing = None
        else:
            existing = self._find_row(name, entity_key)
            if existing is None:
                return WriteResult(
                    outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key, write_key=write_key
                )
            path = f"/{collection}/{existing['id']}"
        try:
            self._client.request("DELETE", path, safety=_BY_ID)
        except NotFoundError:
            return WriteResult(
                outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key, write_key=write_key
            )
        return WriteResult(
            outcome=WriteOutcome.DELETED,
            entity_key=entity_key,
            write_key=write_key,
            ref=self._ref(existing) if existing else None,
        )

    def reverse(self, obj: BaseModel, *, entity_key: EntityKey, write_key: WriteKey) -> WriteResult:
        """Reverse a posted time entry (negative entry) or expense (credit) in the current
        open period; repeating it returns the same reversal."""
        name = type(obj).__name__
        if name not in _REVERSAL_PATH:
            raise ConfigurationError(f"acmeerp cannot reverse {name} records")
        collection, _ = self._target(name)
        existing = self._find_row(name, entity_key)
        if existing is None:
            raise NotFoundError(
                f"no {name} with this EntityKey to reverse", status=404, tenant=self.tenant
            )
        row = self._client.request_json(
            "POST", f"/{collection}/{existing['id']}/{_REVERSAL_PATH[name]}", safety=_BY_ID
        )
        return WriteResult(
            outcome=WriteOutcome.REVERSED,
            entity_key=entity_key,
            write_key=write_key,
            ref=self._ref(row),
        )

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Referenced records exist and the accounting period is open."""
        name = type(obj).__name__
        if name not in TARGETS:
            return [
                Problem(
                    code=ProblemCode.UNSUPPORTED_TYPE,
                    message=f"acmeerp cannot write {name} records",
                )
            ]
        problems: list[Problem] = []
        needed = {
            "TimeEntry": ("resource_key", "project_key"),
            "Expense": ("resource_key", "project_key"),
        }.get(name, ())
        optional = ("customer_key",) if name == "Project" else ()
        paths = {
            "resource_key": "employees",
            "project_key": "projects",
            "customer_key": "customers",
        }
        for field in (*needed, *optional):
            ref = refs.get(field)
            if ref is None:
                if field in needed:
                    problems.append(
                        Problem(
                            code=ProblemCode.REFERENCE_MISSING,
                            field=field,
                            message=f"{field} is not resolved",
                        )
                    )
                continue
            try:
                self._client.request("GET", f"/{paths[field]}/{ref.id}")
            except NotFoundError:
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        field=field,
                        message=f"{paths[field]}/{ref.id} does not exist",
                    )
                )
        day = getattr(obj, "work_date", None) or getattr(obj, "expense_date", None)
        if day is not None:
            period = day.isoformat()[:7]
            status = self._client.request_json("GET", f"/periods/{period}").get("status")
            if status == "closed":
                problems.append(
                    Problem(
                        code=ProblemCode.PERIOD_CLOSED,
                        field="date",
                        message=f"accounting period {period} is closed",
                    )
                )
        return problems

    def health(self) -> Health:
        """One small read proves the URL and the token."""
        try:
            self._client.request_json("GET", "/employees", params={"limit": 1})
        except ErpsaError as exc:
            return Health(ok=False, message=f"{type(exc).__name__}: {exc}")
        return Health(ok=True, message="acmeerp reachable", details={"tenant": self.tenant})

    def close(self) -> None:
        self._client.close()
