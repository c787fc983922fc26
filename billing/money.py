"""Money as people read it: cents (int or Decimal) rounded half up to whole cents."""

from decimal import ROUND_HALF_UP, Decimal


def dollars(cents) -> Decimal:
    """123456 → Decimal('1234.56'); 0.125 → Decimal('0.00'); 0.5 → Decimal('0.01')."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def usd(cents) -> str:
    """123456 → "$1,234.56"."""
    return f"${dollars(cents):,.2f}"
