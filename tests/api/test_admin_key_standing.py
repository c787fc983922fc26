"""An Admin key acts with its creator's current standing: it stops working when its creator
is no longer an admin or no longer a member, says so, and works again once they are."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import OrgRole
from tests.api.test_contract import error
from tests.factories import MemberFactory, UserFactory


@pytest.fixture
def grace(personas):
    """A second admin, with two Admin keys of her own."""
    user = UserFactory(email="grace@acme.test")
    MemberFactory(organization=personas.org, user=user, role=OrgRole.ADMIN)
    secrets = [
        services.admin_key_create(
            actor=Actor.for_user(user), organization=personas.org, name=f"grace {i}"
        )[1]
        for i in range(2)
    ]
    return user, secrets


def _me(secret: str):
    return Client(HTTP_X_API_KEY=secret).get("/v1/organizations/me")


def test_demoted_creators_keys_stop_and_come_back(personas, grace):
    user, secrets = grace
    member = personas.member(user)
    assert _me(secrets[0]).status_code == 200
    services.member_change_role(
        actor=Actor.for_user(personas.admin), member=member, role=OrgRole.DEVELOPER
    )
    refused = error(_me(secrets[0]), 401, "authentication_error")
    assert "no longer an admin" in refused["message"]
    invite = Client(HTTP_X_API_KEY=secrets[1]).post(
        "/v1/organizations/invites",
        {"email": "billing2@acme.test", "role": "billing"},
        content_type="application/json",
    )
    error(invite, 401, "authentication_error")
    lost = AuditEvent.objects.filter(action="admin_key.creator_lost")
    assert lost.count() == 2 and {e.target_type for e in lost} == {"admin_key"}
    services.member_change_role(
        actor=Actor.for_user(personas.admin), member=member, role=OrgRole.ADMIN
    )
    assert _me(secrets[0]).status_code == 200
    assert AuditEvent.objects.filter(action="admin_key.creator_restored").count() == 2


def test_removed_creators_keys_stop(personas, grace):
    user, secrets = grace
    services.member_remove(actor=Actor.for_user(personas.admin), member=personas.member(user))
    refused = error(_me(secrets[0]), 401, "authentication_error")
    assert "no longer a member" in refused["message"]
    assert AuditEvent.objects.filter(action="admin_key.creator_lost").count() == 2


def test_admin_keys_page_shows_keys_that_stopped(client, personas, grace):
    admin_client = client(personas.admin)
    user, _secrets = grace
    services.member_change_role(
        actor=Actor.for_user(personas.admin), member=personas.member(user), role=OrgRole.USER
    )
    page = admin_client.get(reverse("workspaces:admin_key_list")).content.decode()
    assert page.count('data-status="creator_not_admin"') == 2
    assert "Stopped: creator not an admin" in page


def test_demoting_asks_first_saying_how_many_keys_stop(client, personas, grace, htmx):
    admin_client = client(personas.admin)
    user, secrets = grace
    url = reverse("workspaces:member_change_role", args=[user.public_id])
    asked = admin_client.post(url, {"role": OrgRole.DEVELOPER}, **htmx)
    assert asked.status_code == 200 and asked["HX-Retarget"] == "#modal"
    assert "members:changed" in asked["HX-Trigger"]  # the row shows the role as it still is
    assert "stops the 2 Admin keys they created" in asked.content.decode()
    assert personas.member(user).role == OrgRole.ADMIN  # nothing changed yet
    done = admin_client.post(url, {"role": OrgRole.DEVELOPER, "confirm": "yes"}, **htmx)
    assert done.status_code == 204
    assert "2 Admin keys they created stopped working" in done["HX-Trigger"]
    assert personas.member(user).role == OrgRole.DEVELOPER
    assert _me(secrets[0]).status_code == 401


def test_removing_says_how_many_keys_stop(client, personas, grace, htmx):
    admin_client = client(personas.admin)
    user, _secrets = grace
    dialog = admin_client.get(reverse("workspaces:member_remove", args=[user.public_id]), **htmx)
    assert "stops the 2 Admin keys they created" in dialog.content.decode()


def test_demoting_a_member_without_keys_asks_without_mentioning_keys(client, personas, htmx):
    admin_client = client(personas.admin)
    other = UserFactory(email="linus@acme.test")
    MemberFactory(organization=personas.org, user=other, role=OrgRole.ADMIN)
    url = reverse("workspaces:member_change_role", args=[other.public_id])
    response = admin_client.post(url, {"role": OrgRole.DEVELOPER}, **htmx)
    assert response.status_code == 200 and response["HX-Retarget"] == "#modal"
    assert "admin-keys-stopping" not in response.content.decode()
    assert personas.member(other).role == OrgRole.ADMIN


def _badges(admin_client) -> list[tuple[str, str, str]]:
    """Each stopped key's (data-status, tooltip, badge text) on Settings > Admin Keys."""
    page = admin_client.get(reverse("workspaces:admin_key_list")).content.decode()
    found = re.findall(
        r'<span class="badge badge--danger" data-status="([^"]+)" title="([^"]+)">([^<]+)</span>',
        page,
    )
    return [(status, html.unescape(title), text) for status, title, text in found]


