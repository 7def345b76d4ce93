"""NetSuite records <-> canonical objects: pure functions, both ways.

Reads come from SuiteQL rows (every value a string, dates in the explicit formats the reader
selected); writes go to the record service as REST bodies (camelCase fields, references as
``{"id": …}``). Durations are exact minutes both ways: ``"H:MM"`` and decimal hours are both
accepted on the way in and ``"H:MM"`` is written. Tenant custom fields (``custentity*``,
``custcol*``, ``custbody*``, ``custevent*``) travel in ``extensions`` under names the tenant's
:class:`TenantMapping` gives them.

Examples:
    >>> minutes_from_hours("7:30"), minutes_from_hours("0.25"), hours_to_vendor(95)
    (450, 15, '1:35')
    >>> tm = TenantMapping(account_id="1234567",
    ...                    custom_fields={"TimeEntry": {"custcol_workstream": "workstream"}})
    >>> row = {"id": "9", "lastmodified": "2026-03-02 10:00:00", "employee": "4",
    ...        "customer": "2", "trandate": "2026-03-02", "hours": "1.5",
    ...        "approvalstatus": "Approved", "custcol_workstream": "Data"}
    >>> entry = from_suiteql("TimeEntry", row, tm)
    >>> entry["duration_minutes"], entry["status"], entry["extensions"]
    (90, 'approved', {'workstream': 'Data'})
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.models import (
    Customer,
    Expense,
    Invoice,
    LegalEntity,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
    vendor_money,
)

__all__ = [
    "CUSTOM_FIELD_PREFIXES",
    "SPECS",
    "MappingError",
    "RecordSpec",
    "TenantMapping",
    "check_format",
    "from_suiteql",
    "hours_to_vendor",
    "minutes_from_hours",
    "parse_timestamp",
    "to_record",
]

#: Custom-field id prefixes NetSuite uses per record family.
CUSTOM_FIELD_PREFIXES = ("custentity", "custcol", "custbody", "custevent", "custrecord")
_CUSTOM = re.compile(r"^(custentity|custcol|custbody|custevent|custrecord)[a-z0-9_]+$")


class MappingError(ValueError):
    """A record cannot be mapped (the reader turns it into ``Rejected``, the writer refuses it).

    Examples:
        >>> MappingError("hours '1:75' is not a duration").args[0]
        "hours '1:75' is not a duration"
    """


def minutes_from_hours(value: Any) -> int:
    """Exact minutes from a NetSuite duration: ``"H:MM"``, or decimal hours as text or number.

    Decimal hours within half a second of a whole minute are that minute: NetSuite stores
    whole minutes, so such a decimal is a rounded rendering of a repeating fraction
    (``0.333333`` h is 20 min less 0.0012 s; any rendering with 4 or more decimals lands
    within 0.18 s). A decimal farther from a whole minute is a genuinely fractional duration
    and raises :class:`MappingError` (with 3 decimals or fewer, only exact minutes pass).

    Examples:
        >>> minutes_from_hours("4:00"), minutes_from_hours("0.333333"), minutes_from_hours(2)
        (240, 20, 120)
        >>> minutes_from_hours("0.3333333333"), minutes_from_hours("1.6667")
        (20, 100)
        >>> minutes_from_hours("0.01")
        Traceback (most recent call last):
        ...
        erpsa_netsuite.mapping.MappingError: hours '0.01' is not a whole number of minutes
    """
    if isinstance(value, str) and ":" in value:
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(minutes) < 60):
            raise MappingError(f"hours {value!r} is not a duration")
        return int(hours) * 60 + int(minutes)
    if isinstance(value, bool | float):
        raise MappingError(
            f"hours {value!r} must be text or an integer, not {type(value).__name__}"
        )
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError(f"hours {value!r} is not a duration") from None
    if not dec.is_finite() or dec < 0:
        raise MappingError(f"hours {value!r} is not a duration")
    minutes_exact = dec * 60
    nearest = minutes_exact.to_integral_value(rounding=ROUND_HALF_UP)
    # Within half a second: |exact - nearest| minutes * 120 <= 1 (exact, no 1/120 rounding).
    if abs(minutes_exact - nearest) * 120 <= 1:
        return int(nearest)
    raise MappingError(f"hours {value!r} is not a whole number of minutes")


def hours_to_vendor(minutes: int) -> str:
    """A duration as NetSuite writes it: ``"H:MM"``.

    Examples:
        >>> hours_to_vendor(450)
        '7:30'
    """
    return f"{minutes // 60}:{minutes % 60:02d}"


#: The default formats reads select with TO_CHAR (sortable as text, parsed on a fast path).
ISO_TIMESTAMP = "YYYY-MM-DD HH24:MI:SS"
ISO_DATE = "YYYY-MM-DD"

_ORACLE_TO_STRPTIME = (
    ("YYYY", "%Y"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("HH24", "%H"),
    ("MI", "%M"),
    ("SS", "%S"),
)


_FORMAT_TOKENS = re.compile(r"YYYY|HH24|MM|MI|DD|SS|[ \-:/.,]")
_REQUIRED_TOKENS = {
    "timestamp": ("YYYY", "MM", "DD", "HH24", "MI", "SS"),
    "date": ("YYYY", "MM", "DD"),
}


def check_format(fmt: str, *, kind: Literal["timestamp", "date"]) -> str:
    """``fmt`` if it is a ``TO_CHAR`` format the connector reads and parses, else
    :class:`~erpsa_sdk.errors.ConfigurationError`.

    The format is written into SuiteQL text, so only the elements ``YYYY MM DD HH24 MI SS``
    (each exactly once; the date elements only for ``kind="date"``) and the separators
    space ``- : / . ,`` are accepted: no quotes, no other format elements.

    Examples:
        >>> check_format("DD.MM.YYYY HH24:MI:SS", kind="timestamp")
        'DD.MM.YYYY HH24:MI:SS'
        >>> try:
        ...     check_format("YYYY-MM-DD') OR 1=1 --", kind="date")
        ... except ConfigurationError as exc:
        ...     print(str(exc).split(" may")[0])
        date format "YYYY-MM-DD') OR 1=1 --"
    """
    required = _REQUIRED_TOKENS[kind]
    tokens = _FORMAT_TOKENS.findall(fmt)
    elements = [t for t in tokens if t[0].isalpha()]
    if "".join(tokens) != fmt or sorted(elements) != sorted(required):
        raise ConfigurationError(
            f"{kind} format {fmt!r} may use only {' '.join(required)} and the separators "
            "space - : / . , (each element once, no quotes)"
        )
    return fmt


@lru_cache(maxsize=32)
def _strptime_format(oracle: str) -> str:
    out = oracle.replace('"', "")
    for a, b in _ORACLE_TO_STRPTIME:
        out = out.replace(a, b)
    return out


def parse_timestamp(text: str, fmt: str, tz: ZoneInfo) -> datetime:
    """Parse a timestamp selected with ``TO_CHAR(col, fmt)`` in the user's time zone.

    Examples:
        >>> parse_timestamp("2026-03-02 10:00:00", "YYYY-MM-DD HH24:MI:SS", ZoneInfo("UTC"))
        datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        if fmt == ISO_TIMESTAMP and len(text) == 19 and text[10] == " ":
            parsed = datetime.fromisoformat(text)  # the C fast path for the default format
        else:
            parsed = datetime.strptime(text, _strptime_format(fmt))
    except ValueError:
        raise MappingError(f"timestamp {text!r} does not match {fmt!r}") from None
    return parsed.replace(tzinfo=tz).astimezone(UTC)


