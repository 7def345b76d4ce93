"""Pure mapping between Kantata records and the canonical objects, in both directions.

* workspace -> :class:`~erpsa_sdk.models.Project`, workspace group -> ``Customer``,
  story -> ``ProjectTask`` or ``Milestone``, user -> ``Resource``, workspace allocation ->
  ``Assignment``, time entry -> ``TimeEntry``, expense -> ``Expense``, invoice -> ``Invoice``.
* Amounts "in cents" are in the currency's base unit (``currency_base_unit``): a yen amount is
  whole yen, never divided by 100.
* Custom field values travel in ``extensions``, keyed by the custom field's name.

Readers call ``<type>_fields(record, ...)`` (vendor record -> canonical field dict, validated by
the page parser); writers call ``<type>_attrs(obj, refs)`` (canonical object -> the attributes
of the vendor's create / update body). No function here does I/O.

Examples:
    >>> rec = {"id": "7", "updated_at": "2026-01-05T09:00:00+00:00", "workspace_id": "3",
    ...        "user_id": "2", "story_id": None, "date_performed": "2026-01-05",
    ...        "time_in_minutes": 90, "billable": True, "notes": "", "rate_in_cents": 18000,
    ...        "cost_rate_in_cents": 9000, "currency": "JPY", "currency_base_unit": 1,
    ...        "approved": False, "is_invoiced": False}
    >>> from erpsa_sdk.models import TimeEntry
    >>> entry = TimeEntry.model_validate(time_entry_fields(rec, tenant="acme"))
    >>> entry.bill_rate, entry.duration_minutes
    (Money('18000', 'JPY'), 90)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from erpsa_sdk.models import (
    Customer,
    Expense,
    Milestone,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
    minor_units,
)

__all__ = [
    "SYSTEM",
    "allocation_fields",
    "cents_from_money",
    "custom_field_extensions",
    "customer_attrs",
    "expense_attrs",
    "expense_fields",
    "invoice_fields",
    "milestone_attrs",
    "money_from_cents",
    "project_attrs",
    "resource_attrs",
    "story_fields",
    "task_attrs",
    "time_entry_attrs",
    "time_entry_fields",
    "user_fields",
    "workspace_fields",
    "workspace_group_fields",
]

#: The ``system`` of every :class:`SourceRef` this connector produces.
SYSTEM = "kantata"

Record = Mapping[str, Any]

# Kantata's project status messages (``status.message``) -> ProjectStatus; anything else is
# passed through and becomes UNMAPPED with the raw value kept.
_PROJECT_STATUS = {
    "estimate": "proposed",
    "in planning": "proposed",
    "not started": "approved",
    "in progress": "active",
    "active": "active",
    "okay": "active",
    "on hold": "on_hold",
    "completed": "completed",
    "closed": "completed",
    "cancelled": "cancelled",
}
_TASK_STATE = {"not started": "open", "started": "in_progress", "completed": "done"}


def money_from_cents(value: Any, currency: str, base_unit: Any) -> Money | None:
    """Money from a Kantata ``*_in_cents`` integer and the record's ``currency_base_unit``.

    Without a base unit (a partial record) the currency's own applies (``10 ** minor
    units``), so a yen amount is never divided by 100.

    Examples:
        >>> money_from_cents(12345, "USD", 100), money_from_cents(4800, "JPY", 1)
        (Money('123.45', 'USD'), Money('4800', 'JPY'))
        >>> money_from_cents(4800, "JPY", None), money_from_cents(12345, "USD", None)
        (Money('4800', 'JPY'), Money('123.45', 'USD'))
        >>> money_from_cents(None, "USD", 100) is None
        True
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValueError(f"amount in cents must be a whole number, got {value!r}")
    cents = Decimal(value)
    if cents != cents.to_integral_value():
        raise ValueError(f"amount in cents must be a whole number, got {value!r}")
    if base_unit is None or base_unit == "":
        base_unit = 10 ** minor_units(currency)
    unit = Decimal(int(base_unit))
    if unit <= 0:
        raise ValueError(f"currency_base_unit must be positive, got {base_unit!r}")
    return Money(cents / unit, currency)


