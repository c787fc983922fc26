"""The Usage and Cost pages read their dates and hours as every path does
(`console.validation`: years 2000 to 2999): an impossible or extreme one is a message on the
filter bar, for the page, its htmx partial and its CSV variants alike, never a 500."""

import pytest
from django.urls import reverse

from billing.models import UsageDaily

BAD_DATES = ["9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01", "2026-02-30", "2026-13-01"]
BAD_HOURS = [
    "9999-12-31T23",
    "0001-01-01T00",
    "1999-12-31T23",
    "2026-11-01T25",
    "2999-12-31T23:00-01:00",  # year 3000 in UTC
    "2026-11-01T13:00+16:00",
]
VARIANTS = [{}, {"format": "csv"}, {"format": "csv", "table": "breakdown"}]


def _filters(name: str, value: str) -> dict[str, str]:
    if name in ("start", "end"):
        other = "end" if name == "start" else "start"
        return {"range": "custom", other: "2026-11-01", name: value}
    return {name: value}


def _cases():
    for page in ("billing:usage", "billing:cost"):
        for name in ("start", "end", "day", "hour"):
            if name == "hour" and page == "billing:cost":
                continue  # Cost reports days only; it ignores hours
            for value in BAD_HOURS if name == "hour" else BAD_DATES:
                yield page, name, value


@pytest.mark.parametrize(("page", "name", "value"), list(_cases()))
def test_bad_dates_are_a_message_on_the_filter_bar(client, personas, htmx, page, name, value):
    admin = client(personas.admin)
    label = {"start": "From", "end": "To", "day": "Day", "hour": "Hour"}[name]
    for variant in VARIANTS:
        for headers in ({}, htmx):
            response = admin.get(reverse(page), {**_filters(name, value), **variant}, **headers)
            content = response.content.decode()
            csv = variant.get("format") == "csv"
            assert response.status_code == (400 if csv else 200), (variant, headers)
            assert response["Content-Type"].startswith("text/html")
            assert 'id="filter-errors"' in content
            assert f"{label}: " in content
            assert "2000 to 2999" in content
            if name in ("start", "end"):
                filter_bar = content[content.index('id="filter-' + name + '"') :]
                assert filter_bar.split(">")[0].count('aria-invalid="true"') == 1


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_the_edges_of_the_range_are_reports(client, personas, page):
    admin = client(personas.admin)
    for filters in (
        {"range": "custom", "start": "2999-12-01", "end": "2999-12-31"},
        {"range": "custom", "start": "2000-01-01", "end": "2000-01-31"},
        {"day": "2999-12-31"},
        {"hour": "2999-12-31T23"},
    ):
        for variant in VARIANTS:
            response = admin.get(reverse(page), {**filters, **variant})
            assert response.status_code == 200, (filters, variant)
            assert b"filter-errors" not in response.content


def test_an_hour_with_minutes_or_an_offset_is_read_as_its_utc_hour(client, personas):
    admin = client(personas.admin)
    for hour in ("2026-11-01T13:45", "2026-11-01T15:00+02:00"):
        page = admin.get(reverse("billing:usage"), {"hour": hour}).content.decode()
        assert "13:00 to 14:00 UTC" in page


def test_nothing_is_written(client, personas):
    admin = client(personas.admin)
    admin.get(reverse("billing:usage"), {"day": "9999-12-31", "format": "csv"})
    assert not UsageDaily.objects.exists()