def format_timestamp(value: datetime, fmt: str, tz: ZoneInfo) -> str:
    """The inverse of :func:`parse_timestamp` (for keyset parameters).

    Examples:
        >>> format_timestamp(datetime(2026, 3, 2, 10, tzinfo=UTC), "YYYY-MM-DD HH24:MI:SS",
        ...                  ZoneInfo("UTC"))
        '2026-03-02 10:00:00'
    """
    return value.astimezone(tz).strftime(_strptime_format(fmt))


@dataclass(frozen=True)
class TenantMapping:
    """One NetSuite account's mapping configuration.

    Parameters:
        account_id: the account (``SourceRef.tenant``).
        custom_fields: canonical type name -> {NetSuite field id -> extension name}.
        currencies: currency internal id -> ISO code (filled from the account's currency list).
        timestamp_format: the explicit format reads select timestamps with (``TO_CHAR``).
        date_format: the explicit format reads select dates with.
        timezone: the time zone NetSuite renders timestamps in (the user's preference).
        statuses: canonical type name -> {NetSuite status text -> canonical status}.

    Examples:
        >>> TenantMapping(account_id="1").extension_name("TimeEntry", "custcol_x") is None
        True
    """

    account_id: str
    custom_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    currencies: Mapping[str, str] = field(default_factory=dict)
    timestamp_format: str = "YYYY-MM-DD HH24:MI:SS"
    date_format: str = "YYYY-MM-DD"
    timezone: str = "UTC"
    statuses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    system: str = "netsuite"

    def __post_init__(self) -> None:
        # Both formats are written into SuiteQL text: refuse anything but format elements.
        check_format(self.timestamp_format, kind="timestamp")
        check_format(self.date_format, kind="date")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def extension_name(self, type_name: str, field_id: str) -> str | None:
        """The extension name of a custom field (``None`` when not mapped)."""
        return self.custom_fields.get(type_name, {}).get(field_id)

    def custom_field_ids(self, type_name: str) -> list[str]:
        """The custom field ids mapped for a canonical type."""
        return list(self.custom_fields.get(type_name, {}))

    def currency_code(self, currency_id: str | None) -> str | None:
        if currency_id is None:
            return None
        code = self.currencies.get(str(currency_id))
        if code is None:
            raise MappingError(f"currency id {currency_id} is not in the account's currency list")
        return code

    def currency_id(self, code: str | None) -> str | None:
        if code is None:
            return None
        for cid, c in self.currencies.items():
            if c == code:
                return cid
        raise MappingError(f"currency {code} is not enabled in NetSuite account {self.account_id}")

    def status(self, type_name: str, raw: str | None, default: Mapping[str, str]) -> str | None:
        if raw is None:
            return None
        table = {**default, **self.statuses.get(type_name, {})}
        return table.get(raw, raw)  # unknown: the canonical model keeps it as UNMAPPED


