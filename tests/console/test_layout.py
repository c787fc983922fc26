"""What every page shares: the error pages and the favicon."""

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error


def test_favicon(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/console/favicon.svg"


@pytest.mark.parametrize(
    "url", ["/no-such-page/", "/settings/workspaces/wrkspc_000000000000000000000000/"]
)
def test_the_demo_serves_the_consoles_own_404(settings, admin_client, url):
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


def test_the_demo_still_redirects_to_the_address_with_a_slash(settings, admin_client):
    settings.DEBUG = True
    response = admin_client.get("/settings/members")
    assert response.status_code == 301 and response["Location"] == "/settings/members/"


def test_the_server_error_page_has_the_logo():
    page = server_error(RequestFactory().get("/")).content.decode()
    assert '<div class="brand"><span class="mark" aria-hidden="true"></span>Console</div>' in page
    assert 'href="/static/console/console.css"' in page
    assert 'href="/static/console/favicon.svg"' in page
