"""Admin API lists issue the same number of queries whatever the number of rows."""

import pytest

from tests.api.test_pagination import _keys
from tests.factories import MemberFactory, WorkspaceFactory


@pytest.mark.parametrize(
    ("path", "fill"),
    [
        ("organizations/users", lambda p, n: MemberFactory.create_batch(n, organization=p.org)),
        (
            "organizations/workspaces",
            lambda p, n: WorkspaceFactory.create_batch(n, organization=p.org),
        ),
        ("organizations/api_keys", lambda p, n: _keys(p, n, offset=n * 7)),
        ("organizations/invites", lambda p, n: None),
    ],
)
def test_list_queries_do_not_grow(api, personas, django_assert_max_num_queries, path, fill):
    api.get("organizations/me")  # the key's first use records when it was last used
    fill(personas, 5)
    with django_assert_max_num_queries(50) as small:
        api.get(path, {"limit": 100})
    fill(personas, 60)
    with django_assert_max_num_queries(50) as large:
        body = api.get(path, {"limit": 100}).json()
    assert len(small.captured_queries) == len(large.captured_queries)
    assert body["data"] is not None
