"""How the pages show a moment: always in the viewer's time zone (activated per request by
`accounts.middleware.TimeZoneMiddleware`), and, wherever a time of day shows, with its zone.

`{{ key.last_used_at|moment:"ago" }}` and its siblings give a `<time>` element whose
`datetime` is exact and whose `title` is the full time with its zone, so a relative time or a
bare day can always be read exactly too.
"""

from datetime import datetime, timedelta

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

register = template.Library()

STYLES = ("time", "seconds", "day", "ago")


def _zone_name(moment: datetime) -> str:
    return moment.tzname() or dateformat.format(moment, "O")


def full_time(value: datetime, *, seconds: bool = False) -> str:
    """`7 Dec 2026, 11:20 PST` in the current zone (with `:05` seconds if asked)."""
    local = timezone.localtime(value)
    clock = "H:i:s" if seconds else "H:i"
    return f"{dateformat.format(local, f'j M Y, {clock}')} {_zone_name(local)}"


@register.filter
def moment(value: datetime | None, style: str = "time") -> SafeString | str:
    """`value` as a `<time>` element in the viewer's zone. Styles: "time" (the day and the
    time of day with its zone), "seconds" (the same to the second), "day" (the day alone),
    "ago" ("3 hours ago")."""
    if value is None:
        return ""
    if style not in STYLES:
        raise template.TemplateSyntaxError(f"moment: unknown style {style!r}, use one of {STYLES}")
    local = timezone.localtime(value)
    exact = full_time(local, seconds=True)
    if style == "day":
        text = dateformat.format(local, "j M Y")
    elif style == "ago":
        text = (
            "just now"
            if timezone.now() - value < timedelta(minutes=1)
            else f"{timesince(value)} ago"
        )
    else:
        text = full_time(local, seconds=style == "seconds")
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), exact, text)
