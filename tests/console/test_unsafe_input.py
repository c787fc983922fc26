"""Control characters in an address are refused before any view, on pages and APIs alike."""

import logging

import pytest
from django.test import Client

from console.logging import ClientErrorsWithoutTraceback

PAGE_ADDRESSES = [
    "/settings/workspaces/wrkspc_%00/",
    "/settings/api-keys/apikey_%00/rename/",
    "/settings/members/%00/remove/",
    "/settings/invites/%00/revoke/",
    "/settings/admin-keys/%00/disable/",
    "/settings/workspaces/?q=%00",
    "/settings/api-keys/?workspace=%0D%0A",
    "/settings/usage/?models[]=%00",
    "/settings/members/?%00=1",
]
API_ADDRESSES = [
    "/v1/organizations/users?email=%00",
    "/v1/organizations/workspaces?after_id=%00",
    "/v1/organizations/workspaces/wrkspc_%00",
    "/v1/organizations/usage_report/messages?models[]=%00",
]


@pytest.mark.parametrize("address", PAGE_ADDRESSES)
def test_pages_answer_400_with_a_message(client, personas, address):
    admin = client(personas.admin)
    for method in ("get", "post"):
        response = getattr(admin, method)(address)
        assert response.status_code == 400
        assert b"control characters" in response.content


@pytest.mark.parametrize("address", API_ADDRESSES)
def test_apis_answer_400_in_the_error_envelope(db, address):
    response = Client().get(address)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert response["request-id"] == body["request_id"]


def test_ordinary_unicode_in_addresses_is_untouched(client, personas):
    assert client(personas.admin).get("/settings/workspaces/?q=%C3%89quipe").status_code == 200


def test_client_errors_are_logged_without_their_traceback():
    try:
        raise PermissionError("no")
    except PermissionError as error:
        record = logging.LogRecord(
            "django.request", logging.WARNING, "", 0, "Forbidden", (), (type(error), error, None)
        )
    record.status_code = 403
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is None
    server_error = logging.LogRecord(
        "django.request", logging.ERROR, "", 0, "Error", (), (ValueError, ValueError(), None)
    )
    server_error.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(server_error) and server_error.exc_info is not None


def test_a_posted_nul_is_400_before_any_view_reads_it(client, personas, htmx):
    """A view reading `request.POST` itself (a limit row's save) never meets NUL: PostgreSQL
    refuses to compare text holding one, which answered 500."""
    workspace = personas.default_workspace.public_id
    admin = client(personas.admin)
    for url, data in (
        (
            f"/settings/workspaces/{workspace}/limits/rate/",
            {"model_group": "name\x00", "limiter": "requests_per_minute", "value": "10"},
        ),
        (f"/settings/workspaces/{workspace}/limits/rate/reset/", {"model_group\x00": "x"}),
        ("/settings/members/invite/", {"email": "a@b.test", "role": "user\x00"}),
    ):
        page = admin.post(url, data)
        assert page.status_code == 400 and b"control characters" in page.content
        toast = admin.post(url, data, **htmx)
        assert toast.status_code == 400
        assert toast["Content-Type"].startswith("text/plain")
        assert "which are not allowed" in toast.content.decode()


def test_newlines_and_tabs_in_posted_text_reach_the_form(client, personas, htmx):
    workspace = personas.default_workspace.public_id
    url = f"/settings/workspaces/{workspace}/limits/spend/request/"
    response = client(personas.developer).post(url, {"amount": "1", "message": "a\r\n\tb"}, **htmx)
    assert response.status_code != 400 or b"control characters" not in response.content