def cents_from_money(money: Money, base_unit: int | None = None) -> int:
    """The integer Kantata stores for ``money`` (``amount × currency_base_unit``), exactly.

    ``base_unit`` defaults to ``10 ** minor_units(currency)``. Raises ``ValueError`` when the
    amount has more precision than the currency's base unit can hold.

    Examples:
        >>> cents_from_money(Money("123.45", "USD")), cents_from_money(Money("4800", "JPY"))
        (12345, 4800)
    """
    unit = base_unit if base_unit is not None else 10 ** minor_units(money.currency)
    if unit <= 0:  # as the read path: a zero unit would write every amount as 0
        raise ValueError(f"currency_base_unit must be positive, got {unit!r}")
    scaled = money.amount * unit
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{money} cannot be expressed in units of 1/{unit} {money.currency}")
    return int(scaled)


def _ref(record: Record, tenant: str) -> dict[str, Any]:
    return {
        "system": SYSTEM,
        "tenant": tenant,
        "id": str(record["id"]),
        "version": record.get("updated_at"),
    }


def _id(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _day(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def custom_field_extensions(values: Iterable[Record]) -> dict[str, Any]:
    """``extensions`` from side-loaded custom field values (name -> value).

    Examples:
        >>> custom_field_extensions([{"custom_field_name": "Stripe ID", "value": "cus_1"}])
        {'Stripe ID': 'cus_1'}
    """
    return {str(v["custom_field_name"]): v.get("value") for v in values if "custom_field_name" in v}


def time_entry_fields(record: Record, *, tenant: str) -> dict[str, Any]:
    """Canonical ``TimeEntry`` fields of a Kantata time entry.

    Status: invoiced -> ``posted``, approved -> ``approved``, in a submission -> ``submitted``,
    otherwise ``draft``.

    Examples:
        >>> f = time_entry_fields({"id": "1", "workspace_id": "3", "user_id": "2",
        ...     "date_performed": "2026-01-05", "time_in_minutes": 30, "rate_in_cents": 2500,
        ...     "currency": "USD", "currency_base_unit": 100, "approved": True}, tenant="t")
        >>> f["status"], f["bill_rate"]
        ('approved', Money('25.00', 'USD'))
    """
    currency = str(record.get("currency") or "")
    unit = record.get("currency_base_unit")
    if record.get("is_invoiced"):
        status = "posted"
    elif record.get("approved"):
        status = "approved"
    elif record.get("active_submission_id"):
        status = "submitted"
    else:
        status = "draft"
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "resource_key": _id(record.get("user_id")),
        "project_key": _id(record.get("workspace_id")),
        "task_key": _id(record.get("story_id")),
        "work_date": record.get("date_performed"),
        "duration_minutes": record.get("time_in_minutes"),
        "billable": bool(record.get("billable", True)),
        "status": status,
        "description": record.get("notes") or None,
        "bill_rate": money_from_cents(record.get("rate_in_cents"), currency, unit),
        "cost_rate": money_from_cents(record.get("cost_rate_in_cents"), currency, unit),
    }


def expense_fields(record: Record, *, tenant: str) -> dict[str, Any]:
    """Canonical ``Expense`` fields of a Kantata expense (``amount_in_cents`` in base units).

    Examples:
        >>> expense_fields({"id": "5", "workspace_id": "3", "user_id": "2", "date": "2026-01-07",
        ...     "category": "Travel", "amount_in_cents": 4800, "currency": "JPY",
        ...     "currency_base_unit": 1}, tenant="t")["amount"]
        Money('4800', 'JPY')
    """
    currency = str(record.get("currency") or "")
    unit = record.get("currency_base_unit")
    if record.get("is_invoiced"):
        status = "posted"
    elif record.get("active_submission_id"):
        status = "submitted"
    else:
        status = "draft"
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "resource_key": _id(record.get("user_id")),
        "project_key": _id(record.get("workspace_id")),
        "task_key": _id(record.get("story_id")),
        "expense_date": record.get("date"),
        "category": record.get("category"),
        "amount": money_from_cents(record.get("amount_in_cents"), currency, unit),
        "billable": bool(record.get("is_billable", record.get("billable", True))),
        "reimbursable": bool(record.get("reimbursable", True)),
        "status": status,
        "description": record.get("notes") or None,
    }


