"""The audit trail: append-only everywhere, read-only in the staff admin; Settings > Audit
log lists it newest first, filtered, by cursor."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.helpers import member_urls


def test_audit_log_lists_newest_first_and_filters(client, personas, htmx):
    c = client(personas.admin)
    c.post(reverse("billing:organization_rename"), {"name": "First"}, **htmx)
    c.post(member_urls(personas.user)["role"], {"role": "developer"}, **htmx)
    page = c.get(reverse("workspaces:audit_log"))
    assert [e.action for e in page.context["page"].items] == [
        "member.change_role",
        "organization.rename",
    ]
    assert b"Member role changed" in page.content
    filtered = c.get(reverse("workspaces:audit_log"), {"action": "organization.rename"})
    assert [e.action for e in filtered.context["page"].items] == ["organization.rename"]
    by_actor = c.get(reverse("workspaces:audit_log"), {"actor": personas.user.public_id})
    assert by_actor.context["page"].items == []


def test_audit_log_pages_by_cursor(client, personas, htmx):
    c = client(personas.admin)
    for i in range(55):
        c.post(reverse("billing:organization_rename"), {"name": f"Name {i}"}, **htmx)
    first = c.get(reverse("workspaces:audit_log"))
    cursor = first.context["page"].next_cursor
    assert cursor and len(first.context["page"].items) == 50
    second = c.get(reverse("workspaces:audit_log"), {"cursor": cursor})
    assert len(second.context["page"].items) == 5
    assert second.context["page"].next_cursor is None
    bogus = c.get(reverse("workspaces:audit_log"), {"cursor": "forged"})
    assert bogus.status_code == 200 and len(bogus.context["page"].items) == 50


def test_audit_events_are_append_only(personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="N"
    )
    event = AuditEvent.objects.get()
    event.action = "tampered"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


def test_audit_events_are_read_only_in_admin(client, staff, personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="Renamed"
    )
    event = AuditEvent.objects.get()
    change_url = reverse("admin:accounts_auditevent_change", args=[event.pk])
    assert client(staff).get(change_url).status_code == 200
    client(staff).post(change_url, {"action": "forged"})
    event.refresh_from_db()
    assert event.action == "organization.rename"
    assert (
        client(staff).post(reverse("admin:accounts_auditevent_delete", args=[event.pk])).status_code
        == 403
    )
