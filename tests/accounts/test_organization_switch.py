"""Switching to another of one's organizations."""

from django.urls import reverse

from accounts.roles import OrgRole
from tests.factories import MemberFactory


def test_switch_organization(client, personas):
    MemberFactory(organization=personas.other_org, user=personas.developer, role=OrgRole.ADMIN)
    c = client(personas.developer)
    assert c.get(reverse("workspaces:audit_log")).status_code == 403
    c.post(reverse("accounts:organization_switch"), {"organization_id": str(personas.other_org.id)})
    assert c.get(reverse("workspaces:audit_log")).status_code == 200
    # An organization the user does not belong to cannot be chosen.
    outsider = client(personas.outsider)
    outsider.post(
        reverse("accounts:organization_switch"), {"organization_id": str(personas.org.id)}
    )
    assert (
        outsider.get(reverse("billing:organization")).context["organization"] == personas.other_org
    )
