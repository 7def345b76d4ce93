"""Money: a ``Decimal`` amount and an ISO 4217 currency, never a float.

:class:`Money` takes its amount from a ``Decimal``, an ``int`` or a decimal string. A Python
``float`` is refused with a ``TypeError`` that says what to pass instead, because ``0.1`` is not
one tenth. Vendor JSON numbers enter through :data:`VendorAmount` / :func:`vendor_money`, which
quantize them to the currency's minor units (``1000.0`` -> ``1000.00 USD``).

Examples:
    >>> from decimal import Decimal
    >>> Money("100.00", "USD") * Decimal("1.5")
    Money('150.00', 'USD')
    >>> sum([Money("1.10", "EUR"), Money("2.20", "EUR")])
    Money('3.30', 'EUR')
    >>> vendor_money(1000.0, "USD")
    Money('1000.00', 'USD')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from erpsa_sdk.errors import ErpsaError

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "MAX_VENDOR_AMOUNT",
    "CurrencyMismatch",
    "FloatMoneyError",
    "FxRate",
    "Money",
    "VendorAmount",
    "VendorMoney",
    "minor_units",
    "quantize_amount",
    "register_currency",
    "vendor_money",
]

# ISO 4217 minor units (exponents). Codes not listed are unknown: a structural error.
# fmt: off
CURRENCY_MINOR_UNITS: Final[dict[str, int]] = {
    # zero-decimal currencies
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal currencies
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal units of account
    "CLF": 4, "UYW": 4,
    # two-decimal currencies
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
    "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CNY": 2,
    "COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
    "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2,
    "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "IRR": 2, "JMD": 2, "KES": 2, "KGS": 2, "KHR": 2, "KYD": 2, "KZT": 2, "LAK": 2,
    "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2,
    "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2,
    "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "PAB": 2, "PEN": 2, "PGK": 2,
    "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "SAR": 2, "SBD": 2,
    "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2,
    "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TOP": 2, "TRY": 2,
    "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "WST": 2,
    "XCD": 2, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}
# fmt: on

#: Largest magnitude accepted from a vendor JSON number: below 10^13 a double still carries
#: every cent exactly, above it the float has already lost digits.
MAX_VENDOR_AMOUNT: Final = Decimal(10) ** 13

# Products and quantizations run in a context wide enough to be exact for every accepted
# amount (|x| < 1e30, down to 1e-30): the only rounding is the one the caller asked for.
_EXACT: Final = Context(prec=200, traps=[InvalidOperation])
_MAX_ADJUSTED: Final = 30
_MIN_EXPONENT: Final = -30

_FLOAT_HINT = "pass a Decimal or a decimal string such as Decimal('0.10') or '0.10'"


class CurrencyMismatch(ErpsaError, ValueError):
    """Two amounts in different currencies were combined; convert one with :class:`FxRate`.

    Examples:
        >>> try:
        ...     Money("1.00", "USD") + Money("1.00", "EUR")
        ... except CurrencyMismatch as exc:
        ...     print(exc)
        cannot add USD and EUR amounts; convert one explicitly with FxRate
    """

    def __init__(self, left: str, right: str, operation: str = "combine") -> None:
        super().__init__(
            f"cannot {operation} {left} and {right} amounts; convert one explicitly with FxRate",
            left=left,
            right=right,
        )
        self.left = left
        self.right = right


class FloatMoneyError(TypeError, ValueError):
    """A ``float`` was given where money needs an exact amount.

    It is a ``TypeError`` for the caller who wrote ``Money(0.1, "USD")``, and a ``ValueError``
    so that pydantic turns it into a validation error (a ``Rejected`` record) inside parsing.

    Examples:
        >>> issubclass(FloatMoneyError, TypeError)
        True
    """


_UNSET: Any = object()


def register_currency(code: str, minor_units: int) -> None:
    """Register a currency code (or a private unit) and its number of minor-unit digits.

    Examples:
        >>> register_currency("XTS", 2)
        >>> Money("1", "XTS")
        Money('1.00', 'XTS')
    """
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise ValueError(f"currency code must be three upper-case letters, got {code!r}")
    if not 0 <= minor_units <= 6:
        raise ValueError(f"minor units must be between 0 and 6, got {minor_units}")
    CURRENCY_MINOR_UNITS[code] = minor_units


def minor_units(currency: str) -> int:
    """Number of decimal places of ``currency`` (ISO 4217); unknown codes raise ``ValueError``.

    Examples:
        >>> minor_units("JPY"), minor_units("USD"), minor_units("BHD")
        (0, 2, 3)
    """
    try:
        return CURRENCY_MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r} (not an ISO 4217 code)") from None


def _exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def quantize_amount(amount: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round ``amount`` to the minor units of ``currency`` once, with the given rounding mode.

    Examples:
        >>> from decimal import ROUND_HALF_EVEN
        >>> quantize_amount(Decimal("2.345"), "USD"), quantize_amount(Decimal("2.345"), "USD",
        ...     rounding=ROUND_HALF_EVEN)
        (Decimal('2.35'), Decimal('2.34'))
    """
    with localcontext(_EXACT):
        return amount.quantize(_exponent(currency), rounding=rounding)


