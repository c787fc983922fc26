"""List pagination: limits, both directions over 2,500 objects, stable under inserts."""

import pytest

from console.ids import new_id
from tests.factories import WorkspaceFactory
from workspaces.models import ApiKey


def _keys(personas, count: int, *, start: float = 1_700_000_000.0, offset: int = 0) -> list[str]:
    workspace = WorkspaceFactory(organization=personas.org)
    keys = [
        ApiKey(
            public_id=new_id("apikey_", now=start + i),
            organization_id=personas.org.pk,
            workspace=workspace,
            name=f"key {i}",
            hint=f"sk-ant-api03-abc...{i:04d}",
            secret_hash=f"{i + offset:064x}",
        )
        for i in range(count)
    ]
    ApiKey.objects.bulk_create(keys)
    return [key.public_id for key in keys]


@pytest.mark.parametrize(
    ("limit", "ok"),
    [("0", False), ("1", True), ("1000", True), ("1001", False), ("x", False), ("-3", False)],
)
def test_limit_bounds(api, limit, ok):
    response = api.get("organizations/api_keys", {"limit": limit})
    assert (response.status_code == 200) is ok
    if not ok:
        assert (
            response.status_code == 400
            and response.json()["error"]["type"] == "invalid_request_error"
        )


def test_both_cursors_at_once_is_400(api):
    assert api.get("organizations/api_keys", {"before_id": "a", "after_id": "b"}).status_code == 400


def test_default_limit_is_20(api, personas):
    _keys(personas, 25)
    body = api.get("organizations/api_keys").json()
    assert len(body["data"]) == 20 and body["has_more"] is True


def test_forward_and_backward_over_2500(api, personas):
    ids = _keys(personas, 2_500)
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 1000, **({"after_id": after} if after else {})}
        body = api.get("organizations/api_keys", params).json()
        page = [item["id"] for item in body["data"]]
        assert body["first_id"] == page[0] and body["last_id"] == page[-1]
        seen += page
        pages += 1
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert seen == ids and pages == 3
    backward, before = [], ids[-1]
    body = api.get("organizations/api_keys", {"limit": 700, "before_id": before}).json()
    while True:
        backward = [item["id"] for item in body["data"]] + backward
        if not body["has_more"]:
            break
        body = api.get(
            "organizations/api_keys", {"limit": 700, "before_id": body["first_id"]}
        ).json()
    assert backward == ids[:-1]
    last = api.get("organizations/api_keys", {"limit": 1, "after_id": ids[-2]}).json()
    assert last == {**last, "has_more": False, "first_id": ids[-1], "last_id": ids[-1]}
    empty = api.get("organizations/api_keys", {"after_id": ids[-1]}).json()
    assert empty == {"data": [], "has_more": False, "first_id": None, "last_id": None}


def test_pages_are_stable_under_inserts(api, personas):
    ids = _keys(personas, 30)
    first = api.get("organizations/api_keys", {"limit": 10}).json()
    newer = _keys(personas, 5, start=1_800_000_000.0, offset=1_000)
    rest, after = [], first["last_id"]
    while after:
        body = api.get("organizations/api_keys", {"limit": 10, "after_id": after}).json()
        rest += [item["id"] for item in body["data"]]
        after = body["last_id"] if body["has_more"] else None
    assert [item["id"] for item in first["data"]] + rest == ids + newer


def test_token_pages_visit_every_item_once(api, personas):
    from accounts.audit import Actor
    from billing import services as billing_services

    for workspace in WorkspaceFactory.create_batch(23, organization=personas.org):
        billing_services.workspace_spend_limit_set(
            actor=Actor.for_user(personas.admin), workspace=workspace, amount_cents=700
        )
    seen, page = [], None
    while True:
        body = api.get(
            "organizations/spend_limits", {"limit": 7, **({"page": page} if page else {})}
        ).json()
        seen += [item["id"] for item in body["data"]]
        page = body["next_page"]
        assert body["has_more"] is (page is not None)
        if page is None:
            break
    assert len(seen) == len(set(seen)) == 24  # and the usage tier's


def test_a_token_of_one_list_is_refused_by_another(api, personas):
    first = api.get("organizations/rate_limits", {"limit": 2}).json()
    refused = api.get("organizations/spend_limit_increase_requests", {"page": first["next_page"]})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"error_code": "invalid_page"}


def test_reports_page_with_the_one_token_scheme(api, personas):
    from console.pagination import decode_page_token

    params = {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-04T00:00:00Z"}
    usage = api.get("organizations/usage_report/messages", {**params, "limit": 1}).json()
    assert decode_page_token(usage["next_page"]) == "2026-11-02T00:00:00+00:00"
    cost = api.get("organizations/cost_report", {**params, "limit": 2}).json()
    assert decode_page_token(cost["next_page"]) == "2026-11-03T00:00:00+00:00"
    # A token of another list names no bucket of a report, nor a report's bucket a key.
    other = api.get("organizations/rate_limits", {"limit": 2}).json()["next_page"]
    for path, query in (
        ("organizations/usage_report/messages", {**params, "page": other}),
        ("organizations/cost_report", {**params, "page": other}),
        (
            "organizations/usage_report/claude_code",
            {"starting_at": "2026-11-01", "page": usage["next_page"]},
        ),
    ):
        refused = api.get(path, query)
        assert refused.status_code == 400, path
        assert refused.json()["error"]["details"] == {"error_code": "invalid_page"}
