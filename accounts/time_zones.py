"""The viewer's time zone: which names are accepted, and which zone a request is shown in.

A user's zone is an IANA name (``Europe/Paris``) kept on the user. Until they have one, the
zone their browser reports (the script keeps it in the `BROWSER_COOKIE` cookie) is used, and
without that the server's `TIME_ZONE`.
"""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.http import HttpRequest

BROWSER_COOKIE = "console_tz"
# Names zoneinfo lists that are not places a person lives in.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def is_valid(name: str | None) -> bool:
    return bool(name) and name in available()


def validate_time_zone(name: str) -> None:
    if name and not is_valid(name):
        raise ValidationError(
            "“%(name)s” is not a time zone; choose one such as Europe/Paris.",
            code="invalid_time_zone",
            params={"name": name[:64]},
        )


@cache
def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Region/City zones grouped by region for a select (UTC first); the old aliases such as
    ``US/Pacific`` or ``Japan`` still validate, they are just not offered."""
    regions: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(available()):
        region, _, place = name.partition("/")
        if not place or region in {"Etc", "SystemV", "US", "Canada", "Brazil", "Mexico", "Chile"}:
            continue
        regions.setdefault(region, []).append((name, name.replace("_", " ")))
    return [("", [("UTC", "UTC")]), *regions.items()]


def browser_zone(request: HttpRequest) -> str | None:
    """The zone the browser reported, if it is one we know."""
    name = request.COOKIES.get(BROWSER_COOKIE, "")
    return name if is_valid(name) else None


def for_request(request: HttpRequest) -> str | None:
    """The zone to show this request's times in: the user's, else their browser's."""
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None else ""
    if is_valid(chosen):
        return chosen
    return browser_zone(request)