# --------------------------------------------------------------------------- specs


ToCanonical = Callable[[Mapping[str, str], TenantMapping], dict[str, Any]]
ToVendor = Callable[[Any, Mapping[str, SourceRef], TenantMapping], dict[str, Any]]


@dataclass(frozen=True)
class RecordSpec:
    """How one canonical type maps to one NetSuite record type.

    ``columns`` are the SuiteQL select items (explicit, dates through ``TO_CHAR``), keyed by
    the name the row carries; ``{ts}`` and ``{d}`` stand for the tenant's formats.

    Examples:
        >>> spec = SPECS["Expense"]
        >>> spec.record, spec.table, spec.ledger, spec.references["resource_key"]
        ('expenseReport', 'expensereport', 'ap', 'entity')
    """

    model: type[BaseModel]
    record: str  # REST record id
    table: str  # SuiteQL table
    columns: Mapping[str, str]
    to_canonical: ToCanonical
    to_vendor: ToVendor
    period_date: str | None = None  # canonical field dated in an accounting period
    ledger: str | None = None  # ar / ap / all
    references: Mapping[str, str] = field(default_factory=dict)  # canonical field -> REST field
    natural_keys: Mapping[str, str] = field(default_factory=dict)  # canonical -> SuiteQL column


def _ts(col: str) -> str:
    return f"TO_CHAR({col}, '{{ts}}')"


