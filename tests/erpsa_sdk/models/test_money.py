"""Money: exact amounts, one currency at a time, rounding only where asked."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from erpsa_sdk.errors import ErpsaError
from erpsa_sdk.models import (
    CurrencyMismatch,
    FloatMoneyError,
    FxRate,
    Money,
    VendorAmount,
    VendorMoney,
    minor_units,
    quantize_amount,
    vendor_money,
)

CURRENCIES = ["USD", "EUR", "JPY", "BHD", "KWD", "GBP", "KRW"]
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
factors = st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False)


# -- construction -----------------------------------------------------------------------------


def test_float_amount_fails_naming_the_float_and_the_fix() -> None:
    with pytest.raises(TypeError) as info:
        Money(0.1, "USD")  # type: ignore[arg-type]
    message = str(info.value)
    assert "0.1" in message
    assert "float" in message
    assert "Decimal" in message
    assert isinstance(info.value, FloatMoneyError)


def test_float_amount_in_a_payload_is_a_validation_error_not_a_crash() -> None:
    class Line(BaseModel):
        price: Money

    with pytest.raises(ValidationError, match="float"):
        Line.model_validate({"price": {"amount": 0.1, "currency": "USD"}})


def test_positional_and_keyword_construction_are_equal() -> None:
    assert Money("100.00", "USD") == Money(amount=Decimal("100"), currency="USD")
    assert Money(100, "USD") == Money("100", currency="USD")


def test_repr_and_str() -> None:
    assert repr(Money("150", "USD")) == "Money('150.00', 'USD')"
    assert str(Money("1.5", "BHD")) == "1.500 BHD"


@pytest.mark.parametrize(
    ("currency", "text"),
    [
        ("JPY", "1000"),
        ("KRW", "1000"),
        ("USD", "1000.00"),
        ("EUR", "1000.00"),
        ("BHD", "1000.000"),
        ("KWD", "1000.000"),
        ("JOD", "1000.000"),
        ("OMR", "1000.000"),
        ("TND", "1000.000"),
    ],
)
def test_amount_is_padded_to_the_currency_scale(currency: str, text: str) -> None:
    assert str(Money(1000, currency).amount) == text


def test_finer_precision_than_minor_units_is_carried_not_rounded() -> None:
    # Vendor-supplied amounts are carried as they are; rounding is an explicit step.
    assert Money("10.005", "USD").amount == Decimal("10.005")
    assert Money("10.005", "USD").quantize() == Money("10.01", "USD")


@pytest.mark.parametrize("bad", ["XXX1", "usd", "ZZZ", "", "US"])
def test_unknown_currency_is_a_structural_error(bad: str) -> None:
    with pytest.raises(ValidationError):
        Money("1", bad)


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, None, [1]])
def test_bad_amounts_are_refused(bad: object) -> None:
    with pytest.raises((ValidationError, TypeError)):
        Money(bad, "USD")  # type: ignore[arg-type]


# -- arithmetic ---------------------------------------------------------------------------------


def test_money_times_decimal_acceptance() -> None:
    assert Money("100.00", "USD") * Decimal("1.5") == Money("150.00", "USD")
    assert Decimal("1.5") * Money("100.00", "USD") == Money("150.00", "USD")


def test_usd_plus_eur_fails_naming_both() -> None:
    with pytest.raises(CurrencyMismatch) as info:
        Money("1.00", "USD") + Money("1.00", "EUR")
    assert "USD" in str(info.value)
    assert "EUR" in str(info.value)
    assert isinstance(info.value, ErpsaError)


@pytest.mark.parametrize(
    "operation",
    [lambda a, b: a - b, lambda a, b: a < b, lambda a, b: a >= b, lambda a, b: sum([a, b])],
)
def test_every_mixing_operation_fails(operation: object) -> None:
    with pytest.raises(CurrencyMismatch):
        operation(Money(1, "USD"), Money(1, "GBP"))  # type: ignore[operator]


def test_multiplying_by_a_float_fails() -> None:
    with pytest.raises(TypeError, match="float"):
        Money(1, "USD") * 1.5


def test_jpy_quantizes_to_whole_yen_and_bhd_to_three_places() -> None:
    assert Money(1000, "JPY").multiply(Decimal("1.005")) == Money("1005", "JPY")
    assert str(Money(1000, "JPY").multiply(Decimal("0.0333"))) == "33 JPY"
    assert str(Money("1.000", "BHD").multiply(Decimal("0.33335"))) == "0.333 BHD"
    assert str(vendor_money(1.23456, "BHD")) == "1.235 BHD"
    assert str(vendor_money(1234.5, "JPY")) == "1235 JPY"


def test_rounding_mode_is_the_callers_choice() -> None:
    half = Money("0.25", "USD")
    assert half.multiply(Decimal("0.5")) == Money("0.13", "USD")
    assert half.multiply(Decimal("0.5"), rounding=ROUND_HALF_EVEN) == Money("0.12", "USD")


def test_sum_builtin_and_classmethod() -> None:
    items = [Money("0.10", "USD")] * 10
    assert sum(items) == Money("1.00", "USD")
    assert Money.sum(items, "USD") == Money("1.00", "USD")
    assert Money.sum([], "JPY") == Money(0, "JPY")


def test_neg_abs_bool_and_ordering() -> None:
    assert -Money("5", "EUR") == Money("-5", "EUR")
    assert abs(Money("-5", "EUR")) == Money("5", "EUR")
    assert not Money(0, "EUR")
    assert sorted([Money(3, "EUR"), Money(1, "EUR"), Money(2, "EUR")])[0] == Money(1, "EUR")
    assert Money(1, "USD") != Money(1, "EUR")
    assert hash(Money("1", "USD")) == hash(Money("1.000", "USD"))


@given(a=amounts, b=amounts, c=amounts, currency=st.sampled_from(CURRENCIES))
def test_addition_is_exact_associative_and_commutative(
    a: Decimal, b: Decimal, c: Decimal, currency: str
) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert x - x == Money.zero(currency)
    assert (x + y).amount == a + b


@given(a=amounts, factor=factors, currency=st.sampled_from(CURRENCIES))
def test_multiply_rounds_once_to_minor_units(a: Decimal, factor: Decimal, currency: str) -> None:
    exact = a * factor
    for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
        result = Money(a, currency).multiply(factor, rounding=mode)
        step = Decimal(1).scaleb(-minor_units(currency))
        assert result.amount == exact.quantize(step, rounding=mode)
        assert abs(result.amount - exact) <= step / 2
        assert -result.amount.as_tuple().exponent == minor_units(currency)  # type: ignore[operator]


@given(a=amounts, currency=st.sampled_from(CURRENCIES))
def test_json_round_trip(a: Decimal, currency: str) -> None:
    money = Money(a, currency)
    assert Money.model_validate_json(money.model_dump_json()) == money
    assert repr(Money.model_validate_json(money.model_dump_json())) == repr(money)


# -- vendor numbers -----------------------------------------------------------------------------


def test_vendor_number_is_quantized_to_the_currency_scale() -> None:
    assert repr(vendor_money(1000.0, "USD")) == "Money('1000.00', 'USD')"
    assert vendor_money(0.1 + 0.2, "USD") == Money("0.30", "USD")


def test_json_numbers_and_strings_yield_equal_money() -> None:
    class Page(BaseModel):
        amount: VendorAmount
        currency: str

        def money(self) -> Money:
            return vendor_money(self.amount, self.currency)

    adapter = TypeAdapter(list[Page])
    pages = adapter.validate_json(
        b'[{"amount": 1000.0, "currency": "USD"}, {"amount": "1000.00", "currency": "USD"},'
        b' {"amount": 1000, "currency": "USD"}, {"amount": 12.5, "currency": "BHD"},'
        b' {"amount": "12.500", "currency": "BHD"}, {"amount": 7.0, "currency": "JPY"}]'
    )
    monies = [p.money() for p in pages]
    assert monies[0] == monies[1] == monies[2] == Money("1000.00", "USD")
    assert [str(m.amount) for m in monies] == [
        "1000.00",
        "1000.00",
        "1000.00",
        "12.500",
        "12.500",
        "7",
    ]


@pytest.mark.parametrize("too_big", [1e13, -1e13, 10**13, "10000000000000.00", 1e300])
def test_vendor_amounts_at_or_above_1e13_are_rejected(too_big: object) -> None:
    with pytest.raises(ValueError, match="too large"):
        vendor_money(too_big, "USD")
    with pytest.raises(ValidationError):
        TypeAdapter(VendorAmount).validate_python(too_big)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", True])
def test_vendor_non_numbers_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        vendor_money(bad, "USD")


@given(cents=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_every_vendor_float_below_the_limit_keeps_its_cents(cents: int) -> None:
    value = cents / 100  # what a vendor's JSON number becomes in Python
    assert vendor_money(value, "USD").amount == Decimal(cents).scaleb(-2)


def test_quantize_amount_modes() -> None:
    assert quantize_amount(Decimal("2.5"), "JPY") == Decimal("3")
    assert quantize_amount(Decimal("2.5"), "JPY", rounding=ROUND_HALF_EVEN) == Decimal("2")


# -- FX ---------------------------------------------------------------------------------------


def test_fx_conversion_is_explicit_and_checks_the_base() -> None:
    rate = FxRate(base="EUR", quote="JPY", rate=Decimal("162.345"))
    assert rate.convert(Money("10.00", "EUR")) == Money("1623", "JPY")
    with pytest.raises(CurrencyMismatch):
        rate.convert(Money("10.00", "USD"))


def test_fx_rate_refuses_floats_and_non_positive_rates() -> None:
    with pytest.raises(ValidationError, match="float"):
        FxRate(base="EUR", quote="USD", rate=1.1)
    with pytest.raises(ValidationError):
        FxRate(base="EUR", quote="USD", rate=Decimal(0))


@given(a=amounts)
def test_fx_round_trip_within_one_cent_per_conversion(a: Decimal) -> None:
    rate = FxRate(base="EUR", quote="USD", rate=Decimal("1.0825"))
    back = rate.inverse().convert(rate.convert(Money(a, "EUR")))
    assert abs(back.amount - a) <= Decimal("0.01")


@pytest.mark.parametrize("extreme", ["1e30", "-1e31", "1e-31", "1e400"])
def test_out_of_range_amounts_are_validation_errors_not_crashes(extreme: str) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        Money(extreme, "USD")


@given(
    a=st.decimals(min_value=-(10**29) + 1, max_value=10**29 - 1, places=8, allow_nan=False),
    b=st.decimals(min_value=-(10**29) + 1, max_value=10**29 - 1, places=8, allow_nan=False),
)
def test_arithmetic_is_exact_across_the_whole_range(a: Decimal, b: Decimal) -> None:
    total = Money(a, "USD") + Money(b, "USD")
    product = Money(a, "USD").multiply(Decimal("1.000000001"))
    with localcontext(prec=100):  # the test's own arithmetic must not round either
        assert total.amount == a + b
        assert abs(product.amount - a * Decimal("1.000000001")) <= Decimal("0.005")


def test_vendor_money_field_for_page_models() -> None:
    class VendorLine(BaseModel):
        rate: VendorMoney

    lines = TypeAdapter(list[VendorLine]).validate_json(
        b'[{"rate": {"amount": 1000.0, "currency": "USD"}},'
        b' {"rate": {"amount": "1000", "currency": "USD"}},'
        b' {"rate": {"amount": 99.5, "currency": "JPY"}}]'
    )
    assert [repr(line.rate) for line in lines] == [
        "Money('1000.00', 'USD')",
        "Money('1000.00', 'USD')",
        "Money('100', 'JPY')",
    ]
    with pytest.raises(ValidationError):
        VendorLine.model_validate({"rate": {"amount": 1e13, "currency": "USD"}})
    with pytest.raises(ValidationError):
        VendorLine.model_validate({"rate": {"amount": 1, "currency": 840}})
