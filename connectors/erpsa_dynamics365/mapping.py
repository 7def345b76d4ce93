"""Mapping between Dataverse rows and canonical objects (pure functions, no I/O).

* Reads: :func:`from_row` reshapes one row (as the Web API returns it: lookups as
  ``_x_value``, the currency expanded) into the input of a canonical model; the pager's
  validator then builds the object, or a :class:`~erpsa_sdk.models.Rejected`.
* Writes: :func:`to_row` builds the PATCH body: plain columns, lookups as
  ``"<nav>@odata.bind": "/<set>(<id>)"``, option-set codes from explicit tables.
* Option sets go through :class:`OptionSet` tables both ways; a code the table does not know
  is kept as the raw status (the canonical model marks it ``unmapped``), and a canonical value
  without a code is refused on write (never a default).
* Tenant custom columns (publisher-prefixed, e.g. ``contoso_tier``) travel as
  ``extensions`` by per-tenant configuration (:attr:`TenantMapping.extensions`).

Examples:
    >>> m = TenantMapping(currencies={"c1": "USD"})
    >>> row = {"accountid": "a1", "name": "Fabrikam", "statecode": 0,
    ...        "_transactioncurrencyid_value": "c1", "modifiedon": "2026-01-05T10:00:00Z"}
    >>> data = from_row("Customer", row, m, tenant="org1")
    >>> data["name"], data["currency"], data["active"], data["source_refs"][0]["id"]
    ('Fabrikam', 'USD', True, 'a1')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from erpsa_dynamics365._schema import TABLES, TableSpec
from erpsa_sdk.errors import ConfigurationError, ValidationFailed
from erpsa_sdk.models import (
    Customer,
    Expense,
    Invoice,
    LegalEntity,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
    vendor_money,
)
from erpsa_sdk.models.money import quantize_amount
from erpsa_sdk.models.project import Assignment

__all__ = [
    "EXPENSE_STATUS",
    "INVOICE_STATE",
    "PROJECT_STATE",
    "RESOURCE_TYPE",
    "SYSTEM",
    "TIME_ENTRY_STATUS",
    "TIME_ENTRY_TYPE_WORK",
    "TYPE_TABLES",
    "OptionSet",
    "TenantMapping",
    "from_row",
    "select_columns",
    "table_for",
    "to_row",
]

SYSTEM = "dynamics365"

#: canonical type -> Dataverse table
TYPE_TABLES: dict[str, str] = {
    "Customer": "account",
    "LegalEntity": "cdm_company",
    "Resource": "bookableresource",
    "Project": "msdyn_project",
    "ProjectTask": "msdyn_projecttask",
    "Assignment": "msdyn_resourceassignment",
    "TimeEntry": "msdyn_timeentry",
    "Expense": "msdyn_expense",
    "Invoice": "invoice",
}

_PUBLISHER_COLUMN = re.compile(r"^[a-z][a-z0-9]{1,7}_[a-z0-9_]+$")
_SYSTEM_PREFIXES = ("msdyn_", "cdm_", "adx_", "mspp_", "msdynce_")


@dataclass(frozen=True)
class OptionSet:
    """An explicit option-set table: Dataverse integer codes <-> canonical values.

    ``write`` says which code a canonical value is written as (several codes may read as
    one value). A code missing from ``read`` reads as its raw number (``unmapped``); a value
    missing from ``write`` cannot be written.

    Examples:
        >>> s = OptionSet("demo", {1: "active", 2: "closed", 3: "closed"}, {"closed": 2})
        >>> s.canonical(3), s.canonical(9), s.code("closed")
        ('closed', '9', 2)
        >>> s.code("paused")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ValidationFailed: demo has no option value for 'paused' [...]
    """

    name: str
    read: Mapping[int, str]
    write: Mapping[str, int] = field(default_factory=dict)

    def canonical(self, code: Any) -> str | None:
        """The canonical value of ``code`` (its text when the table does not know it).

        Examples:
            >>> RESOURCE_TYPE.canonical(3), RESOURCE_TYPE.canonical(None)
            ('employee', None)
        """
        if code is None:
            return None
        try:
            return self.read.get(int(code), str(code))
        except (TypeError, ValueError):
            return str(code)

    def code(self, value: str) -> int:
        """The code ``value`` is written as; :class:`ValidationFailed` when there is none.

        Examples:
            >>> TIME_ENTRY_STATUS.code("submitted")
            192350003
        """
        table = self.write or {v: k for k, v in reversed(list(self.read.items()))}
        if value not in table:
            raise ValidationFailed(
                f"{self.name} has no option value for {value!r}", vendor_code="UNMAPPED_OPTION"
            )
        return table[value]


#: ``msdyn_timeentry.msdyn_entrystatus`` (entity reference: Draft, Returned, Approved,
#: Submitted, Recall Requested).
TIME_ENTRY_STATUS = OptionSet(
    "msdyn_timeentry.msdyn_entrystatus",
    {
        192350000: "draft",
        192350001: "rejected",
        192350002: "approved",
        192350003: "submitted",
        192350004: "submitted",
    },
    {"draft": 192350000, "rejected": 192350001, "approved": 192350002, "submitted": 192350003},
)
#: ``msdyn_timeentry.msdyn_type`` Work (Absence and Vacation are not project time).
TIME_ENTRY_TYPE_WORK = 192350000
#: ``msdyn_expense.msdyn_expensestatus`` [unverified codes: configuration].
EXPENSE_STATUS = OptionSet(
    "msdyn_expense.msdyn_expensestatus",
    {
        192350000: "draft",
        192350002: "submitted",
        192350003: "approved",
        192350004: "rejected",
        192350005: "posted",
        192350006: "reimbursed",
    },
)
#: ``msdyn_project.statecode`` (0 Active, 1 Inactive).
PROJECT_STATE = OptionSet("msdyn_project.statecode", {0: "active", 1: "completed"})
#: ``invoice.statecode`` (0 Active, 1 Closed, 2 Paid, 3 Canceled).
INVOICE_STATE = OptionSet("invoice.statecode", {0: "draft", 1: "posted", 2: "paid", 3: "void"})
#: ``bookableresource.resourcetype`` (1 Generic, 2 Contact, 3 User, ...).
RESOURCE_TYPE = OptionSet(
    "bookableresource.resourcetype", {1: "placeholder", 2: "contractor", 3: "employee"}
)


@dataclass(frozen=True)
class TenantMapping:
    """Per-tenant mapping configuration.

    Parameters:
        currencies: ``transactioncurrencyid`` -> ISO code (the client loads it once).
        expense_categories: ``msdyn_expensecategoryid`` -> category name.
        option_sets: overrides of the default option-set tables, by table name.
        extensions: canonical type -> {extension name: publisher-prefixed column}.
        resource_email_column: the bookable-resource column matched as ``email``.

    Examples:
        >>> TenantMapping(extensions={"Customer": {"tier": "contoso_tier"}}).extension_columns(
        ...     "Customer")
        {'tier': 'contoso_tier'}
        >>> TenantMapping(extensions={"Customer": {"tier": "msdyn_tier"}})
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: extension column 'msdyn_tier' must carry the tenant's publisher prefix (not a system prefix)
    """  # noqa: E501

    currencies: Mapping[str, str] = field(default_factory=dict)
    expense_categories: Mapping[str, str] = field(default_factory=dict)
    option_sets: Mapping[str, OptionSet] = field(default_factory=dict)
    extensions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    resource_email_column: str = "msdyn_primaryemail"

    def __post_init__(self) -> None:
        for type_name, columns in self.extensions.items():
            if type_name not in TYPE_TABLES:
                raise ConfigurationError(f"extensions for unknown type {type_name!r}")
            for column in columns.values():
                if not _PUBLISHER_COLUMN.match(column) or column.startswith(_SYSTEM_PREFIXES):
                    raise ConfigurationError(
                        f"extension column {column!r} must carry the tenant's publisher "
                        "prefix (not a system prefix)"
                    )

    def options(self, default: OptionSet) -> OptionSet:
        """The tenant's table for ``default.name`` (or the default).

        Examples:
            >>> TenantMapping().options(PROJECT_STATE) is PROJECT_STATE
            True
        """
        return self.option_sets.get(default.name, default)

    def extension_columns(self, type_name: str) -> dict[str, str]:
        """{extension name: column} configured for ``type_name``.

        Examples:
            >>> TenantMapping().extension_columns("Customer")
            {}
        """
        return dict(self.extensions.get(type_name, {}))

    def currency_id(self, iso: str) -> str:
        """The ``transactioncurrencyid`` of an ISO code (``ValidationFailed`` when absent).

        Examples:
            >>> TenantMapping(currencies={"c1": "EUR"}).currency_id("EUR")
            'c1'
        """
        for guid, code in self.currencies.items():
            if code == iso:
                return guid
        raise ValidationFailed(
            f"currency {iso} is not enabled in this environment", vendor_code="UNKNOWN_CURRENCY"
        )

    def category_id(self, name: str) -> str:
        """The expense category id of ``name`` (``ValidationFailed`` when absent).

        Examples:
            >>> TenantMapping(expense_categories={"k1": "Travel"}).category_id("travel")
            'k1'
        """
        for guid, label in self.expense_categories.items():
            if label.casefold() == name.casefold():
                return guid
        raise ValidationFailed(
            f"expense category {name!r} does not exist", vendor_code="UNKNOWN_CATEGORY"
        )


def table_for(type_name: str) -> TableSpec:
    """The table behind a canonical type (``ConfigurationError`` when there is none).

    Examples:
        >>> table_for("TimeEntry").entity_set
        'msdyn_timeentries'
    """
    try:
        return TABLES[TYPE_TABLES[type_name]]
    except KeyError:
        raise ConfigurationError(f"dynamics365 maps no table for {type_name}") from None


def select_columns(type_name: str, mapping: TenantMapping) -> tuple[str, ...]:
    """The ``$select`` of a read: the table's columns plus configured extension columns.

    Examples:
        >>> "contoso_tier" in select_columns("Customer", TenantMapping(
        ...     extensions={"Customer": {"tier": "contoso_tier"}}))
        True
    """
    spec = table_for(type_name)
    return (*spec.all_columns, *mapping.extension_columns(type_name).values())


def _date(value: Any) -> str | None:
    # DateOnly comes as "2026-01-02"; DateTime as "2026-01-02T00:00:00Z".
    if value in (None, ""):
        return None
    return str(value)[:10]


def _money(value: Any, currency: str | None) -> Money | None:
    if value is None:
        return None
    if currency is None:
        raise ValueError("amount without a transaction currency")
    return vendor_money(value, currency)


def _currency(row: Mapping[str, Any], mapping: TenantMapping) -> str | None:
    expanded = row.get("transactioncurrencyid")
    if isinstance(expanded, Mapping) and expanded.get("isocurrencycode"):
        return str(expanded["isocurrencycode"])
    guid = row.get("_transactioncurrencyid_value")
    if guid is None:
        return None
    if guid not in mapping.currencies:
        raise ValueError(f"unknown transactioncurrencyid {guid}")
    return mapping.currencies[guid]


def _active(row: Mapping[str, Any]) -> bool:
    return row.get("statecode", 0) in (0, None)


def from_row(
    type_name: str, row: Mapping[str, Any], mapping: TenantMapping, *, tenant: str
) -> dict[str, Any]:
    """One Dataverse row as the input of the canonical model ``type_name``.

    Raises ``ValueError`` for a row that cannot be mapped (the pager turns it into a
    :class:`~erpsa_sdk.models.Rejected`).

    Examples:
        >>> row = {"msdyn_timeentryid": "t1", "msdyn_date": "2026-03-02", "msdyn_duration": 90,
        ...        "msdyn_entrystatus": 192350003, "_msdyn_bookableresource_value": "r1",
        ...        "_msdyn_project_value": "p1", "_msdyn_projecttask_value": None,
        ...        "modifiedon": "2026-03-02T18:00:00Z"}
        >>> d = from_row("TimeEntry", row, TenantMapping(), tenant="org1")
        >>> d["duration_minutes"], d["status"], d["task_key"], d["source_refs"][0]["version"]
        (90, 'submitted', None, '2026-03-02T18:00:00Z')
    """
    try:
        return _from_row(type_name, row, mapping, tenant)
    except (KeyError, TypeError, InvalidOperation, ValidationFailed) as exc:
        raise ValueError(f"cannot map {type_name} row: {exc}") from None


def _from_row(
    type_name: str, row: Mapping[str, Any], mapping: TenantMapping, tenant: str
) -> dict[str, Any]:
    spec = table_for(type_name)
    rid = str(row[spec.pk])
    out: dict[str, Any] = {
        "key": rid,
        "source_refs": [
            {"system": SYSTEM, "tenant": tenant, "id": rid, "version": row.get("modifiedon")}
        ],
    }
    ext = {
        name: row[col]
        for name, col in mapping.extension_columns(type_name).items()
        if row.get(col) is not None
    }
    if ext:
        out["extensions"] = ext
    if type_name == "Customer":
        out |= {
            "name": row.get("name"),
            "currency": _currency(row, mapping),
            "email": row.get("emailaddress1"),
            "parent_key": row.get("_parentaccountid_value"),
            "active": _active(row),
        }
    elif type_name == "LegalEntity":
        out |= {"name": row.get("cdm_name"), "base_currency": _currency(row, mapping)}
    elif type_name == "Resource":
        out |= {
            "name": row.get("name"),
            "email": row.get(mapping.resource_email_column),
            "resource_type": mapping.options(RESOURCE_TYPE).canonical(row.get("resourcetype")),
            "active": _active(row),
        }
    elif type_name == "Project":
        out |= {
            "name": row.get("msdyn_subject"),
            "customer_key": row.get("_msdyn_customer_value"),
            "legal_entity_key": row.get("_msdyn_contractorganizationalunitid_value"),
            "status": mapping.options(PROJECT_STATE).canonical(row.get("statecode", 0)),
            "currency": _currency(row, mapping),
            "start_date": _date(row.get("msdyn_scheduledstart")),
            "end_date": _date(row.get("msdyn_finish")),
        }
    elif type_name == "ProjectTask":
        effort = row.get("msdyn_effort")
        out |= {
            "project_key": row.get("_msdyn_project_value"),
            "name": row.get("msdyn_subject"),
            "parent_task_key": row.get("_msdyn_parenttask_value"),
            "start_date": _date(row.get("msdyn_scheduledstart")),
            "end_date": _date(row.get("msdyn_scheduledend")),
            "estimated_minutes": _hours_to_minutes(effort),
            "status": "open" if _active(row) else "completed",
        }
    elif type_name == "Assignment":
        out |= {
            "project_key": row.get("_msdyn_projectid_value"),
            "resource_key": row.get("_msdyn_bookableresourceid_value"),
            "task_key": row.get("_msdyn_taskid_value"),
            "start_date": _date(row.get("msdyn_fromdate")),
            "end_date": _date(row.get("msdyn_todate")),
            "planned_minutes": _hours_to_minutes(row.get("msdyn_hours")),
        }
    elif type_name == "TimeEntry":
        out |= {
            "resource_key": row.get("_msdyn_bookableresource_value"),
            "project_key": row.get("_msdyn_project_value"),
            "task_key": row.get("_msdyn_projecttask_value"),
            "work_date": _date(row.get("msdyn_date")),
            "duration_minutes": row.get("msdyn_duration"),
            "status": mapping.options(TIME_ENTRY_STATUS).canonical(row.get("msdyn_entrystatus")),
            "description": row.get("msdyn_description"),
        }
    elif type_name == "Expense":
        currency = _currency(row, mapping)
        category = row.get("_msdyn_expensecategory_value")
        expanded = row.get("msdyn_ExpenseCategory")
        if isinstance(expanded, Mapping) and expanded.get("msdyn_name"):
            category = expanded["msdyn_name"]
        out |= {
            "resource_key": row.get("_msdyn_bookableresource_value"),
            "project_key": row.get("_msdyn_project_value"),
            "expense_date": _date(row.get("msdyn_transactiondate")),
            "category": mapping.expense_categories.get(str(category), category),
            "amount": _money(row.get("msdyn_amount"), currency),
            "tax": _money(row.get("msdyn_salestaxamount"), currency),
            "status": mapping.options(EXPENSE_STATUS).canonical(row.get("msdyn_expensestatus")),
            "description": row.get("msdyn_name"),
        }
    elif type_name == "Invoice":
        currency = _currency(row, mapping)
        subtotal = _money(row.get("totallineitemamount"), currency)
        tax = _money(row.get("totaltax"), currency)
        discount = _money(row.get("totaldiscountamount") or 0, currency)
        out |= {
            "customer_key": row.get("_customerid_value"),
            "project_key": row.get("_msdyn_project_value"),
            "number": row.get("invoicenumber"),
            "currency": currency,
            "invoice_date": _date(row.get("datedelivered") or row.get("createdon")),
            "due_date": _date(row.get("duedate")),
            "status": mapping.options(INVOICE_STATE).canonical(row.get("statecode", 0)),
            "subtotal": subtotal,
            "tax_total": tax,
            "discount_total": discount,
            "total": _money(row.get("totalamount"), currency),
        }
    else:
        raise ConfigurationError(f"dynamics365 does not read {type_name}")
    return out


def _hours_to_minutes(value: Any) -> int | None:
    if value is None:
        return None
    minutes = Decimal(str(value)) * 60
    if minutes != minutes.to_integral_value():
        raise ValueError(f"{value} hours is not a whole number of minutes")
    return int(minutes)


Binder = Callable[[str, str], str]


def _bind(spec: TableSpec, column: str, target_id: str | None) -> dict[str, Any]:
    lookup = spec.lookup_for_column(column)
    if lookup is None:
        raise ConfigurationError(f"{spec.logical} has no lookup column {column}")
    target = TABLES[lookup.target]
    if target_id is None:
        return {}
    return {f"{lookup.nav}@odata.bind": f"/{target.entity_set}({target_id})"}


def _ref_id(refs: Mapping[str, SourceRef], field_name: str, *, required: bool) -> str | None:
    ref = refs.get(field_name)
    if ref is None:
        if required:
            raise ValidationFailed(
                f"reference {field_name} was not resolved to a Dataverse row",
                vendor_code="REFERENCE_MISSING",
            )
        return None
    return ref.id


def _amount(money: Money, rounding: str) -> float:
    # Dataverse money columns are JSON numbers; quantize first so no binary noise is sent.
    exact = quantize_amount(money.amount, money.currency, rounding=rounding)
    number = float(exact)
    # Past about 15 significant digits a JSON number is no longer the amount: refuse it
    # rather than send a neighbouring one.
    if Decimal(repr(number)) != exact:
        raise ValidationFailed(
            f"{exact} {money.currency} cannot be sent exactly as a JSON number",
            vendor_code="AMOUNT_NOT_EXACT",
        )
    return number


def to_row(
    obj: BaseModel,
    refs: Mapping[str, SourceRef],
    mapping: TenantMapping,
    *,
    rounding: str = "ROUND_HALF_UP",
) -> dict[str, Any]:
    """The Web API body that writes ``obj`` (references from ``refs``, resolved by the runner).

    A required reference that is missing, an option value without a code, or an unknown
    currency or expense category raise :class:`ValidationFailed` before anything is sent.

    Examples:
        >>> from datetime import date
        >>> entry = TimeEntry(key="te1", resource_key="r", project_key="p", task_key="t",
        ...                   work_date=date(2026, 3, 2), duration_minutes=45)
        >>> refs = {"resource_key": SourceRef(system=SYSTEM, tenant="o", id="r-guid"),
        ...         "project_key": SourceRef(system=SYSTEM, tenant="o", id="p-guid")}
        >>> body = to_row(entry, refs, TenantMapping())
        >>> body["msdyn_duration"], body["msdyn_project@odata.bind"]
        (45, '/msdyn_projects(p-guid)')
        >>> "msdyn_projecttask" in str(body)
        False
    """
    type_name = type(obj).__name__
    spec = table_for(type_name)
    body: dict[str, Any]
    if isinstance(obj, Customer):
        body = {
            "name": obj.name,
            "emailaddress1": obj.email,
            "statecode": 0 if obj.active else 1,
        }
        if obj.currency is not None:
            body |= _bind(spec, "transactioncurrencyid", mapping.currency_id(obj.currency))
        body |= _bind(spec, "parentaccountid", _ref_id(refs, "parent_key", required=False))
    elif isinstance(obj, Project):
        body = {
            "msdyn_subject": obj.name,
            "msdyn_description": obj.code,
            "msdyn_scheduledstart": obj.start_date.isoformat() if obj.start_date else None,
            "msdyn_finish": obj.end_date.isoformat() if obj.end_date else None,
        }
        body |= _bind(spec, "msdyn_customer", _ref_id(refs, "customer_key", required=False))
        body |= _bind(
            spec,
            "msdyn_contractorganizationalunitid",
            _ref_id(refs, "legal_entity_key", required=False),
        )
        body |= _bind(spec, "transactioncurrencyid", mapping.currency_id(obj.currency))
    elif isinstance(obj, TimeEntry):
        body = {
            "msdyn_date": obj.work_date.isoformat(),
            "msdyn_duration": obj.duration_minutes,
            "msdyn_type": TIME_ENTRY_TYPE_WORK,
            "msdyn_description": (obj.description or "")[:100] or None,
        }
        body |= _bind(spec, "msdyn_bookableresource", _ref_id(refs, "resource_key", required=True))
        body |= _bind(spec, "msdyn_project", _ref_id(refs, "project_key", required=True))
        # The task is bound only when the runner resolved one (rule "optional").
        body |= _bind(spec, "msdyn_projecttask", _ref_id(refs, "task_key", required=False))
    elif isinstance(obj, Expense):
        body = {
            "msdyn_name": (obj.description or obj.category)[:100],
            "msdyn_transactiondate": obj.expense_date.isoformat(),
            "msdyn_amount": _amount(obj.amount, rounding),
            "msdyn_salestaxamount": _amount(obj.tax, rounding) if obj.tax is not None else None,
        }
        body |= _bind(spec, "msdyn_bookableresource", _ref_id(refs, "resource_key", required=True))
        body |= _bind(spec, "msdyn_project", _ref_id(refs, "project_key", required=True))
        body |= _bind(spec, "msdyn_expensecategory", mapping.category_id(obj.category))
        body |= _bind(spec, "transactioncurrencyid", mapping.currency_id(obj.amount.currency))
    else:
        raise ConfigurationError(f"dynamics365 does not write {type_name} records")
    extensions = getattr(obj, "extensions", {}) or {}
    for name, column in mapping.extension_columns(type_name).items():
        if name in extensions:
            value = extensions[name]
            body[column] = value.isoformat() if isinstance(value, date) else value
    return body


# Keep the canonical models imported for readers of TYPE_TABLES.
_MODELS = (
    Customer,
    LegalEntity,
    Resource,
    Project,
    ProjectTask,
    Assignment,
    TimeEntry,
    Expense,
    Invoice,
)
