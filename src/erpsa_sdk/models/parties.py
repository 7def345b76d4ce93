"""Who: :class:`Customer`, :class:`LegalEntity`, :class:`CostCenter`, :class:`Resource`.

Examples:
    >>> from datetime import date
    >>> from erpsa_sdk.models import Money
    >>> ada = Resource(key="r1", name="Ada", bill_rates=[
    ...     RatePeriod(rate=Money("150", "USD"), effective_from=date(2026, 1, 1))])
    >>> ada.bill_rate_on(date(2026, 6, 1))
    Money('150.00', 'USD')
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import ClassVar

from pydantic import Field, model_validator

from erpsa_sdk.models._base import CanonicalModel, Currency, Key, Part, RuleWarning, check_range
from erpsa_sdk.models.money import Money

__all__ = [
    "Address",
    "CostCenter",
    "Customer",
    "LegalEntity",
    "RatePeriod",
    "RateUnit",
    "Resource",
    "ResourceType",
]

_COUNTRY = r"^[A-Z]{2}$"


class Address(Part):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code.

    Examples:
        >>> Address(line1="1 Main St", city="Austin", country="US").country
        'US'
    """

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, pattern=_COUNTRY)


class Customer(CanonicalModel):
    """A client the firm bills.

    ``legal_entity_key`` is the firm's legal entity that trades with the customer (a NetSuite
    OneWorld subsidiary, which NetSuite requires on a customer); sources that do not know it
    leave it empty, and a record policy or the target's default can fill it.

    Examples:
        >>> Customer(key="c1", name="Acme Corp", currency="USD").currency
        'USD'
        >>> Customer(key="c2", name="Globex", legal_entity_key="LE-UK").legal_entity_key
        'LE-UK'
    """

    object_type: ClassVar[str] = "customer"

    name: str = Field(min_length=1)
    legal_name: str | None = None
    currency: Currency | None = None
    tax_id: str | None = None
    email: str | None = None
    parent_key: Key | None = None
    legal_entity_key: Key | None = None
    billing_address: Address | None = None
    active: bool = True


class LegalEntity(CanonicalModel):
    """A company of the firm that books revenue and cost (subsidiary, ``legal_entity``).

    Examples:
        >>> LegalEntity(key="le-us", name="Acme Consulting Inc.", base_currency="USD",
        ...             country="US").base_currency
        'USD'
    """

    object_type: ClassVar[str] = "legal_entity"

    name: str = Field(min_length=1)
    base_currency: Currency
    country: str | None = Field(default=None, pattern=_COUNTRY)
    tax_id: str | None = None


class CostCenter(CanonicalModel):
    """A cost center (department, practice) that owns resources and projects.

    Examples:
        >>> CostCenter(key="cc-1", name="Data Practice", code="DP").code
        'DP'
    """

    object_type: ClassVar[str] = "cost_center"

    name: str = Field(min_length=1)
    code: str | None = None
    legal_entity_key: Key | None = None
    parent_key: Key | None = None
    active: bool = True


class RateUnit(StrEnum):
    """The unit a rate is quoted per.

    Examples:
        >>> RateUnit("hour")
        <RateUnit.HOUR: 'hour'>
    """

    HOUR = "hour"
    DAY = "day"


class RatePeriod(Part):
    """A rate valid from ``effective_from`` to ``effective_to`` (inclusive, open when ``None``).

    Examples:
        >>> p = RatePeriod(rate=Money("95", "EUR"), effective_from=date(2026, 1, 1),
        ...                effective_to=date(2026, 12, 31))
        >>> p.covers(date(2026, 7, 1)), p.covers(date(2027, 1, 1))
        (True, False)
    """

    rate: Money
    unit: RateUnit = RateUnit.HOUR
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _range(self) -> RatePeriod:
        check_range(self.effective_from, self.effective_to, "rate period")
        return self

    def covers(self, day: date) -> bool:
        """Whether the rate applies on ``day``.

        Examples:
            >>> RatePeriod(rate=Money(1, "USD"), effective_from=date(2026, 1, 1)).covers(
            ...     date(2025, 12, 31))
            False
        """
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class ResourceType(StrEnum):
    """Employee, contractor, or a placeholder (generic role) resource.

    Examples:
        >>> ResourceType.CONTRACTOR.value
        'contractor'
    """

    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    PLACEHOLDER = "placeholder"


def _overlaps(periods: tuple[RatePeriod, ...]) -> bool:
    ordered = sorted(periods, key=lambda p: (p.unit, p.effective_from))
    for before, after in pairwise(ordered):
        if before.unit == after.unit and (
            before.effective_to is None or after.effective_from <= before.effective_to
        ):
            return True
    return False


class Resource(CanonicalModel):
    """A person (or placeholder) who works on projects, with dated cost and bill rates.

    Examples:
        >>> r = Resource(key="r1", name="Ada", cost_rates=[
        ...     RatePeriod(rate=Money("60", "USD"), effective_from=date(2026, 1, 1))])
        >>> r.cost_rate_on(date(2026, 3, 1)), r.bill_rate_on(date(2026, 3, 1))
        (Money('60.00', 'USD'), None)
    """

    object_type: ClassVar[str] = "resource"

    name: str = Field(min_length=1)
    email: str | None = None
    resource_type: ResourceType = ResourceType.EMPLOYEE
    role: str | None = None
    legal_entity_key: Key | None = None
    cost_center_key: Key | None = None
    manager_key: Key | None = None
    start_date: date | None = None
    end_date: date | None = None
    cost_rates: tuple[RatePeriod, ...] = ()
    bill_rates: tuple[RatePeriod, ...] = ()
    active: bool = True

    @model_validator(mode="after")
    def _range(self) -> Resource:
        check_range(self.start_date, self.end_date, "resource employment")
        return self

    def business_warnings(self) -> list[RuleWarning]:
        """Overlapping rate periods of one unit make the applicable rate ambiguous.

        Examples:
            >>> r = Resource(key="r1", name="Ada", bill_rates=[
            ...     RatePeriod(rate=Money(1, "USD"), effective_from=date(2026, 1, 1)),
            ...     RatePeriod(rate=Money(2, "USD"), effective_from=date(2026, 6, 1))])
            >>> [w.code for w in r.warnings]
            ['overlapping_rates']
        """
        return [
            RuleWarning(
                code="overlapping_rates",
                field=name,
                message=f"{name} has overlapping effective periods",
            )
            for name in ("cost_rates", "bill_rates")
            if _overlaps(getattr(self, name))
        ]

    def bill_rate_on(self, day: date, unit: RateUnit = RateUnit.HOUR) -> Money | None:
        """The bill rate that applies on ``day`` (the latest period covering it), or ``None``.

        Examples:
            >>> Resource(key="r1", name="Ada").bill_rate_on(date(2026, 1, 1)) is None
            True
        """
        return _rate_on(self.bill_rates, day, unit)

    def cost_rate_on(self, day: date, unit: RateUnit = RateUnit.HOUR) -> Money | None:
        """The cost rate that applies on ``day``, or ``None``.

        Examples:
            >>> Resource(key="r1", name="Ada").cost_rate_on(date(2026, 1, 1)) is None
            True
        """
        return _rate_on(self.cost_rates, day, unit)


def _rate_on(periods: tuple[RatePeriod, ...], day: date, unit: RateUnit) -> Money | None:
    matching = [p for p in periods if p.unit == unit and p.covers(day)]
    if not matching:
        return None
    return max(matching, key=lambda p: p.effective_from).rate
