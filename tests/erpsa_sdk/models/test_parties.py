"""Customer, LegalEntity, CostCenter, Resource with dated rates."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from erpsa_sdk.models import (
    Address,
    CostCenter,
    Customer,
    LegalEntity,
    Money,
    RatePeriod,
    RateUnit,
    Resource,
)


def test_customer_and_legal_entity_validate_currency_and_country() -> None:
    c = Customer(
        key="c1", name="Acme", currency="USD", billing_address=Address(city="Austin", country="US")
    )
    assert c.billing_address is not None
    with pytest.raises(ValidationError):
        Customer(key="c1", name="Acme", currency="DOLLARS")
    with pytest.raises(ValidationError):
        Address(country="usa")
    with pytest.raises(ValidationError):
        LegalEntity(key="le", name="Acme Ltd", base_currency="ZZZ")
    with pytest.raises(ValidationError):
        Customer(key="", name="Acme")
    assert CostCenter(key="cc", name="Data").active


def test_resource_rates_by_date_and_unit() -> None:
    r = Resource(
        key="r1",
        name="Ada",
        bill_rates=[
            RatePeriod(
                rate=Money(100, "USD"),
                effective_from=date(2025, 1, 1),
                effective_to=date(2025, 12, 31),
            ),
            RatePeriod(rate=Money(120, "USD"), effective_from=date(2026, 1, 1)),
            RatePeriod(rate=Money(900, "USD"), unit=RateUnit.DAY, effective_from=date(2025, 1, 1)),
        ],
    )
    assert r.warnings == ()
    assert r.bill_rate_on(date(2025, 6, 1)) == Money(100, "USD")
    assert r.bill_rate_on(date(2026, 6, 1)) == Money(120, "USD")
    assert r.bill_rate_on(date(2024, 6, 1)) is None
    assert r.bill_rate_on(date(2025, 6, 1), RateUnit.DAY) == Money(900, "USD")


def test_overlapping_rates_warn_and_bad_ranges_reject() -> None:
    r = Resource(
        key="r1",
        name="Ada",
        cost_rates=[
            RatePeriod(
                rate=Money(1, "USD"),
                effective_from=date(2026, 1, 1),
                effective_to=date(2026, 6, 30),
            ),
            RatePeriod(rate=Money(2, "USD"), effective_from=date(2026, 6, 30)),
        ],
    )
    assert [w.code for w in r.warnings] == ["overlapping_rates"]
    with pytest.raises(ValidationError, match="before start"):
        RatePeriod(
            rate=Money(1, "USD"), effective_from=date(2026, 2, 1), effective_to=date(2026, 1, 1)
        )
    with pytest.raises(ValidationError, match="before start"):
        Resource(key="r", name="x", start_date=date(2026, 2, 1), end_date=date(2026, 1, 1))
