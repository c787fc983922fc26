"""Removing a member from a workspace."""

import pytest

from tests.helpers import workspace_url
from workspaces.models import WorkspaceMember


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_remove_member_by_role(
    client, personas, production_admined_by_developer, htmx, who, status
):
    response = client(getattr(personas, who)).post(
        workspace_url(
            "workspaces:workspace_member_remove",
            production_admined_by_developer,
            personas.user.public_id,
        ),
        **htmx,
    )
    assert response.status_code == status
    assert WorkspaceMember.objects.filter(
        workspace=production_admined_by_developer, user=personas.user
    ).exists() is (status != 204)


def test_remove_member_of_other_org_is_404(client, personas, production_admined_by_developer):
    response = client(personas.admin).post(
        workspace_url(
            "workspaces:workspace_member_remove",
            production_admined_by_developer,
            personas.outsider.public_id,
        )
    )
    assert response.status_code == 404
