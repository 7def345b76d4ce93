"""Contract and RateCard."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from erpsa_sdk.models import BillingType, Contract, Money, RateCard, RateCardLine


def contract(**fields: object) -> Contract:
    base = {
        "key": "k",
        "customer_key": "c",
        "name": "n",
        "currency": "USD",
        "start_date": date(2026, 1, 1),
        "billing_type": "time_and_materials",
    }
    return Contract.model_validate({**base, **fields})


@pytest.mark.parametrize("kind", ["time_and_materials", "fixed_fee", "milestone", "retainer"])
def test_contract_types(kind: str) -> None:
    assert (
        contract(
            billing_type=kind, value=Money(1, "USD"), retainer_amount=Money(1, "USD")
        ).billing_type
        == kind
    )


def test_contract_rules() -> None:
    odd = contract(billing_type="capped T&M")
    assert odd.billing_type is BillingType.UNMAPPED
    assert odd.billing_type_raw == "capped T&M"
    assert [w.code for w in contract(billing_type="retainer").warnings] == [
        "missing_retainer_amount"
    ]
    with pytest.raises(ValidationError, match="EUR"):
        contract(value=Money(1, "EUR"))
    with pytest.raises(ValidationError, match="before start"):
        contract(end_date=date(2025, 1, 1))


def test_rate_card_lines_share_its_currency() -> None:
    card = RateCard(
        key="rc",
        name="list",
        currency="GBP",
        effective_from=date(2026, 1, 1),
        lines=[RateCardLine(role="PM", rate=Money(120, "GBP"))],
    )
    assert card.rate_for("PM") == Money(120, "GBP")
    assert card.rate_for("Architect") is None
    with pytest.raises(ValidationError, match="USD"):
        RateCard(
            key="rc",
            name="list",
            currency="GBP",
            effective_from=date(2026, 1, 1),
            lines=[RateCardLine(role="PM", rate=Money(120, "USD"))],
        )
