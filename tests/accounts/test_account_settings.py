"""Account settings: each person's time zone (detected at sign-in, chosen on the page, shown
with every time) and theme (the page, the account menu's switch, the first paint)."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent, Theme, User
from accounts.time_zones import BROWSER_COOKIE
from tests.factories import PASSWORD, UserFactory

SETTINGS_URL = reverse("accounts:account_settings")
THEME_URL = reverse("accounts:account_theme_set")


def signed_in(user: User, **cookies: str) -> Client:
    client = Client()
    client.force_login(user)
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


def reloaded(user: User) -> User:
    return User.objects.get(pk=user.pk)


# -- The page ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "billing", "developer", "user", "outsider"])
def test_every_signed_in_person_has_the_page(personas, who):
    response = signed_in(getattr(personas, who)).get(SETTINGS_URL)
    assert response.status_code == 200
    assert response.context["form"]["theme"].value() == Theme.SYSTEM


def test_a_person_in_no_organization_has_the_page(db):
    assert signed_in(UserFactory()).get(SETTINGS_URL).status_code == 200


def test_the_page_needs_sign_in(db):
    for response in (Client().get(SETTINGS_URL), Client().post(THEME_URL, {"theme": "dark"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_account_menu_leads_to_the_page(personas):
    page = signed_in(personas.user).get(reverse("billing:organization")).content.decode()
    menu = page[page.index('data-testid="user-menu"') :]
    assert f'href="{SETTINGS_URL}"' in menu[: menu.index("</details>")]


def test_saving_keeps_zone_and_theme(personas):
    client = signed_in(personas.developer)
    response = client.post(SETTINGS_URL, {"time_zone": "Europe/Paris", "theme": Theme.DARK})
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    user = reloaded(personas.developer)
    assert (user.time_zone, user.theme) == ("Europe/Paris", Theme.DARK)
    page = client.get(SETTINGS_URL).content.decode()
    assert "Account settings saved." in page
    assert '<option value="Europe/Paris" selected>Europe/Paris</option>' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons", "theme": Theme.DARK}, "time_zone"),
        ({"time_zone": "", "theme": Theme.DARK}, "time_zone"),
        ({"time_zone": "Europe/Paris", "theme": "sepia"}, "theme"),
    ],
)
def test_bad_input_is_shown_and_changes_nothing(personas, data, field):
    response = signed_in(personas.user).post(SETTINGS_URL, data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    user = reloaded(personas.user)
    assert (user.time_zone, user.theme) == ("", Theme.SYSTEM)


def test_an_older_zone_name_stays_selectable(personas):
    User.objects.filter(pk=personas.user.pk).update(time_zone="US/Pacific")
    page = signed_in(personas.user).get(SETTINGS_URL).content.decode()
    assert '<option value="US/Pacific" selected>US/Pacific</option>' in page


def test_preferences_are_no_organization_event(personas):
    before = AuditEvent.objects.count()
    signed_in(personas.admin).post(SETTINGS_URL, {"time_zone": "Asia/Tokyo", "theme": "light"})
    assert AuditEvent.objects.count() == before


def test_service_refuses_a_bad_zone_before_touching_the_user(personas):
    user = personas.user
    with pytest.raises(ValidationError) as error:
        services.account_settings_update(user=user, time_zone="Nowhere/Town", theme=Theme.DARK)
    assert "time_zone" in error.value.message_dict
    assert (user.time_zone, user.theme) == ("", Theme.SYSTEM)


# -- Time zones -------------------------------------------------------------------------


def test_sign_in_keeps_the_browser_zone(personas):
    client = Client()
    client.cookies[BROWSER_COOKIE] = "America/Los_Angeles"
    response = client.post(
        reverse("accounts:login"), {"username": personas.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert reloaded(personas.user).time_zone == "America/Los_Angeles"


def test_sign_in_never_replaces_a_chosen_zone(personas):
    User.objects.filter(pk=personas.user.pk).update(time_zone="Europe/Paris")
    client = Client()
    client.cookies[BROWSER_COOKIE] = "America/Los_Angeles"
    client.post(reverse("accounts:login"), {"username": personas.user.email, "password": PASSWORD})
    assert reloaded(personas.user).time_zone == "Europe/Paris"


@pytest.mark.parametrize("cookie", ["Not/AZone", "localtime", "", "Europe/Paris; x=1"])
def test_sign_in_ignores_what_is_no_zone(personas, cookie):
    client = Client()
    client.cookies[BROWSER_COOKIE] = cookie
    client.post(reverse("accounts:login"), {"username": personas.user.email, "password": PASSWORD})
    assert reloaded(personas.user).time_zone == ""


def _audit_time(client: Client) -> str:
    page = client.get(reverse("workspaces:audit_log"), {"action": "organization.rename"})
    page = page.content.decode()
    start = page.index("<time ")
    return page[start : page.index("</time>", start)]


@time_machine.travel(datetime(2026, 1, 15, 20, 30, tzinfo=UTC), tick=False)
def test_times_show_in_the_users_zone_with_the_zone(personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="Renamed"
    )
    User.objects.filter(pk=personas.admin.pk).update(time_zone="America/Los_Angeles")
    assert _audit_time(signed_in(personas.admin)).endswith(">15 Jan 2026, 12:30:00 PST")


@time_machine.travel(datetime(2026, 1, 15, 20, 30, tzinfo=UTC), tick=False)
def test_until_one_is_chosen_the_browser_zone_applies_then_the_servers(personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="Renamed"
    )
    assert _audit_time(signed_in(personas.admin, console_tz="Asia/Tokyo")).endswith(
        ">16 Jan 2026, 05:30:00 JST"
    )
    assert _audit_time(signed_in(personas.admin)).endswith(">15 Jan 2026, 20:30:00 UTC")


def test_the_account_menu_names_the_zone(personas):
    User.objects.filter(pk=personas.user.pk).update(time_zone="Europe/Paris")
    page = signed_in(personas.user).get(reverse("billing:organization")).content.decode()
    assert "Times in Europe/Paris" in page


@pytest.mark.parametrize("name", ["billing:usage", "billing:cost"])
def test_reports_say_which_zone_their_days_are_in(personas, name):
    page = signed_in(personas.admin).get(reverse(name)).content.decode()
    assert "in UTC." in page
    User.objects.filter(pk=personas.admin.pk).update(time_zone="America/Los_Angeles")
    page = signed_in(personas.admin).get(reverse(name)).content.decode()
    assert "in UTC, not in your time zone (America/Los_Angeles)." in page


# -- Theme ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theme", "scheme"),
    [(Theme.SYSTEM, "light dark"), (Theme.LIGHT, "light"), (Theme.DARK, "dark")],
)
def test_the_first_paint_has_the_chosen_theme(personas, theme, scheme):
    User.objects.filter(pk=personas.user.pk).update(theme=theme)
    page = signed_in(personas.user).get(reverse("billing:organization")).content.decode()
    assert f'<html lang="en" data-theme="{theme}">' in page
    assert f'<meta name="color-scheme" content="{scheme}">' in page
    assert f'value="{theme}" aria-pressed="true"' in page


def test_signed_out_pages_follow_the_device(db):
    page = Client().get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in page and 'content="light dark"' in page


def test_theme_switch_from_the_menu_with_htmx(personas):
    response = signed_in(personas.user).post(
        THEME_URL, {"theme": "dark", "next": "/settings/members/"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"]) == {"console:theme": {"theme": "dark"}}
    assert reloaded(personas.user).theme == Theme.DARK


def test_theme_switch_without_script_goes_back(personas):
    response = signed_in(personas.user).post(
        THEME_URL, {"theme": "light", "next": "/settings/members/"}
    )
    assert response.status_code == 302 and response["Location"] == "/settings/members/"
    assert reloaded(personas.user).theme == Theme.LIGHT


def test_theme_switch_goes_back_only_within_the_console(personas):
    response = signed_in(personas.user).post(
        THEME_URL, {"theme": "light", "next": "https://elsewhere.example/"}
    )
    assert response["Location"] == "/"


def test_theme_switch_refuses_an_unknown_theme(personas):
    client = signed_in(personas.user)
    response = client.post(THEME_URL, {"theme": "sepia"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response.content.decode() == "Choose System, Light or Dark."
    response = client.post(THEME_URL, {"theme": "sepia", "next": "/settings/members/"})
    assert response["Location"] == "/settings/members/"
    assert reloaded(personas.user).theme == Theme.SYSTEM


def test_theme_switch_is_post_only(personas):
    assert signed_in(personas.user).get(THEME_URL).status_code == 405