def workspace_fields(
    record: Record, *, tenant: str, custom_fields: Iterable[Record] = ()
) -> dict[str, Any]:
    """Canonical ``Project`` fields of a workspace.

    ``customer_key`` is the primary workspace group, else the first of ``workspace_group_ids``
    (present when the read side-loads ``workspace_groups``). An archived workspace is
    ``completed`` unless its status says otherwise.

    Examples:
        >>> f = workspace_fields({"id": "3", "title": "Tokyo", "currency": "JPY",
        ...     "currency_base_unit": 1, "price_in_cents": 500000, "budgeted": True,
        ...     "status": {"message": "In Progress"}, "workspace_group_ids": ["9"]}, tenant="t")
        >>> f["status"], f["budget"], f["customer_key"]
        ('active', Money('500000', 'JPY'), '9')
    """
    currency = str(record.get("currency") or "")
    status_obj = record.get("status")
    message = str(status_obj.get("message", "")) if isinstance(status_obj, Mapping) else ""
    status = _PROJECT_STATUS.get(message.lower(), message or "active")
    if record.get("archived") and status in {"active", "approved"}:
        status = "completed"
    groups = record.get("workspace_group_ids") or []
    customer = _id(record.get("primary_workspace_group_id")) or (str(groups[0]) if groups else None)
    budget = None
    if record.get("budgeted") and record.get("price_in_cents"):
        budget = money_from_cents(
            record.get("price_in_cents"), currency, record.get("currency_base_unit")
        )
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "name": record.get("title"),
        "customer_key": customer,
        "manager_key": _id(record.get("primary_maven_id")),
        "status": status,
        "currency": currency,
        "budget": budget,
        "start_date": _day(record.get("start_date")),
        "end_date": _day(record.get("due_date")),
        "extensions": custom_field_extensions(custom_fields),
    }


def workspace_group_fields(
    record: Record, *, tenant: str, custom_fields: Iterable[Record] = ()
) -> dict[str, Any]:
    """Canonical ``Customer`` fields of a workspace group.

    Examples:
        >>> workspace_group_fields({"id": "9", "name": "Acme", "email": None}, tenant="t")["name"]
        'Acme'
    """
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "name": record.get("name"),
        "email": record.get("email") or None,
        "extensions": custom_field_extensions(custom_fields),
    }


def story_fields(
    record: Record, *, tenant: str, custom_fields: Iterable[Record] = ()
) -> tuple[type[ProjectTask] | type[Milestone], dict[str, Any]]:
    """``(ProjectTask | Milestone, fields)`` for a story, by its ``story_type``.

    Examples:
        >>> model, f = story_fields({"id": "4", "workspace_id": "3", "title": "Go-live",
        ...                          "story_type": "milestone", "state": "completed"}, tenant="t")
        >>> model.__name__, f["status"]
        ('Milestone', 'achieved')
    """
    state = str(record.get("state") or "")
    common = {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "project_key": _id(record.get("workspace_id")),
        "name": record.get("title"),
        "extensions": custom_field_extensions(custom_fields),
    }
    if record.get("story_type") == "milestone":
        return Milestone, {
            **common,
            "due_date": _day(record.get("due_date")),
            "status": "achieved" if state == "completed" else "planned",
        }
    return ProjectTask, {
        **common,
        "parent_task_key": _id(record.get("parent_id")),
        "billable": bool(record.get("billable", True)),
        "status": _TASK_STATE.get(state, state or "open"),
        "start_date": _day(record.get("start_date")),
        "end_date": _day(record.get("due_date")),
        "estimated_minutes": record.get("time_estimate_in_minutes"),
    }


def user_fields(
    record: Record, *, tenant: str, custom_fields: Iterable[Record] = ()
) -> dict[str, Any]:
    """Canonical ``Resource`` fields of a user.

    Examples:
        >>> user_fields({"id": "2", "full_name": "Ada", "email_address": "ada@example.com",
        ...              "disabled": True}, tenant="t")["active"]
        False
    """
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "name": record.get("full_name"),
        "email": record.get("email_address") or None,
        "active": not record.get("disabled", False),
        "extensions": custom_field_extensions(custom_fields),
    }


