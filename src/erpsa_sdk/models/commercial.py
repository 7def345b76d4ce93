"""Commercial terms: :class:`Contract` and :class:`RateCard` with its lines by role.

Examples:
    >>> from datetime import date
    >>> from erpsa_sdk.models import Money
    >>> card = RateCard(key="rc1", name="2026 list", currency="USD",
    ...                 effective_from=date(2026, 1, 1),
    ...                 lines=[RateCardLine(role="Consultant", rate=Money("150", "USD"))])
    >>> card.rate_for("Consultant")
    Money('150.00', 'USD')
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from erpsa_sdk.models._base import (
    CanonicalModel,
    Currency,
    Key,
    Part,
    RuleWarning,
    check_currency,
    check_range,
)
from erpsa_sdk.models.money import Money
from erpsa_sdk.models.parties import RateUnit

__all__ = ["BillingType", "Contract", "ContractStatus", "RateCard", "RateCardLine"]


class BillingType(StrEnum):
    """How work is billed: time and materials, fixed fee, milestones or a retainer.

    ``UNMAPPED`` keeps a record whose source billing type the mapping does not know.

    Examples:
        >>> BillingType("fixed_fee")
        <BillingType.FIXED_FEE: 'fixed_fee'>
    """

    TIME_AND_MATERIALS = "time_and_materials"
    FIXED_FEE = "fixed_fee"
    MILESTONE = "milestone"
    RETAINER = "retainer"
    NON_BILLABLE = "non_billable"
    UNMAPPED = "unmapped"


class ContractStatus(StrEnum):
    """Lifecycle of a contract.

    Examples:
        >>> ContractStatus.ACTIVE.value
        'active'
    """

    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    UNMAPPED = "unmapped"


class Contract(CanonicalModel):
    """An agreement with a customer: billing type, value, dates and rate card.

    Structural: ``value`` and ``retainer_amount`` are in the contract currency; end >= start.
    Business: a fixed-fee or retainer contract without its amount gets a warning.

    Examples:
        >>> c = Contract(key="k1", customer_key="c1", name="Data platform",
        ...              billing_type="fixed_fee", currency="EUR", start_date=date(2026, 1, 1))
        >>> [w.code for w in c.warnings]
        ['missing_contract_value']
    """

    object_type: ClassVar[str] = "contract"
    _status_fields = {  # noqa: RUF012
        "billing_type": (BillingType, "billing_type_raw"),
        "status": (ContractStatus, "status_raw"),
    }

    customer_key: Key
    name: str = Field(min_length=1)
    number: str | None = None
    billing_type: BillingType
    billing_type_raw: str | None = None
    status: ContractStatus = ContractStatus.ACTIVE
    status_raw: str | None = None
    currency: Currency
    value: Money | None = None
    retainer_amount: Money | None = None
    start_date: date
    end_date: date | None = None
    rate_card_key: Key | None = None
    legal_entity_key: Key | None = None

    @model_validator(mode="after")
    def _structure(self) -> Contract:
        check_range(self.start_date, self.end_date, "contract")
        check_currency(self.value, self.currency, "contract value")
        check_currency(self.retainer_amount, self.currency, "retainer amount")
        return self

    def business_warnings(self) -> list[RuleWarning]:
        """Fixed fee needs ``value``; retainer needs ``retainer_amount``.

        Examples:
            >>> Contract(key="k1", customer_key="c1", name="x", billing_type="retainer",
            ...          currency="USD", start_date=date(2026, 1, 1),
            ...          retainer_amount=Money(5000, "USD")).business_warnings()
            []
        """
        result = []
        if self.billing_type == BillingType.FIXED_FEE and self.value is None:
            result.append(
                RuleWarning(
                    code="missing_contract_value",
                    field="value",
                    message="a fixed-fee contract has no value",
                )
            )
        if self.billing_type == BillingType.RETAINER and self.retainer_amount is None:
            result.append(
                RuleWarning(
                    code="missing_retainer_amount",
                    field="retainer_amount",
                    message="a retainer contract has no amount",
                )
            )
        return result


class RateCardLine(Part):
    """The rate of one role on a rate card.

    Examples:
        >>> RateCardLine(role="Architect", rate=Money("210", "USD")).unit
        <RateUnit.HOUR: 'hour'>
    """

    role: str = Field(min_length=1)
    rate: Money
    unit: RateUnit = RateUnit.HOUR


class RateCard(CanonicalModel):
    """Bill rates by role, in one currency, for a period.

    Structural: every line is in the card's currency; end >= start.
    Business: a role listed twice for one unit is a warning.

    Examples:
        >>> RateCard(key="rc1", name="list", currency="USD", effective_from=date(2026, 1, 1),
        ...          lines=[RateCardLine(role="PM", rate=Money(1, "EUR"))])
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for RateCard
        ...
    """

    object_type: ClassVar[str] = "rate_card"

    name: str = Field(min_length=1)
    currency: Currency
    effective_from: date
    effective_to: date | None = None
    lines: tuple[RateCardLine, ...] = ()

    @model_validator(mode="after")
    def _structure(self) -> RateCard:
        check_range(self.effective_from, self.effective_to, "rate card")
        for index, line in enumerate(self.lines):
            check_currency(line.rate, self.currency, f"line {index} ({line.role})")
        return self

    def business_warnings(self) -> list[RuleWarning]:
        """Duplicate roles make the rate ambiguous.

        Examples:
            >>> RateCard(key="rc1", name="l", currency="USD", effective_from=date(2026, 1, 1),
            ...          lines=[RateCardLine(role="PM", rate=Money(1, "USD"))] * 2
            ...          ).warnings[0].code
            'duplicate_role'
        """
        seen: set[tuple[str, RateUnit]] = set()
        result = []
        for line in self.lines:
            marker = (line.role, line.unit)
            if marker in seen:
                result.append(
                    RuleWarning(
                        code="duplicate_role",
                        field="lines",
                        message=f"role {line.role!r} appears more than once",
                    )
                )
            seen.add(marker)
        return result

    def rate_for(self, role: str, unit: RateUnit = RateUnit.HOUR) -> Money | None:
        """The rate of ``role`` (first matching line), or ``None``.

        Examples:
            >>> RateCard(key="rc1", name="l", currency="USD", effective_from=date(2026, 1, 1)
            ...          ).rate_for("PM") is None
            True
        """
        for line in self.lines:
            if line.role == role and line.unit == unit:
                return line.rate
        return None
