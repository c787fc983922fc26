"""What every page shares: the layout's landmarks and names, the error pages, the favicon,
and the htmx settings the CSP needs."""

import json
import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error


def _page(client: Client, url: str = "/settings/organization/") -> str:
    return client.get(url).content.decode()


def test_skip_link_comes_first_and_leads_to_main(personas, client):
    admin_client = client(personas.admin)
    page = _page(admin_client)
    body = page[page.index("<body") :]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'class="skip-link" href="#main"' in first_link
    assert '<main class="page" id="main" tabindex="-1">' in page


def test_menu_buttons_are_named_after_what_they_show(client, personas):
    admin_client = client(personas.admin)
    url = reverse("workspaces:workspace_members", args=[personas.default_workspace.public_id])
    page = _page(admin_client, url)
    assert 'aria-label="Admin, account menu"' in page
    assert 'aria-label="Default, switch workspace"' in page
    assert 'aria-label="Organization: Acme Test"' in page


def test_htmx_neither_settles_style_nor_keeps_snapshots(personas, client):
    """The CSP refuses style attributes: htmx must not copy one onto new content, nor put
    back a snapshot holding one."""
    admin_client = client(personas.admin)
    page = _page(admin_client)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1))
    assert "style" not in config["attributesToSettle"]
    assert config["historyCacheSize"] == 0
    assert config["historyRestoreAsHxRequest"] is False


def test_favicon(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/console/favicon.svg"


@pytest.mark.parametrize(
    "url", ["/no-such-page/", "/settings/workspaces/wrkspc_000000000000000000000000/"]
)
def test_the_demo_serves_the_consoles_own_404(personas, client, settings, url):
    admin_client = client(personas.admin)
    settings.DEBUG = True
    response = admin_client.get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert "URLconf" not in page and "Django tried these URL patterns" not in page


def test_the_demo_keeps_the_apis_404_envelope(settings, db):
    settings.DEBUG = True
    response = Client().get("/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["type"] == "error"


def test_the_demo_still_redirects_to_the_address_with_a_slash(personas, client, settings):
    admin_client = client(personas.admin)
    settings.DEBUG = True
    response = admin_client.get("/settings/members")
    assert response.status_code == 301 and response["Location"] == "/settings/members/"


def test_the_server_error_page_has_the_logo():
    page = server_error(RequestFactory().get("/")).content.decode()
    assert '<div class="brand"><span class="mark" aria-hidden="true"></span>Console</div>' in page
    assert 'href="/static/console/console.css"' in page
    assert 'href="/static/console/favicon.svg"' in page
