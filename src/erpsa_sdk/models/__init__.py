"""The canonical business objects: money, keys, parties, projects, time, invoices, revenue.

Canonical models are frozen pydantic v2 models. Structural rules (no float money, known
currency, aware datetimes, end >= start, one currency per document) reject a record; business
rules (<= 24 h per entry, totals that add up, known statuses) are kept as ``warnings``.

Examples:
    >>> from datetime import date
    >>> from decimal import Decimal
    >>> entry = TimeEntry(key="te-1", resource_key="r1", project_key="p1",
    ...                   work_date=date(2026, 11, 2), duration_minutes=450, status="approved",
    ...                   bill_rate=Money("150.00", "USD"))
    >>> entry.hours, entry.bill_amount()
    (Decimal('7.50'), Money('1125.00', 'USD'))
"""

from __future__ import annotations

from erpsa_sdk.models._base import (
    CanonicalModel,
    Currency,
    ExtensionField,
    ExtensionSchema,
    RuleWarning,
    extension_context,
)
from erpsa_sdk.models.billing import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    RecognitionMethod,
    RevenueEvent,
    RevenueStatus,
)
from erpsa_sdk.models.commercial import (
    BillingType,
    Contract,
    ContractStatus,
    RateCard,
    RateCardLine,
)
from erpsa_sdk.models.keys import KEY_MAX_LENGTH, EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.money import (
    CurrencyMismatch,
    FloatMoneyError,
    FxRate,
    Money,
    VendorAmount,
    VendorMoney,
    minor_units,
    quantize_amount,
    register_currency,
    vendor_money,
)
from erpsa_sdk.models.parse import parse_records, parse_records_json
from erpsa_sdk.models.parties import (
    Address,
    CostCenter,
    Customer,
    LegalEntity,
    RatePeriod,
    RateUnit,
    Resource,
    ResourceType,
)
from erpsa_sdk.models.project import (
    Assignment,
    AssignmentStatus,
    Milestone,
    MilestoneStatus,
    Project,
    ProjectStatus,
    ProjectTask,
    TaskStatus,
)
from erpsa_sdk.models.refs import Rejected, SourceRef
from erpsa_sdk.models.time import (
    Expense,
    ExpenseStatus,
    TimeEntry,
    TimeEntryStatus,
    exact_minutes,
)

__all__ = [
    "KEY_MAX_LENGTH",
    "Address",
    "Assignment",
    "AssignmentStatus",
    "BillingType",
    "CanonicalModel",
    "Contract",
    "ContractStatus",
    "CostCenter",
    "Currency",
    "CurrencyMismatch",
    "Customer",
    "EntityKey",
    "Expense",
    "ExpenseStatus",
    "ExtensionField",
    "ExtensionSchema",
    "FloatMoneyError",
    "FxRate",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LegalEntity",
    "LineKind",
    "Milestone",
    "MilestoneStatus",
    "Money",
    "Project",
    "ProjectStatus",
    "ProjectTask",
    "RateCard",
    "RateCardLine",
    "RatePeriod",
    "RateUnit",
    "RecognitionMethod",
    "Rejected",
    "Resource",
    "ResourceType",
    "RevenueEvent",
    "RevenueStatus",
    "RuleWarning",
    "SourceRef",
    "TaskStatus",
    "TimeEntry",
    "TimeEntryStatus",
    "VendorAmount",
    "VendorMoney",
    "WriteKey",
    "WriteOperation",
    "exact_minutes",
    "extension_context",
    "minor_units",
    "parse_records",
    "parse_records_json",
    "quantize_amount",
    "register_currency",
    "vendor_money",
]