def _d(col: str) -> str:
    return f"TO_CHAR({col}, '{{d}}')"


def _opt(row: Mapping[str, str], key: str) -> str | None:
    value = row.get(key)
    return None if value in (None, "") else value


def _bool(row: Mapping[str, str], key: str, default: bool = False) -> bool:
    value = row.get(key)
    return default if value is None else value == "T"


def _date(row: Mapping[str, str], key: str, tm: TenantMapping) -> date | None:
    value = _opt(row, key)
    if value is None:
        return None
    try:
        if tm.date_format == ISO_DATE and len(value) == 10:
            return date.fromisoformat(value)
        return datetime.strptime(value, _strptime_format(tm.date_format)).date()
    except ValueError:
        raise MappingError(f"{key} {value!r} does not match {tm.date_format!r}") from None


def _base(row: Mapping[str, str], tm: TenantMapping, type_name: str) -> dict[str, Any]:
    rid = row.get("id")
    if not rid:
        raise MappingError("row has no id")
    modified = _opt(row, "lastmodified")
    version = None
    if modified is not None:
        version = parse_timestamp(modified, tm.timestamp_format, tm.tz).isoformat()
    extensions = {
        name: row[fid]
        for fid, name in tm.custom_fields.get(type_name, {}).items()
        if row.get(fid) not in (None, "")
    }
    return {
        "key": rid,
        "source_refs": [
            {"system": tm.system, "tenant": tm.account_id, "id": rid, "version": version}
        ],
        "extensions": extensions,
    }


def _custom_out(obj: Any, type_name: str, tm: TenantMapping) -> dict[str, Any]:
    # Every mapped field is sent, null when the source has no value, so a value removed at the
    # source is removed at the target too (an upsert only changes the fields it carries).
    out: dict[str, Any] = {}
    extensions: Mapping[str, Any] = getattr(obj, "extensions", {}) or {}
    for fid, name in tm.custom_fields.get(type_name, {}).items():
        value = extensions.get(name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[fid] = value
    return out


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _ref(refs: Mapping[str, SourceRef], name: str, required: bool = False) -> dict[str, str] | None:
    ref = refs.get(name)
    if ref is None:
        if required:
            raise MappingError(f"reference {name} was not resolved")
        return None
    return {"id": ref.id}


def _money_text(amount: Decimal) -> str:
    return format(amount, "f")


_TIME_STATUSES = {
    "Approved": "approved",
    "Pending Approval": "submitted",
    "Rejected": "rejected",
    "Open": "draft",
}
_TIME_STATUSES_OUT = {v: k for k, v in _TIME_STATUSES.items()}
_EXPENSE_STATUSES = {
    "Approved (Overridden) by Accounting": "approved",
    "Approved by Accounting": "approved",
    "Pending Accounting Approval": "submitted",
    "Pending Supervisor Approval": "submitted",
    "Rejected by Supervisor": "rejected",
    "Rejected by Accounting": "rejected",
    "In Progress": "draft",
    "Paid In Full": "reimbursed",
}
_PROJECT_STATUSES = {
    "In Progress": "active",
    "Not Awarded": "cancelled",
    "Closed": "completed",
    "Pending": "proposed",
    "Awarded": "approved",
    "On Hold": "on_hold",
}
_PROJECT_STATUSES_OUT = {v: k for k, v in _PROJECT_STATUSES.items()}
_TASK_STATUSES = {"Not Started": "open", "In Progress": "in_progress", "Completed": "done"}
_TASK_STATUSES_OUT = {v: k for k, v in _TASK_STATUSES.items()}
_INVOICE_STATUSES = {
    "Open": "posted",
    "Paid In Full": "paid",
    "Voided": "void",
    "Pending Approval": "draft",
}


# -- TimeEntry <-> timebill ---------------------------------------------------


def _time_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "TimeEntry")
    if not row.get("employee") or not row.get("customer"):
        raise MappingError("timebill needs an employee and a customer (project)")
    hours = row.get("hours")
    if hours is None:
        raise MappingError("timebill has no hours")
    out.update(
        resource_key=row["employee"],
        project_key=row["customer"],
        task_key=_opt(row, "casetaskevent"),
        work_date=_date(row, "trandate", tm),
        duration_minutes=minutes_from_hours(hours),
        billable=_bool(row, "isbillable", True),
        status=tm.status("TimeEntry", _opt(row, "approvalstatus"), _TIME_STATUSES) or "draft",
        description=_opt(row, "memo"),
    )
    return out


