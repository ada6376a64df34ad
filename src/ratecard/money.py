"""Exact numbers and money: the only way numbers enter ratecard.

* :func:`D` is the gateway: it turns ``str``, ``int`` and ``Decimal`` into a finite ``Decimal``
  and refuses ``float`` (binary floating point cannot hold 0.0085 exactly) and ``bool``.
* :func:`round_money` is the single rounding function for money: half-up to the currency's
  minor unit. It is applied once per invoice line; invoice totals add rounded lines.
* :class:`Money` is an immutable amount with its currency.

Amounts before rounding are exact decimals ("precise amounts"): quantity x rate products are
computed with :data:`EXACT`, a context that traps inexact results, so a precise amount is never
silently rounded.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ratecard.errors import MoneyError

#: Minor units (digits after the decimal point) of the currencies ratecard knows (ISO 4217).
MINOR_UNITS: dict[str, int] = {
    "USD": 2,
    "CAD": 2,
    "EUR": 2,
    "GBP": 2,
    "AUD": 2,
    "BRL": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
}

#: Catalog rates may carry at most this many decimal places (the vendor prices to 1e-7 dollar).
MAX_RATE_PLACES = 7

#: Arithmetic context for precise amounts: wide enough for any realistic quantity x rate, and
#: trapping Inexact so an amount that cannot be represented exactly fails loudly.
EXACT = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)

#: Places kept when a quantity is a true quotient (per-second minutes, hour fractions): far
#: below any minor unit, so the line's single rounding is unaffected.
QUOTIENT_PLACES = 20

ZERO = Decimal(0)

#: quantize may legitimately drop digits (that is its job), so it runs without the Inexact trap.
EXACT_QUANTIZE = decimal.Context(prec=60, traps=[decimal.InvalidOperation])


def D(value: object) -> Decimal:
    """Return ``value`` as a finite Decimal; refuse float, bool, NaN, infinity and bad text.

    >>> D("0.0085")
    Decimal('0.0085')
    >>> D(3)
    Decimal('3')
    """
    if isinstance(value, bool):
        raise MoneyError(f"a boolean is not a number: {value!r}")
    if isinstance(value, float):
        raise MoneyError(
            f"float {value!r} refused: give money and quantities as decimal strings or integers"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise MoneyError(f"not a decimal number: {value!r}") from None
    else:
        raise MoneyError(f"not a number: {value!r} ({type(value).__name__})")
    if not result.is_finite():
        raise MoneyError(f"not a finite number: {value!r}")
    return result


def non_negative(
    value: object, *, max_places: int | None = None, maximum: Decimal | None = None
) -> Decimal:
    """``D(value)``, also refusing negatives, more than ``max_places`` decimal places, or a
    value above ``maximum``. Used by every validated number field (rates, quantities)."""
    result = D(value)
    if result < 0:
        raise MoneyError("must not be negative")
    if max_places is not None and places(result) > max_places:
        raise MoneyError(
            f"{value} has {places(result)} decimal places; at most {max_places} are allowed"
        )
    if maximum is not None and result > maximum:
        raise MoneyError(f"must be at most {maximum:,}")
    return result


def places(value: Decimal) -> int:
    """Number of decimal places written in ``value`` (``Decimal('0.0085')`` -> 4)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only: D() guarantees it
    return max(0, -exponent)


def minor_units(currency: str) -> int:
    """Digits after the decimal point of ``currency``'s minor unit (USD -> 2)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        known = ", ".join(sorted(MINOR_UNITS))
        raise MoneyError(f"unknown currency {currency!r} (known: {known})") from None


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round a precise amount half-up to the minor unit of ``currency``.

    This is the only rounding of money in ratecard: invoice lines are rounded with it once,
    and totals are sums of rounded lines. ``Decimal('0.125')`` in USD -> ``Decimal('0.13')``;
    ``Decimal('-0.125')`` -> ``Decimal('-0.13')`` (half away from zero).
    """
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP, context=EXACT_QUANTIZE)


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Exact product of two decimals (raises if it could not be represented exactly)."""
    return EXACT.multiply(a, b)


def add(a: Decimal, b: Decimal) -> Decimal:
    """Exact sum of two decimals."""
    return EXACT.add(a, b)


def quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    """A quantity that is a true quotient, kept to :data:`QUOTIENT_PLACES` places (half-even).

    Used for quantities only (per-second minutes, fractional hours), never for money. Exact
    whenever the quotient terminates within that many places (90 s / 60 = 1.5); 80 s / 60 is
    kept as 1.33333333333333333333.
    """
    value = EXACT_QUANTIZE.divide(numerator, denominator)
    step = Decimal(1).scaleb(-QUOTIENT_PLACES)
    return plain(value.quantize(step, rounding=decimal.ROUND_HALF_EVEN, context=EXACT_QUANTIZE))


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without exponent notation (``1.50`` -> ``1.5``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=EXACT_QUANTIZE)
    return value.normalize(EXACT_QUANTIZE)


def total(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of decimals (0 when there are none)."""
    result = ZERO
    for value in values:
        result = EXACT.add(result, value)
    return result


@dataclass(frozen=True)
class Money:
    """An amount of money in one currency. Immutable; arithmetic is exact.

    ``amount`` is a precise Decimal (not necessarily rounded); :meth:`rounded` applies the
    single rounding function.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", D(self.amount))
        minor_units(self.currency)  # validates the currency

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal) -> Money:
        """This amount multiplied exactly by a decimal factor (a quantity or a rate)."""
        return Money(mul(self.amount, D(factor)), self.currency)

    def rounded(self) -> Money:
        """This amount rounded half-up to the currency's minor unit."""
        return Money(round_money(self.amount, self.currency), self.currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
