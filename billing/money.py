"""Money, parsed and written in one place. Amounts are whole cents (int) or exact Decimal
cents, never floats: a float given here is refused (TypeError).

- For people: `usd(123456)` → "$1,234.56", rounded half up to whole cents; chart axes:
  `axis_label`.
- For the Admin API and the gateway: `cents_text(Decimal("12.5"))` → "12.5" (cents as a
  decimal string, exact), `micro_cents_text(12_500_000)` → "12.5" (the limiter's counters
  are micro-cents), and `parse_cents("5000")` → 5000 (a whole number of cents).
- For forms and the older dollar fields: `parse_dollars("50.25")` → 5025.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")


MICRO = 1_000_000  # micro-cents in a cent


def _exact(cents: int | Decimal) -> Decimal:
    if not isinstance(cents, (int, Decimal)):  # a float's binary expansion is not an amount
        raise TypeError(f"Money is int or Decimal cents, not {type(cents).__name__}.")
    return Decimal(cents)


def dollars(cents: int | Decimal) -> Decimal:
    """123456 → Decimal('1234.56'); Decimal("0.125") → Decimal('0.00'); Decimal("0.5") →
    Decimal('0.01')."""
    return (_exact(cents) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def usd(cents: int | Decimal) -> str:
    """123456 → "$1,234.56"."""
    return f"${dollars(cents):,.2f}"


def dollars_text(cents: int | Decimal) -> str:
    """123456 → "1234.56": dollars with two decimals, no symbol or separators."""
    return f"{dollars(cents):.2f}"


def cents_text(cents: int | Decimal) -> str:
    """Cents as a decimal string without trailing zeros: 1234 → "1234", 12.50 → "12.5"."""
    text = f"{_exact(cents).normalize():f}"
    return "0" if text in ("-0", "0") else text


def micro_cents_text(micro: int) -> str:
    """Micro-cents as cents, exact: 12_500_000 → "12.5", 1 → "0.000001"."""
    return cents_text(Decimal(micro) / MICRO)


def to_cents(amount: Decimal) -> int:
    """Dollars (at most two decimals, as forms clean them) as whole cents."""
    return int((amount * 100).to_integral_value())


def parse_cents(value: object, *, field: str = "amount") -> int:
    """A whole number of cents written as a decimal string ("5000" is $50.00)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise ValidationError(
            {field: 'Give the amount in cents as a string of digits, such as "5000" for $50.00.'},
        )
    return int(value)


def parse_dollars(value: object, *, field: str = "amount") -> int:
    """Dollars as a string or whole number ("25.50", 25) as whole cents."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError({field: 'Give an amount in USD, such as "25.00".'})
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({field: 'Give an amount in USD, such as "25.00".'}) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError({field: "Amounts have at most 2 decimal places (cents)."})
    return to_cents(amount)


def axis_label(cents: int | Decimal, top: int | Decimal) -> str:
    """A cost axis label: cents when the whole axis is under a dollar ("12.5¢"), else whole
    dollars or cents ("$1,200", "$3.50")."""
    amount = _exact(cents)
    if _exact(top) < 100:
        return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP).normalize():f}¢"
    text = f"${dollars(amount):,.2f}"
    return text.removesuffix(".00")