def _time_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    entry: TimeEntry = obj
    body: dict[str, Any] = {
        "employee": _ref(refs, "resource_key", required=True),
        "customer": _ref(refs, "project_key", required=True),
        "tranDate": entry.work_date.isoformat(),
        "hours": hours_to_vendor(entry.duration_minutes),
        "isBillable": entry.billable,
    }
    # Optional fields go out as null when empty: an upsert must clear what the source cleared.
    body["caseTaskEvent"] = _ref(refs, "task_key")
    body["memo"] = entry.description
    status = _TIME_STATUSES_OUT.get(entry.status.value)
    if status is not None:
        body["approvalStatus"] = status
    body.update(_custom_out(entry, "TimeEntry", tm))
    return body


# -- Customer <-> customer ----------------------------------------------------


def _customer_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "Customer")
    out.update(
        name=row.get("companyname") or row.get("entityid"),
        email=_opt(row, "email"),
        currency=tm.currency_code(_opt(row, "currency")),
        parent_key=_opt(row, "parent"),
        legal_entity_key=_opt(row, "subsidiary"),
        active=not _bool(row, "isinactive"),
    )
    return out


def _customer_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    cust: Customer = obj
    body: dict[str, Any] = {"companyName": cust.name, "isInactive": not cust.active}
    body["email"] = cust.email
    body["subsidiary"] = _ref(refs, "legal_entity_key", required=True)
    if cust.currency is not None:
        body["currency"] = {"id": tm.currency_id(cust.currency)}
    body["parent"] = _ref(refs, "parent_key")
    body.update(_custom_out(cust, "Customer", tm))
    return body


# -- LegalEntity <-> subsidiary ------------------------------------------------


def _subsidiary_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "LegalEntity")
    out.update(
        name=row.get("name"),
        base_currency=tm.currency_code(_opt(row, "currency")),
        country=_opt(row, "country"),
    )
    return out


def _subsidiary_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    le: LegalEntity = obj
    body: dict[str, Any] = {"name": le.name, "currency": {"id": tm.currency_id(le.base_currency)}}
    if le.country is not None:
        body["country"] = le.country
    body.update(_custom_out(le, "LegalEntity", tm))
    return body


# -- Resource <-> employee -----------------------------------------------------


def _employee_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "Resource")
    name = " ".join(p for p in (_opt(row, "firstname"), _opt(row, "lastname")) if p)
    out.update(
        name=name or row.get("entityid"),
        email=_opt(row, "email"),
        role=_opt(row, "title"),
        legal_entity_key=_opt(row, "subsidiary"),
        manager_key=_opt(row, "supervisor"),
        start_date=_date(row, "hiredate", tm),
        end_date=_date(row, "releasedate", tm),
        active=not _bool(row, "isinactive"),
    )
    return out


def _employee_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    res: Resource = obj
    first, _, last = res.name.partition(" ")
    body: dict[str, Any] = {
        "firstName": first,
        "lastName": last or first,
        "isInactive": not res.active,
        "subsidiary": _ref(refs, "legal_entity_key", required=True),
    }
    body["email"] = res.email
    body["title"] = res.role
    body["hireDate"] = _iso(res.start_date)
    body["releaseDate"] = _iso(res.end_date)
    body["supervisor"] = _ref(refs, "manager_key")
    body.update(_custom_out(res, "Resource", tm))
    return body


# -- Project <-> job -------------------------------------------------------------


