from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def usd(cents) -> str:
    """Cents (int or Decimal) as dollars with two decimals: 123456 → $1,234.56."""
    if cents is None or cents == "":
        return "—"
    dollars = (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${dollars:,.2f}"


@register.filter
def thousands(value) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def percent_of(part, whole) -> int:
    if not whole:
        return 0
    return min(100, int(Decimal(part) * 100 / Decimal(whole)))