def allocation_fields(record: Record, *, tenant: str) -> dict[str, Any]:
    """Canonical ``Assignment`` fields of a workspace allocation (hard -> confirmed).

    Examples:
        >>> allocation_fields({"id": "8", "workspace_id": "3", "user_id": "2", "hard": False,
        ...     "start_date": "2026-01-05", "end_date": "2026-01-30", "minutes": 600},
        ...     tenant="t")["status"]
        'proposed'
    """
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "project_key": _id(record.get("workspace_id")),
        "resource_key": _id(record.get("user_id") or record.get("workspace_resource_id")),
        "status": "confirmed" if record.get("hard") else "proposed",
        "start_date": record.get("start_date"),
        "end_date": _day(record.get("end_date")),
        "planned_minutes": record.get("minutes"),
    }


_INVOICE_STATUS = {
    "new": "draft",
    "draft": "draft",
    "sent": "released",
    "accepted payment": "paid",
    "paid": "paid",
    "void": "void",
    "voided": "void",
}


def invoice_fields(
    record: Record, *, tenant: str, customer_key: str | None = None
) -> dict[str, Any]:
    """Canonical ``Invoice`` fields of an invoice (``balance_in_cents`` as the total).

    Kantata states one balance; subtotal = total, tax and discount zero. ``customer_key``
    comes from the workspace's group, which the reader resolves.

    Examples:
        >>> f = invoice_fields({"id": "10", "workspace_id": "3", "invoice_date": "2026-01-31",
        ...     "status": "new", "balance_in_cents": 79867, "currency": "USD",
        ...     "currency_base_unit": 100}, tenant="t", customer_key="9")
        >>> f["total"], f["status"]
        (Money('798.67', 'USD'), 'draft')
    """
    currency = str(record.get("currency") or "")
    unit = record.get("currency_base_unit")
    total = money_from_cents(record.get("balance_in_cents") or 0, currency, unit)
    zero = Money.zero(currency) if total is not None else None
    raw_status = str(record.get("status") or "")
    workspaces = record.get("workspace_ids") or []
    project = _id(record.get("workspace_id")) or (str(workspaces[0]) if workspaces else None)
    return {
        "key": str(record["id"]),
        "source_refs": [_ref(record, tenant)],
        "customer_key": customer_key or project,
        "project_key": project,
        "number": _id(record.get("user_invoice_number")),
        "currency": currency,
        "invoice_date": record.get("invoice_date"),
        "due_date": _day(record.get("due_date")),
        "status": _INVOICE_STATUS.get(raw_status.lower(), raw_status or "draft"),
        "subtotal": total,
        "tax_total": zero,
        "discount_total": zero,
        "total": total,
    }


# --------------------------------------------------------------- canonical -> Kantata


def _target(refs: Mapping[str, SourceRef], field: str, fallback: str | None) -> str | None:
    ref = refs.get(field)
    return ref.id if ref is not None else fallback


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_entry_attrs(
    obj: TimeEntry, refs: Mapping[str, SourceRef], *, base_unit: int | None = None
) -> dict[str, Any]:
    """The ``time_entry`` body attributes for ``obj``; references come from ``refs``.

    Rates are written in ``base_unit``, the workspace's ``currency_base_unit`` (default: the
    currency's ISO 4217 minor units), the unit Kantata reads them back in.

    Examples:
        >>> from datetime import date
        >>> te = TimeEntry(key="k", resource_key="r", project_key="p", work_date=date(2026, 1, 5),
        ...                duration_minutes=45, bill_rate=Money("180", "JPY"))
        >>> refs = {"project_key": SourceRef(system="kantata", tenant="t", id="3"),
        ...         "resource_key": SourceRef(system="kantata", tenant="t", id="2")}
        >>> a = time_entry_attrs(te, refs)
        >>> a["workspace_id"], a["user_id"], a["rate_in_cents"]
        ('3', '2', 180)
    """
    attrs: dict[str, Any] = {
        "workspace_id": _target(refs, "project_key", obj.project_key),
        "user_id": _target(refs, "resource_key", obj.resource_key),
        "story_id": _target(refs, "task_key", None),
        "date_performed": obj.work_date.isoformat(),
        "time_in_minutes": obj.duration_minutes,
        "billable": obj.billable,
        "notes": obj.description or "",
    }
    if obj.bill_rate is not None:
        attrs["rate_in_cents"] = cents_from_money(obj.bill_rate, base_unit)
    if obj.cost_rate is not None:
        attrs["cost_rate_in_cents"] = cents_from_money(obj.cost_rate, base_unit)
    return attrs