def _job_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "Project")
    out.update(
        name=row.get("companyname"),
        code=_opt(row, "entityid"),
        customer_key=_opt(row, "parent"),
        legal_entity_key=_opt(row, "subsidiary"),
        manager_key=_opt(row, "projectmanager"),
        currency=tm.currency_code(_opt(row, "currency")),
        status=tm.status("Project", _opt(row, "entitystatus"), _PROJECT_STATUSES) or "active",
        start_date=_date(row, "startdate", tm),
        end_date=_date(row, "projectedenddate", tm),
    )
    return out


def _job_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    proj: Project = obj
    # The job's customer cannot be written through REST (documented): declared `optional`.
    body: dict[str, Any] = {
        "companyName": proj.name,
        "subsidiary": _ref(refs, "legal_entity_key", required=True),
        "currency": {"id": tm.currency_id(proj.currency)},
    }
    if proj.code is not None:
        body["entityId"] = proj.code
    body["startDate"] = _iso(proj.start_date)
    body["projectedEndDate"] = _iso(proj.end_date)
    status = _PROJECT_STATUSES_OUT.get(proj.status.value)
    if status is not None:
        body["entityStatus"] = status
    body["projectManager"] = _ref(refs, "manager_key")
    body.update(_custom_out(proj, "Project", tm))
    return body


# -- ProjectTask <-> projectTask ---------------------------------------------------


def _task_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "ProjectTask")
    planned = _opt(row, "plannedwork")
    out.update(
        project_key=row.get("project"),
        parent_task_key=_opt(row, "parent"),
        name=row.get("title"),
        status=tm.status("ProjectTask", _opt(row, "status"), _TASK_STATUSES) or "open",
        start_date=_date(row, "startdate", tm),
        end_date=_date(row, "enddate", tm),
        estimated_minutes=None if planned is None else minutes_from_hours(planned),
    )
    return out


def _task_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    task: ProjectTask = obj
    body: dict[str, Any] = {
        "title": task.name,
        "company": _ref(refs, "project_key", required=True),
    }
    body["parent"] = _ref(refs, "parent_task_key")
    body["startDate"] = _iso(task.start_date)
    body["endDate"] = _iso(task.end_date)
    minutes = task.estimated_minutes
    body["plannedWork"] = None if minutes is None else hours_to_vendor(minutes)
    status = _TASK_STATUSES_OUT.get(task.status.value)
    if status is not None:
        body["status"] = status
    body.update(_custom_out(task, "ProjectTask", tm))
    return body


# -- Expense <-> expenseReport -------------------------------------------------------


def _expense_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "Expense")
    currency = tm.currency_code(_opt(row, "currency"))
    if currency is None or row.get("total") is None:
        raise MappingError("expense report needs a currency and a total")
    out.update(
        resource_key=row.get("entity"),
        project_key=row.get("job"),
        expense_date=_date(row, "trandate", tm),
        category=row.get("category") or "Uncategorized",
        amount=vendor_money(row["total"], currency),
        billable=_bool(row, "isbillable", True),
        status=tm.status("Expense", _opt(row, "status"), _EXPENSE_STATUSES) or "draft",
        description=_opt(row, "memo"),
    )
    return out


def _expense_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    exp: Expense = obj
    body: dict[str, Any] = {
        "entity": _ref(refs, "resource_key", required=True),
        "job": _ref(refs, "project_key", required=True),
        "tranDate": exp.expense_date.isoformat(),
        "currency": {"id": tm.currency_id(exp.amount.currency)},
        "total": _money_text(exp.amount.amount),
        "category": exp.category,
        "isBillable": exp.billable,
    }
    body["memo"] = exp.description
    body.update(_custom_out(exp, "Expense", tm))
    return body


# -- Invoice <-> invoice (read; writes are declared unsupported) ------------------------


