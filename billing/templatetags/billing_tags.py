from decimal import Decimal

from django import template

from billing import money

register = template.Library()


@register.filter
def usd(cents: int | Decimal | str | None) -> str:
    """Cents (int or Decimal) as dollars with two decimals: 123456 → $1,234.56."""
    if cents is None or cents == "":
        return "—"
    return money.usd(Decimal(cents))


@register.filter
def thousands(value: int | Decimal | None) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def percent_of(part: int | Decimal, whole: int | Decimal | None) -> int:
    if not whole:
        return 0
    return min(100, int(Decimal(part) * 100 / Decimal(whole)))
