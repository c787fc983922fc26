"""No input breaks the Admin API: every endpoint of the generated document answers bad ids,
query strings, bodies and times with a 4xx in the error envelope, and changes nothing."""

import json
import re

import pytest

from accounts.models import AuditEvent
from console.api_urls import api as admin_api
from tests.factories import WorkspaceFactory
from workspaces.models import ApiKey, Workspace

PATHS = admin_api.get_openapi_schema(path_prefix="/v1/")["paths"]
OPERATIONS = [(method.upper(), path) for path, operations in PATHS.items() for method in operations]
BAD_IDS = ["%00", "wrkspc_%00", "%C2%B2", "%F0%9F%92%A9", "x" * 300, "..%2F..%2Fetc"]
BAD_TEXT = ["a\x00b", "\ud800", "\x07", "x" * 10_000, "line\r\nBcc: x@evil.test"]
BAD_TIMES = [
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-11-01T25:00:00Z",
    "2026-11-01T00:00:00+16:00",
    "9999-12-31T23:59:59-01:00",
    "10000-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "yesterday",
    "\x00",
]


def assert_refused(response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (400, 404, 405, 413)), response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "error" and body["request_id"] == response["request-id"]
    return body["error"]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture
def rows_before(personas):
    def count():
        return (AuditEvent.objects.count(), Workspace.objects.count(), ApiKey.objects.count())

    return count


@pytest.mark.parametrize(("method", "path"), [op for op in OPERATIONS if "{" in op[1]])
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_ids_that_name_nothing_are_404(api, rows_before, method, path, bad_id):
    before = rows_before()
    response = api.client.generic(method, _fill(path, bad_id), "{}", "application/json")
    assert_refused(response, 400, 404)
    assert rows_before() == before


def _query_parameters(method: str, path: str) -> list[str]:
    operation = PATHS[path][method.lower()]
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


@pytest.mark.parametrize(
    ("method", "path"), [op for op in OPERATIONS if op[0] == "GET" and _query_parameters(*op)]
)
def test_control_characters_in_any_query_parameter_are_400(api, personas, method, path):
    workspace = WorkspaceFactory(organization=personas.org).public_id
    url = _fill(path, workspace)
    for name in _query_parameters(method, path):
        for value in ("%00", "a%0Db", "%1B[31m"):
            response = api.client.get(f"{url}?{name}={value}&starting_at=2026-11-01T00:00:00Z")
            error = assert_refused(response, 400)
            assert error["details"] == {"error_code": "invalid_characters"}, name


@pytest.mark.parametrize("query", ["after_id=%00", "email=%00", "models[]=%00", "roles[]=%00"])
def test_the_reported_queries(api, query):
    for path in ("users", "invites", "api_keys", "usage_report/messages"):
        assert_refused(api.client.get(f"/v1/organizations/{path}?{query}"), 400)


POST_BODIES = {
    "/v1/organizations/workspaces": {"name": "ok"},
    "/v1/organizations/invites": {"email": "new@acme.test", "role": "user"},
    "/v1/organizations/workspaces/{workspace_id}/api_keys": {"name": "k"},
    "/v1/organizations/workspaces/{workspace_id}": {"name": "ok"},
    "/v1/organizations/workspaces/{workspace_id}/members": {
        "user_id": "user_x",
        "workspace_role": "workspace_user",
    },
    "/v1/organizations/spend_limits": {"amount": "100", "scope": {"type": "organization"}},
}


@pytest.mark.parametrize(("path", "body"), POST_BODIES.items())
@pytest.mark.parametrize("bad", BAD_TEXT)
def test_bad_text_in_json_bodies_is_400(api, personas, rows_before, path, body, bad):
    url = _fill(path, WorkspaceFactory(organization=personas.org).public_id)
    before = rows_before()
    for field in body:
        sent = json.dumps({**body, field: bad}) if isinstance(body[field], str) else None
        if sent is None:
            continue
        assert_refused(api.client.post(url, sent, content_type="application/json"), 400, 404)
    assert rows_before() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [op for op in OPERATIONS if "requestBody" in PATHS[op[1]][op[0].lower()]],
)
def test_json_nested_100000_deep_is_400(api, personas, method, path):
    url = _fill(path, WorkspaceFactory(organization=personas.org).public_id)
    deep = "[" * 100_000 + "]" * 100_000
    error = assert_refused(api.client.post(url, deep, content_type="application/json"), 400, 404)
    if error["type"] == "invalid_request_error":
        assert error["details"] == {"error_code": "json_too_deep"}


def test_unpaired_surrogates_and_nul_in_raw_json_are_400(api):
    for raw in ('{"name": "a\\u0000b"}', '{"name": "\\ud800"}', '{"\\u0000": "x"}'):
        error = assert_refused(
            api.client.post("/v1/organizations/workspaces", raw, content_type="application/json"),
            400,
        )
        assert error["details"] == {"error_code": "invalid_characters"}


@pytest.mark.parametrize("bad", BAD_TIMES)
def test_impossible_and_extreme_times_are_400_naming_the_range(api, personas, rows_before, bad):
    before = rows_before()
    for path in ("usage_report/messages", "cost_report"):
        for name in ("starting_at", "ending_at"):
            params = {"starting_at": "2026-11-01T00:00:00Z", name: bad}
            error = assert_refused(api.get(f"organizations/{path}", params), 400)
            assert name in error["message"]
    key = api.post(
        f"organizations/workspaces/{personas.default_workspace.public_id}/api_keys",
        {"name": "late", "expires_at": bad},
    )
    error = assert_refused(key, 400)
    if bad not in ("yesterday", "\x00"):
        assert "2000 to 2999" in error["message"] and "14:00" in error["message"]
    assert rows_before() == before


def test_forged_and_extreme_page_tokens_are_400(api):
    import base64

    for page in ("%%%", "x", base64.urlsafe_b64encode(b"9999-12-31T23:59:59-01:00").decode()):
        for path in ("usage_report/messages", "cost_report"):
            assert_refused(
                api.get(
                    f"organizations/{path}", {"starting_at": "2026-11-01T00:00:00Z", "page": page}
                ),
                400,
            )
    assert_refused(
        api.get("organizations/usage_report/claude_code", {"starting_at": "2026-02-30"}), 400
    )
    assert_refused(
        api.get("organizations/usage_report/claude_code", {"starting_at": "10000-01-01"}), 400
    )