def _to_decimal(value: object) -> Decimal:
    """Exact conversion of a non-float amount; raises ``ValueError`` for bad input."""
    if isinstance(value, bool):
        raise ValueError(f"amount must be a Decimal, int or decimal string, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"amount {value!r} is not a decimal number") from None
    else:
        raise ValueError(
            f"amount must be a Decimal, int or decimal string, not {type(value).__name__}"
        )
    if not result.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    if result and not _MIN_EXPONENT <= result.adjusted() < _MAX_ADJUSTED:
        raise ValueError(f"amount {value!r} is out of range (|amount| < 1e30, >= 1e-30)")
    return result


def _with_scale(amount: Decimal, currency: str) -> Decimal:
    """Pad to at least the currency's minor units; keep finer precision a source supplied."""
    places = minor_units(currency)
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked before
    if -exponent < places:
        return amount.quantize(_exponent(currency), context=_EXACT)  # exact: only adds zeros
    return amount


class Money(BaseModel):
    """An amount of one currency: ``Decimal`` + ISO 4217 code, immutable.

    Construct it positionally or by keyword. The amount is padded to the currency's minor
    units (``"100"`` USD becomes ``100.00``) and never rounded on the way in: amounts a vendor
    supplies are carried as they are. Arithmetic stays inside one currency; multiplying by a
    ``Decimal`` rounds once to the minor units with the caller's rounding mode.

    Parameters:
        amount: a ``Decimal``, an ``int`` or a decimal string. A ``float`` raises ``TypeError``.
        currency: an ISO 4217 code known to :data:`CURRENCY_MINOR_UNITS`.

    Examples:
        >>> Money("100", "USD")
        Money('100.00', 'USD')
        >>> Money(amount=Decimal("5"), currency="JPY") + Money(7, "JPY")
        Money('12', 'JPY')
        >>> Money(0.1, "USD")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.models.money.FloatMoneyError: Money amount 0.1 is a float, ...; pass a Decimal ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    def __init__(
        self, amount: Decimal | int | str = _UNSET, currency: str = _UNSET, **kwargs: Any
    ) -> None:
        # pydantic also routes model_validate through this __init__ (custom init), so missing
        # arguments are left for pydantic to report and the float error doubles as ValueError.
        if isinstance(amount, float):
            raise FloatMoneyError(
                f"Money amount {amount!r} is a float, which cannot hold exact money; {_FLOAT_HINT}"
            )
        if amount is not _UNSET:
            kwargs["amount"] = amount
        if currency is not _UNSET:
            kwargs["currency"] = currency
        super().__init__(**kwargs)

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_amount(cls, value: object) -> Decimal:
        if isinstance(value, float):
            # Structural rule "no float money": a record carrying one is Rejected.
            raise ValueError(f"amount {value!r} is a float; {_FLOAT_HINT}")
        return _to_decimal(value)

    @field_validator("currency", mode="after")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        minor_units(value)
        return value

    def model_post_init(self, context: Any, /) -> None:
        """Pad the amount to the currency's scale (needs both fields, hence post-init)."""
        object.__setattr__(self, "amount", _with_scale(self.amount, self.currency))

    # -- constructors ----------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``, e.g. as the start value of ``sum``.

        Examples:
            >>> Money.zero("BHD")
            Money('0.000', 'BHD')
        """
        return cls(0, currency)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        """Exact sum of ``items`` (possibly empty) in ``currency``.

        Examples:
            >>> Money.sum([], "EUR"), Money.sum([Money("1.5", "EUR")] * 3, "EUR")
            (Money('0.00', 'EUR'), Money('4.50', 'EUR'))
        """
        total = cls.zero(currency)
        for item in items:
            total = total + item
        return total

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # -- arithmetic ------------------------------------------------------------------------

    def _same(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "add")
        return Money(_EXACT.add(self.amount, other.amount), self.currency)

    def __radd__(self, other: object) -> Money:
        # Lets the builtin sum() start from its int 0.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "subtract")
        return Money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def multiply(self, factor: Decimal | int | str, *, rounding: str = ROUND_HALF_UP) -> Money:
        """``self × factor``, rounded once to the currency's minor units.

        Parameters:
            factor: a ``Decimal``, ``int`` or decimal string (a ``float`` raises ``TypeError``).
            rounding: a :mod:`decimal` rounding mode; the target connector's choice.

        Examples:
            >>> from decimal import ROUND_HALF_EVEN
            >>> Money("0.25", "USD").multiply(Decimal("0.5"))
            Money('0.13', 'USD')
            >>> Money("0.25", "USD").multiply(Decimal("0.5"), rounding=ROUND_HALF_EVEN)
            Money('0.12', 'USD')
        """
        if isinstance(factor, float):
            raise FloatMoneyError(f"factor {factor!r} is a float; {_FLOAT_HINT}")
        try:
            exact = _to_decimal(factor)
        except ValueError as exc:
            raise TypeError(str(exc)) from None
        return Money(
            quantize_amount(_EXACT.multiply(self.amount, exact), self.currency, rounding=rounding),
            self.currency,
        )

    def __mul__(self, other: object) -> Money:
        if isinstance(other, Money):
            return NotImplemented
        if isinstance(other, Decimal | int | float) and not isinstance(other, bool):
            return self.multiply(other)  # type: ignore[arg-type]  # float -> TypeError inside
        return NotImplemented

    __rmul__ = __mul__

    def quantize(self, *, rounding: str = ROUND_HALF_UP) -> Money:
        """Round a finer-than-minor-units amount to the currency's minor units.

        Examples:
            >>> Money("10.005", "USD").quantize()
            Money('10.01', 'USD')
        """
        return Money(quantize_amount(self.amount, self.currency, rounding=rounding), self.currency)

    # -- comparisons (one currency only) ---------------------------------------------------

    def _cmp(self, other: object) -> Decimal | None:
        if not isinstance(other, Money):
            return None
        self._same(other, "compare")
        return other.amount

    def __lt__(self, other: object) -> bool:
        value = self._cmp(other)
        return NotImplemented if value is None else self.amount < value

    def __le__(self, other: object) -> bool:
        value = self._cmp(other)
        return NotImplemented if value is None else self.amount <= value

    def __gt__(self, other: object) -> bool:
        value = self._cmp(other)
        return NotImplemented if value is None else self.amount > value

    def __ge__(self, other: object) -> bool:
        value = self._cmp(other)
        return NotImplemented if value is None else self.amount >= value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))


def _vendor_number(value: object) -> Decimal:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"amount {value!r} is not finite")
        # repr() is the shortest string that round-trips: 1000.0 -> '1000.0', 0.1 -> '0.1'.
        return Decimal(repr(value))
    return _to_decimal(value)


def _vendor_amount(value: object) -> Decimal:
    amount = _vendor_number(value)
    if abs(amount) >= MAX_VENDOR_AMOUNT:
        raise ValueError(
            f"amount {value!r} is too large to have arrived exactly (|amount| >= 1e13)"
        )
    return amount


VendorAmount = Annotated[Decimal, BeforeValidator(_vendor_amount)]
"""An amount field for *vendor* page models.

Accepts JSON numbers (floats), ints, Decimals and decimal strings; rejects |amount| >= 10^13.
Pair it with :func:`vendor_money` to quantize to the currency's minor units.

Examples:
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(VendorAmount).validate_json("1000.0")
    Decimal('1000.0')
"""


def vendor_money(amount: object, currency: str, *, rounding: str = ROUND_HALF_UP) -> Money:
    """Money from a vendor value (JSON number or string), quantized to the currency's minor units.

    Use it in connector page models and mappings, never for amounts typed by a user.

    Examples:
        >>> vendor_money(1000.0, "USD"), vendor_money("1000", "USD"), vendor_money(1234.5, "JPY")
        (Money('1000.00', 'USD'), Money('1000.00', 'USD'), Money('1235', 'JPY'))
        >>> vendor_money(12.3456, "BHD")
        Money('12.346', 'BHD')
    """
    return Money(quantize_amount(_vendor_amount(amount), currency, rounding=rounding), currency)


def _vendor_money_input(value: object) -> object:
    if isinstance(value, Mapping) and "amount" in value and "currency" in value:
        currency = value["currency"]
        if not isinstance(currency, str):
            raise ValueError(f"currency must be a string, got {currency!r}")
        return vendor_money(value["amount"], currency)
    return value


VendorMoney = Annotated[Money, BeforeValidator(_vendor_money_input)]
"""A Money field for *vendor* page models, quantized to the currency's minor units.

Examples:
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(VendorMoney).validate_json('{"amount": 1000.0, "currency": "USD"}')
    Money('1000.00', 'USD')
"""


class FxRate(BaseModel):
    """An explicit exchange rate: one ``base`` unit buys ``rate`` ``quote`` units.

    Money never converts implicitly; a conversion names its rate and rounds once.

    Examples:
        >>> eur_usd = FxRate(base="EUR", quote="USD", rate=Decimal("1.0825"))
        >>> eur_usd.convert(Money("100.00", "EUR"))
        Money('108.25', 'USD')
        >>> eur_usd.inverse().convert(Money("108.25", "USD"))
        Money('100.00', 'EUR')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: str = Field(pattern=r"^[A-Z]{3}$")
    quote: str = Field(pattern=r"^[A-Z]{3}$")
    rate: Decimal = Field(gt=0)
    as_of: date | None = None

    @field_validator("rate", mode="before")
    @classmethod
    def _exact_rate(cls, value: object) -> Decimal:
        if isinstance(value, float):
            raise ValueError(f"rate {value!r} is a float; {_FLOAT_HINT}")
        return _to_decimal(value)

    @field_validator("base", "quote", mode="after")
    @classmethod
    def _known(cls, value: str) -> str:
        minor_units(value)
        return value

    def convert(self, money: Money, *, rounding: str = ROUND_HALF_UP) -> Money:
        """Convert ``money`` (in ``base``) to ``quote``, rounding once.

        Examples:
            >>> FxRate(base="USD", quote="JPY", rate=Decimal("151.237")).convert(Money(10, "USD"))
            Money('1512', 'JPY')
        """
        if money.currency != self.base:
            raise CurrencyMismatch(money.currency, self.base, "convert")
        converted = quantize_amount(
            _EXACT.multiply(money.amount, self.rate), self.quote, rounding=rounding
        )
        return Money(converted, self.quote)

    def inverse(self) -> FxRate:
        """The rate in the other direction (``1 / rate``, 28 significant digits).

        Examples:
            >>> FxRate(base="EUR", quote="USD", rate=Decimal("2")).inverse().rate
            Decimal('0.5')
        """
        return FxRate(
            base=self.quote, quote=self.base, rate=Decimal(1) / self.rate, as_of=self.as_of
        )