def test_a_removed_creators_keys_say_the_creator_left(client, personas, grace):
    user, _secrets = grace
    services.member_remove(actor=Actor.for_user(personas.admin), member=personas.member(user))
    badges = _badges(client(personas.admin))
    assert badges == 2 * [
        (
            "creator_left",
            "This Admin key no longer works: its creator is no longer a member of the organization.",
            "Stopped: creator left the organization",
        )
    ]


def _staff_sets_active(staff_client, user, active: bool):
    """Staff tick or untick Active on the user's page of the Django admin."""
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name not in ("password", "is_active")
    }
    data["groups"] = data["user_permissions"] = []
    if active:
        data["is_active"] = "on"
    inlines = staff_client.get(url).context["inline_admin_formsets"]
    for inline in inlines:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
        for index, member_form in enumerate(inline.formset.forms):
            data[f"{inline.formset.prefix}-{index}-id"] = member_form.instance.pk
            data[f"{inline.formset.prefix}-{index}-user"] = user.pk
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def test_a_deactivated_creators_keys_stop_say_why_and_come_back(client, personas, grace, staff):
    user, secrets = grace
    staff_client = client(staff)
    assert _me(secrets[0]).status_code == 200
    _staff_sets_active(staff_client, user, active=False)
    user.refresh_from_db()
    assert not user.is_active
    refused = error(_me(secrets[0]), 401, "authentication_error")
    assert refused["message"] == (
        "This Admin key no longer works: its creator's account was deactivated."
    )
    assert _badges(client(personas.admin)) == 2 * [
        (
            "creator_deactivated",
            "This Admin key no longer works: its creator's account was deactivated.",
            "Stopped: creator deactivated",
        )
    ]
    lost = AuditEvent.objects.filter(action="admin_key.creator_lost")
    assert lost.count() == 2
    assert {e.organization_id for e in lost} == {personas.org.id}
    assert all(e.after["why"] == "account deactivated" and e.actor == staff for e in lost)
    deactivated = AuditEvent.objects.get(action="user.set_active")
    assert (deactivated.organization_id, deactivated.target_id) == (None, user.public_id)
    _staff_sets_active(staff_client, user, active=True)
    assert _me(secrets[0]).status_code == 200
    assert AuditEvent.objects.filter(action="admin_key.creator_restored").count() == 2


def test_a_deactivated_member_who_is_not_an_admin_changes_no_key(personas, staff):
    developer = personas.member(personas.developer)
    services.user_set_active(actor=Actor.for_user(staff), user=developer.user, active=False)
    assert (
        not AuditEvent.objects.filter(action__startswith="admin_key.")
        .exclude(action="admin_key.create")
        .exists()
    )