def expense_attrs(
    obj: Expense, refs: Mapping[str, SourceRef], *, base_unit: int | None = None
) -> dict[str, Any]:
    """The ``expense`` body attributes for ``obj`` (the amount in ``base_unit``, as for
    :func:`time_entry_attrs`).

    Examples:
        >>> from datetime import date
        >>> x = Expense(key="k", resource_key="r", project_key="p", expense_date=date(2026, 1, 7),
        ...             category="Travel", amount=Money("123.45", "USD"))
        >>> expense_attrs(x, {})["amount_in_cents"]
        12345
    """
    return {
        "workspace_id": _target(refs, "project_key", obj.project_key),
        "user_id": _target(refs, "resource_key", obj.resource_key),
        "story_id": _target(refs, "task_key", None),
        "date": obj.expense_date.isoformat(),
        "category": obj.category,
        "amount_in_cents": cents_from_money(obj.amount, base_unit),
        "notes": obj.description or "",
        "billable": obj.billable,
        "reimbursable": obj.reimbursable,
    }


def project_attrs(obj: Project, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
    """The ``workspace`` body attributes for ``obj`` (the customer as its workspace group).

    Examples:
        >>> p = Project(key="p", name="Tokyo move", currency="JPY")
        >>> a = project_attrs(p, {"customer_key": SourceRef(system="kantata", tenant="t", id="9")})
        >>> a["title"], a["currency"], a["workspace_group_ids"]
        ('Tokyo move', 'JPY', ['9'])
    """
    attrs: dict[str, Any] = {
        "title": obj.name,
        "currency": obj.currency,
        "start_date": _iso(obj.start_date),
        "due_date": _iso(obj.end_date),
    }
    customer = refs.get("customer_key")
    if customer is not None:
        attrs["workspace_group_ids"] = [customer.id]
    return attrs


def customer_attrs(obj: Customer, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
    """The ``workspace_group`` body attributes for ``obj`` (a company).

    Examples:
        >>> customer_attrs(Customer(key="c", name="Acme", email="ap@acme.test"), {})
        {'name': 'Acme', 'company': True, 'email': 'ap@acme.test'}
    """
    return {"name": obj.name, "company": True, "email": obj.email}


def task_attrs(obj: ProjectTask, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
    """The ``story`` body attributes for a task.

    Examples:
        >>> t = ProjectTask(key="t", project_key="p", name="Build", status="in_progress")
        >>> task_attrs(t, {})["state"]
        'started'
    """
    state = {"open": "not started", "in_progress": "started", "done": "completed"}
    attrs: dict[str, Any] = {
        "title": obj.name,
        "story_type": "task",
        "workspace_id": _target(refs, "project_key", obj.project_key),
        "parent_id": _target(refs, "parent_task_key", None),
        "start_date": _iso(obj.start_date),
        "due_date": _iso(obj.end_date),
        "billable": obj.billable,
        "state": state.get(obj.status.value, "not started"),
    }
    if obj.estimated_minutes is not None:
        attrs["time_estimate_in_minutes"] = obj.estimated_minutes
    return attrs


def milestone_attrs(obj: Milestone, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
    """The ``story`` body attributes for a milestone.

    Examples:
        >>> milestone_attrs(Milestone(key="m", project_key="p", name="Go-live"), {})["story_type"]
        'milestone'
    """
    return {
        "title": obj.name,
        "story_type": "milestone",
        "workspace_id": _target(refs, "project_key", obj.project_key),
        "due_date": _iso(obj.due_date),
        "state": "completed" if obj.status.value in {"achieved", "invoiced"} else "not started",
    }


def resource_attrs(obj: Resource, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
    """The ``user`` update attributes (users cannot be created through the API).

    Examples:
        >>> resource_attrs(Resource(key="r", name="Ada", email="ada@example.com"), {})
        {'full_name': 'Ada', 'email_address': 'ada@example.com'}
    """
    return {"full_name": obj.name, "email_address": obj.email}