def _invoice_in(row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    out = _base(row, tm, "Invoice")
    currency = tm.currency_code(_opt(row, "currency"))
    if currency is None:
        raise MappingError("invoice has no currency")

    def money(key: str) -> Any:
        return vendor_money(row.get(key) or "0", currency)

    out.update(
        customer_key=row.get("entity"),
        project_key=_opt(row, "job"),
        legal_entity_key=_opt(row, "subsidiary"),
        number=_opt(row, "tranid"),
        currency=currency,
        invoice_date=_date(row, "trandate", tm),
        due_date=_date(row, "duedate", tm),
        status=tm.status("Invoice", _opt(row, "status"), _INVOICE_STATUSES) or "draft",
        subtotal=money("subtotal"),
        tax_total=money("taxtotal"),
        discount_total=money("discounttotal"),
        total=money("total"),
    )
    return out


def _invoice_out(obj: Any, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    raise MappingError("writing invoices to NetSuite is not supported by this connector")


_COMMON = {"id": "id", "lastmodified": _ts("lastmodifieddate")}

SPECS: dict[str, RecordSpec] = {
    "TimeEntry": RecordSpec(
        TimeEntry,
        "timebill",
        "timebill",
        {
            **_COMMON,
            "employee": "employee",
            "customer": "customer",
            "casetaskevent": "casetaskevent",
            "trandate": _d("trandate"),
            "hours": "hours",
            "memo": "memo",
            "isbillable": "isbillable",
            "approvalstatus": "approvalstatus",
        },
        _time_in,
        _time_out,
        period_date="work_date",
        ledger="all",
        references={
            "resource_key": "employee",
            "project_key": "customer",
            "task_key": "caseTaskEvent",
        },
    ),
    "Customer": RecordSpec(
        Customer,
        "customer",
        "customer",
        {
            **_COMMON,
            "entityid": "entityid",
            "companyname": "companyname",
            "email": "email",
            "currency": "currency",
            "subsidiary": "subsidiary",
            "isinactive": "isinactive",
            "parent": "parent",
        },
        _customer_in,
        _customer_out,
        references={"legal_entity_key": "subsidiary", "parent_key": "parent"},
        natural_keys={"name": "companyname", "email": "email"},
    ),
    "LegalEntity": RecordSpec(
        LegalEntity,
        "subsidiary",
        "subsidiary",
        {**_COMMON, "name": "name", "currency": "currency", "country": "country"},
        _subsidiary_in,
        _subsidiary_out,
        natural_keys={"name": "name", "country": "country"},
    ),
    "Resource": RecordSpec(
        Resource,
        "employee",
        "employee",
        {
            **_COMMON,
            "entityid": "entityid",
            "firstname": "firstname",
            "lastname": "lastname",
            "email": "email",
            "title": "title",
            "subsidiary": "subsidiary",
            "isinactive": "isinactive",
            "supervisor": "supervisor",
            "hiredate": _d("hiredate"),
            "releasedate": _d("releasedate"),
        },
        _employee_in,
        _employee_out,
        references={"legal_entity_key": "subsidiary", "manager_key": "supervisor"},
        natural_keys={"email": "email"},
    ),
    "Project": RecordSpec(
        Project,
        "job",
        "job",
        {
            **_COMMON,
            "entityid": "entityid",
            "companyname": "companyname",
            "parent": "parent",
            "subsidiary": "subsidiary",
            "currency": "currency",
            "entitystatus": "entitystatus",
            "startdate": _d("startdate"),
            "projectedenddate": _d("projectedenddate"),
            "projectmanager": "projectmanager",
        },
        _job_in,
        _job_out,
        references={
            "legal_entity_key": "subsidiary",
            "customer_key": "parent",
            "manager_key": "projectManager",
        },
        natural_keys={"code": "entityid", "name": "companyname"},
    ),
    "ProjectTask": RecordSpec(
        ProjectTask,
        "projectTask",
        "projecttask",
        {
            **_COMMON,
            "title": "title",
            "project": "project",
            "status": "status",
            "startdate": _d("startdatetime"),
            "enddate": _d("enddate"),
            "plannedwork": "plannedwork",
            "parent": "parent",
        },
        _task_in,
        _task_out,
        references={"project_key": "company", "parent_task_key": "parent"},
        natural_keys={"name": "title"},
    ),
    "Expense": RecordSpec(
        Expense,
        "expenseReport",
        "expensereport",
        {
            **_COMMON,
            "entity": "entity",
            "job": "job",
            "trandate": _d("trandate"),
            "currency": "currency",
            "total": "total",
            "category": "category",
            "memo": "memo",
            "isbillable": "isbillable",
            "status": "status",
        },
        _expense_in,
        _expense_out,
        period_date="expense_date",
        ledger="ap",
        references={"resource_key": "entity", "project_key": "job"},
    ),
    "Invoice": RecordSpec(
        Invoice,
        "invoice",
        "invoice",
        {
            **_COMMON,
            "entity": "entity",
            "job": "job",
            "subsidiary": "subsidiary",
            "tranid": "tranid",
            "currency": "currency",
            "trandate": _d("trandate"),
            "duedate": _d("duedate"),
            "status": "status",
            "subtotal": "subtotal",
            "taxtotal": "taxtotal",
            "discounttotal": "discounttotal",
            "total": "total",
        },
        _invoice_in,
        _invoice_out,
        period_date="invoice_date",
        ledger="ar",
    ),
}


def spec_for(type_name: str) -> RecordSpec:
    """The :class:`RecordSpec` of a canonical type name; ``MappingError`` if unmapped.

    Examples:
        >>> spec_for("TimeEntry").record
        'timebill'
    """
    try:
        return SPECS[type_name]
    except KeyError:
        raise MappingError(f"NetSuite has no mapping for {type_name}") from None


def select_list(spec: RecordSpec, tm: TenantMapping, type_name: str) -> str:
    """The explicit SuiteQL select list of a type, custom fields included.

    Examples:
        >>> select_list(SPECS["LegalEntity"], TenantMapping(account_id="1"), "LegalEntity")[:40]
        "id AS id, TO_CHAR(lastmodifieddate, 'YYY"
    """
    items = [
        f"{expr.format(ts=tm.timestamp_format, d=tm.date_format)} AS {alias}"
        for alias, expr in spec.columns.items()
    ]
    for fid in tm.custom_field_ids(type_name):
        if not _CUSTOM.match(fid):
            raise MappingError(f"{fid!r} is not a NetSuite custom field id")
        items.append(f"{fid} AS {fid}")
    return ", ".join(items)


def from_suiteql(type_name: str, row: Mapping[str, str], tm: TenantMapping) -> dict[str, Any]:
    """A SuiteQL row as the canonical object's fields (validated later by the model).

    Raises :class:`MappingError` for a row no model could accept (bad duration, date format).

    Examples:
        >>> tm = TenantMapping(account_id="1", currencies={"1": "USD"})
        >>> fields = from_suiteql("LegalEntity", {"id": "1", "name": "Acme", "currency": "1"}, tm)
        >>> fields["base_currency"], fields["source_refs"][0]["id"]
        ('USD', '1')
    """
    return spec_for(type_name).to_canonical(row, tm)


def to_record(obj: BaseModel, refs: Mapping[str, SourceRef], tm: TenantMapping) -> dict[str, Any]:
    """A canonical object as the REST body of its NetSuite record (``externalId`` excluded).

    Examples:
        >>> from datetime import date
        >>> from erpsa_sdk.models import TimeEntry, SourceRef
        >>> e = TimeEntry(key="t", resource_key="r", project_key="p", work_date=date(2026, 3, 2),
        ...               duration_minutes=95, status="approved")
        >>> refs = {"resource_key": SourceRef(system="netsuite", tenant="1", id="4"),
        ...         "project_key": SourceRef(system="netsuite", tenant="1", id="2")}
        >>> body = to_record(e, refs, TenantMapping(account_id="1"))
        >>> body["hours"], body["employee"], body["approvalStatus"]
        ('1:35', {'id': '4'}, 'Approved')
    """
    return spec_for(type(obj).__name__).to_vendor(obj, refs, tm)
