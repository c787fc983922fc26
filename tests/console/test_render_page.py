"""`render_page` and `render_dialog`: the whole page for a normal request, a boosted
navigation and a history restore; the partial for other htmx requests; and every answer says
it varies with the htmx headers, whether or not its view remembers to."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django_htmx.middleware import HtmxDetails

from console.htmx import render_page, wants_partial
from tests.helpers import workspace_url

HTMX = {"HTTP_HX_REQUEST": "true"}
HISTORY_RESTORE = {**HTMX, "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
BOOSTED = {**HTMX, "HTTP_HX_BOOSTED": "true"}
FRAME = 'data-testid="user-menu"'  # in the top bar, on every whole page


def _varies_on_htmx(response) -> bool:
    return "hx-request" in {part.strip().lower() for part in response.get("Vary", "").split(",")}


@pytest.fixture
def pages(personas, production_key):
    key, _secret = production_key
    workspace = key.workspace
    return {
        "list": [
            reverse("workspaces:workspace_list"),
            reverse("workspaces:api_key_list"),
            workspace_url("workspaces:workspace_keys", workspace),
            workspace_url("workspaces:workspace_members", workspace),
            reverse("workspaces:organization_members"),
            reverse("workspaces:admin_key_list"),
            reverse("workspaces:audit_log"),
            reverse("billing:usage"),
            reverse("billing:cost"),
        ],
        "dialog": [
            reverse("workspaces:api_key_rename", args=[key.public_id]),
            workspace_url("workspaces:workspace_edit", workspace),
            workspace_url("workspaces:workspace_member_add", workspace),
            reverse("workspaces:invite_create"),
        ],
    }


@pytest.mark.parametrize("kind", ["list", "dialog"])
def test_a_history_restore_gets_the_whole_page(client, personas, pages, kind):
    admin = client(personas.admin)
    for url in pages[kind]:
        whole = admin.get(url)
        partial = admin.get(url, **HTMX)
        restored = admin.get(url, **HISTORY_RESTORE)
        boosted = admin.get(url, **BOOSTED)
        assert FRAME in whole.content.decode(), url
        assert FRAME not in partial.content.decode(), url
        assert FRAME in restored.content.decode(), url
        assert FRAME in boosted.content.decode(), url
        if kind == "dialog":
            assert "data-modal" in partial.content.decode()
            assert "modal--page" in restored.content.decode()


@pytest.mark.parametrize("kind", ["list", "dialog"])
def test_every_answer_varies_on_hx_request(client, personas, pages, kind):
    admin = client(personas.admin)
    for url in pages[kind]:
        for headers in ({}, HTMX, HISTORY_RESTORE, BOOSTED):
            assert _varies_on_htmx(admin.get(url, **headers)), (url, headers)


def test_render_page_sets_vary_for_a_view_that_forgets_it(db):
    factory = RequestFactory()
    for headers in ({}, HTMX, HISTORY_RESTORE):
        request = factory.get("/", **headers)
        request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
        request.user = AnonymousUser()  # type: ignore[attr-defined]
        response = render_page(request, "workspaces/admin_key_list.html", {}, partial="list")
        assert _varies_on_htmx(response)
        assert "HX-History-Restore-Request" in response["Vary"]


def test_wants_partial_only_for_htmx_asking_for_a_part():
    factory = RequestFactory()

    def asks(**headers) -> bool:
        request = factory.get("/", **headers)
        request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
        return wants_partial(request)

    assert asks(**HTMX)
    assert not asks()
    assert not asks(**BOOSTED)
    assert not asks(**HISTORY_RESTORE)
    assert not wants_partial(factory.get("/"))  # before django-htmx's middleware
