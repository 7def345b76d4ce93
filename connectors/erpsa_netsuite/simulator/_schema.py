"""Record types the simulator knows: REST field names, SuiteQL column names and value kinds.

One row is stored once, keyed by SuiteQL column names (lower case), with Python values
(``int`` ids, ``Decimal`` amounts, ``date``, aware ``datetime``, ``bool``). The record service
renders it with REST names (``entityId``, ``tranDate``, references as ``{links, id, refName}``)
and SuiteQL renders it with column names and every value as a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["RECORD_TYPES", "FieldSpec", "RecordType", "record_type"]

Kind = Literal["str", "int", "decimal", "bool", "date", "datetime", "ref", "duration"]


@dataclass(frozen=True)
class FieldSpec:
    """One field: its REST name, its SuiteQL column, its kind and (for references) the target."""

    rest: str
    sql: str
    kind: Kind
    ref: str | None = None
    required: bool = False
    readonly: bool = False


@dataclass(frozen=True)
class RecordType:
    """A record type: REST id (as in ``/record/v1/<rest>``), SuiteQL table and fields."""

    rest: str
    table: str
    name_field: str
    fields: tuple[FieldSpec, ...]
    period_ledger: Literal["ar", "ap", "all"] | None = None
    by_rest: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)
    by_sql: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_rest", {f.rest.lower(): f for f in self.fields})
        object.__setattr__(self, "by_sql", {f.sql: f for f in self.fields})


def _common(*fields: FieldSpec) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("id", "id", "int", readonly=True),
        FieldSpec("externalId", "externalid", "str"),
        FieldSpec("isInactive", "isinactive", "bool"),
        FieldSpec("dateCreated", "datecreated", "datetime", readonly=True),
        FieldSpec("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
        *fields,
    )


def _tx(*fields: FieldSpec) -> tuple[FieldSpec, ...]:
    return (
        FieldSpec("id", "id", "int", readonly=True),
        FieldSpec("externalId", "externalid", "str"),
        FieldSpec("dateCreated", "createddate", "datetime", readonly=True),
        FieldSpec("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
        *fields,
    )


_TYPES = (
    RecordType(
        "currency",
        "currency",
        "name",
        _common(FieldSpec("name", "name", "str"), FieldSpec("symbol", "symbol", "str")),
    ),
    RecordType(
        "subsidiary",
        "subsidiary",
        "name",
        _common(
            FieldSpec("name", "name", "str", required=True),
            FieldSpec("legalName", "legalname", "str"),
            FieldSpec("country", "country", "str"),
            FieldSpec("currency", "currency", "ref", "currency"),
            FieldSpec("parent", "parent", "ref", "subsidiary"),
        ),
    ),
    RecordType(
        "customer",
        "customer",
        "companyname",
        _common(
            FieldSpec("entityId", "entityid", "str"),
            FieldSpec("companyName", "companyname", "str", required=True),
            FieldSpec("email", "email", "str"),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary", required=True),
            FieldSpec("currency", "currency", "ref", "currency"),
            FieldSpec("terms", "terms", "str"),
            FieldSpec("parent", "parent", "ref", "customer"),
        ),
    ),
    RecordType(
        "employee",
        "employee",
        "entityid",
        _common(
            FieldSpec("entityId", "entityid", "str"),
            FieldSpec("firstName", "firstname", "str", required=True),
            FieldSpec("lastName", "lastname", "str", required=True),
            FieldSpec("email", "email", "str"),
            FieldSpec("title", "title", "str"),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary", required=True),
            FieldSpec("laborCost", "laborcost", "decimal"),
            FieldSpec("hireDate", "hiredate", "date"),
            FieldSpec("releaseDate", "releasedate", "date"),
            FieldSpec("supervisor", "supervisor", "ref", "employee"),
        ),
    ),
    RecordType(
        "serviceItem",
        "item",
        "itemid",
        _common(
            FieldSpec("itemId", "itemid", "str", required=True),
            FieldSpec("displayName", "displayname", "str"),
        ),
    ),
    RecordType(
        "job",
        "job",
        "companyname",
        _common(
            FieldSpec("entityId", "entityid", "str"),
            FieldSpec("companyName", "companyname", "str", required=True),
            # REST cannot write the job's customer (documented); SuiteQL reads it as `parent`.
            FieldSpec("parent", "parent", "ref", "customer", readonly=True),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary", required=True),
            FieldSpec("currency", "currency", "ref", "currency"),
            FieldSpec("startDate", "startdate", "date"),
            FieldSpec("projectedEndDate", "projectedenddate", "date"),
            FieldSpec("entityStatus", "entitystatus", "str"),
            FieldSpec("projectManager", "projectmanager", "ref", "employee"),
        ),
    ),
    RecordType(
        "projectTask",
        "projecttask",
        "title",
        _common(
            FieldSpec("title", "title", "str", required=True),
            FieldSpec("company", "project", "ref", "job", required=True),
            FieldSpec("parent", "parent", "ref", "projectTask"),
            FieldSpec("startDate", "startdatetime", "date"),
            FieldSpec("endDate", "enddate", "date"),
            FieldSpec("plannedWork", "plannedwork", "duration"),
            FieldSpec("status", "status", "str"),
        ),
    ),
    RecordType(
        "timebill",
        "timebill",
        "memo",
        _common(
            FieldSpec("employee", "employee", "ref", "employee", required=True),
            FieldSpec("customer", "customer", "ref", "job"),
            FieldSpec("caseTaskEvent", "casetaskevent", "ref", "projectTask"),
            FieldSpec("item", "item", "ref", "serviceItem"),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary"),
            FieldSpec("tranDate", "trandate", "date", required=True),
            FieldSpec("hours", "hours", "duration", required=True),
            FieldSpec("memo", "memo", "str"),
            FieldSpec("isBillable", "isbillable", "bool"),
            FieldSpec("approvalStatus", "approvalstatus", "str"),
        ),
        period_ledger="all",
    ),
    RecordType(
        "expenseReport",
        "expensereport",
        "memo",
        _tx(
            FieldSpec("tranId", "tranid", "str"),
            FieldSpec("entity", "entity", "ref", "employee", required=True),
            FieldSpec("job", "job", "ref", "job"),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary"),
            FieldSpec("tranDate", "trandate", "date", required=True),
            FieldSpec("currency", "currency", "ref", "currency"),
            FieldSpec("total", "total", "decimal", required=True),
            FieldSpec("category", "category", "str"),
            FieldSpec("memo", "memo", "str"),
            FieldSpec("isBillable", "isbillable", "bool"),
            FieldSpec("status", "status", "str"),
        ),
        period_ledger="ap",
    ),
    RecordType(
        "invoice",
        "invoice",
        "tranid",
        _tx(
            FieldSpec("tranId", "tranid", "str"),
            FieldSpec("entity", "entity", "ref", "customer", required=True),
            FieldSpec("job", "job", "ref", "job"),
            FieldSpec("subsidiary", "subsidiary", "ref", "subsidiary"),
            FieldSpec("tranDate", "trandate", "date", required=True),
            FieldSpec("dueDate", "duedate", "date"),
            FieldSpec("currency", "currency", "ref", "currency"),
            FieldSpec("subtotal", "subtotal", "decimal"),
            FieldSpec("taxTotal", "taxtotal", "decimal"),
            FieldSpec("discountTotal", "discounttotal", "decimal"),
            FieldSpec("total", "total", "decimal"),
            FieldSpec("status", "status", "str"),
            FieldSpec("memo", "memo", "str"),
        ),
        period_ledger="ar",
    ),
    RecordType(
        "accountingPeriod",
        "accountingperiod",
        "periodname",
        _common(
            FieldSpec("periodName", "periodname", "str", required=True),
            FieldSpec("startDate", "startdate", "date", required=True),
            FieldSpec("endDate", "enddate", "date", required=True),
            FieldSpec("closed", "closed", "bool"),
            FieldSpec("arLocked", "arlocked", "bool"),
            FieldSpec("apLocked", "aplocked", "bool"),
            FieldSpec("allLocked", "alllocked", "bool"),
            FieldSpec("isAdjust", "isadjust", "bool"),
        ),
    ),
)

RECORD_TYPES: dict[str, RecordType] = {t.rest.lower(): t for t in _TYPES}
TABLES: dict[str, RecordType] = {t.table: t for t in _TYPES}


def record_type(name: str) -> RecordType | None:
    """The record type for a REST record id, case-insensitively (``timebill`` = ``timeBill``)."""
    return RECORD_TYPES.get(name.lower())
