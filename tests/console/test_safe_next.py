"""Every `next` goes through one check (`console.http.safe_next`): a page of this site is
followed, anything else (another site, `javascript:`, a scheme-relative `//host`) falls back
to the page's own default, in links and in redirects alike, and never answers 400."""

import logging
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from tests.factories import PASSWORD
from tests.helpers import workspace_url
from workspaces import services
from workspaces.models import ApiKey

UNSAFE = [
    "https://evil.test/phish",
    "javascript:alert(1)",
    "//evil.test/phish",
    "/\\evil.test",
    "https:evil.test",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "-99999999999999999999",  # relative: and `redirect` would look it up as a URL's name
    "settings",
    "?next=/",
]
# In a query string, a control character is refused before any view (400).
PRINTABLE_UNSAFE = [url for url in UNSAFE if url.isprintable()]
KEY_DIALOGS = ["rename", "disable", "enable", "delete"]


def _hrefs_and_nexts(page: str) -> list[str]:
    """The links and posted `next` of the page's dialog (the page around it links to itself)."""
    dialog = re.search(r"<dialog.*</dialog>", page, re.DOTALL)
    assert dialog is not None
    found = dialog.group()
    return re.findall(r'href="([^"]*)"', found) + re.findall(r'name="next" value="([^"]*)"', found)


@pytest.fixture
def key(personas, production_key):
    key, _secret = production_key
    return key


def _dialog_url(action: str, key: ApiKey) -> str:
    return reverse(f"workspaces:api_key_{action}", args=[key.public_id])


@pytest.mark.parametrize("action", KEY_DIALOGS)
@pytest.mark.parametrize("unsafe", PRINTABLE_UNSAFE)
@pytest.mark.parametrize("from_htmx", [False, True])
def test_key_dialogs_never_link_to_an_unsafe_next(client, personas, key, action, unsafe, from_htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if from_htmx else {}
    page = client(personas.admin).get(_dialog_url(action, key), {"next": unsafe}, **headers)
    assert page.status_code == 200
    links = _hrefs_and_nexts(page.content.decode())
    keys_tab = workspace_url("workspaces:workspace_keys", key.workspace)
    assert links.count(keys_tab) >= 3  # Cancel, the close button and the posted `next`
    assert not [link for link in links if "evil" in link or "script" in link or ":" in link]


@pytest.mark.parametrize("action", KEY_DIALOGS)
def test_key_dialogs_keep_a_next_of_this_site(client, personas, key, action):
    page = client(personas.admin).get(_dialog_url(action, key), {"next": "/settings/api-keys/"})
    links = _hrefs_and_nexts(page.content.decode())
    assert links.count("/settings/api-keys/") >= 3


@pytest.mark.parametrize("action", KEY_DIALOGS)
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_key_actions_never_redirect_to_an_unsafe_next(
    client, personas, key, action, unsafe, caplog
):
    if action == "enable":
        services.api_key_disable(actor=Actor.for_user(personas.admin), key=key)
    with caplog.at_level(logging.WARNING, logger="django"):
        response = client(personas.admin).post(
            _dialog_url(action, key), {"name": "renamed", "next": unsafe}
        )
    assert response.status_code == 302
    assert response["Location"] == workspace_url("workspaces:workspace_keys", key.workspace)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_key_action_goes_back_to_a_next_of_this_site(client, personas, key):
    response = client(personas.admin).post(
        _dialog_url("rename", key), {"name": "renamed", "next": "/settings/api-keys/?status=active"}
    )
    assert response["Location"] == "/settings/api-keys/?status=active"


@pytest.mark.parametrize("unsafe", PRINTABLE_UNSAFE)
def test_workspace_edit_ignores_an_unsafe_next(client, personas, production, unsafe):
    url = workspace_url("workspaces:workspace_edit", production)
    admin = client(personas.admin)
    links = _hrefs_and_nexts(admin.get(url, {"next": unsafe}).content.decode())
    assert not [link for link in links if "evil" in link or "script" in link]
    saved = admin.post(url, {"name": "Renamed", "display_color": "#2A9D8F", "next": unsafe})
    assert saved["Location"] == reverse("workspaces:workspace_list")


def test_workspace_edit_from_its_page_goes_back_there(client, personas, production, htmx):
    detail = workspace_url("workspaces:workspace_detail", production)
    url = workspace_url("workspaces:workspace_edit", production)
    admin = client(personas.admin)
    assert f'name="next" value="{detail}"' in admin.get(url, {"next": detail}).content.decode()
    saved = admin.post(url, {"name": "Renamed", "display_color": "#2A9D8F", "next": detail})
    assert saved["Location"] == detail
    reloaded = admin.post(
        url, {"name": "Again", "display_color": "#2A9D8F", "next": detail}, **htmx
    )
    assert reloaded.headers.get("HX-Refresh") == "true"


@pytest.mark.parametrize("unsafe", UNSAFE)
def test_theme_and_organization_switch_ignore_an_unsafe_next(client, personas, unsafe):
    admin = client(personas.admin)
    theme = admin.post(reverse("accounts:account_theme_set"), {"theme": "dark", "next": unsafe})
    assert theme["Location"] == "/"
    switch = admin.post(
        reverse("accounts:organization_switch"),
        {"organization_id": str(personas.org.id), "next": unsafe},
    )
    assert switch["Location"] == "/"


@pytest.mark.parametrize("unsafe", PRINTABLE_UNSAFE)
def test_sign_in_and_out_ignore_an_unsafe_next(personas, unsafe):
    anonymous = Client()
    form = anonymous.get(reverse("accounts:login"), {"next": unsafe}).content.decode()
    assert 'name="next" value=""' in form
    signed_in = anonymous.post(
        reverse("accounts:login"),
        {"username": personas.admin.email, "password": PASSWORD, "next": unsafe},
    )
    assert signed_in["Location"] == "/"
    signed_out = anonymous.post(reverse("accounts:logout"), {"next": unsafe})
    assert signed_out["Location"] == reverse("accounts:login")


def test_sign_in_follows_a_next_of_this_site(personas):
    signed_in = Client().post(
        reverse("accounts:login"),
        {"username": personas.admin.email, "password": PASSWORD, "next": "/settings/members/"},
    )
    assert signed_in["Location"] == "/settings/members/"


def test_the_lockout_page_keeps_no_unsafe_next(personas, settings):
    settings.AXES_FAILURE_LIMIT = 1
    anonymous = Client()
    anonymous.post(reverse("accounts:login"), {"username": "admin@acme.test", "password": "x"})
    locked = anonymous.post(
        reverse("accounts:login"),
        {"username": "admin@acme.test", "password": "x", "next": "https://evil.test/"},
    )
    assert locked.status_code == 429
    assert b"evil.test" not in locked.content


def test_an_https_request_refuses_a_plain_http_next_of_the_same_host(client, personas, key):
    page = client(personas.admin).get(
        _dialog_url("rename", key), {"next": "http://testserver/settings/"}, secure=True
    )
    assert "http://testserver" not in page.content.decode()
