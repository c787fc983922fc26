"""Renaming the organization: one audit event with before and after; bad names refused."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.helpers import events


def test_rename_organization(client, personas, htmx):
    c = client(personas.admin)
    response = c.post(reverse("billing:organization_rename"), {"name": "Acme Renamed"}, **htmx)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Renamed"


def test_rename_with_huge_name_shows_error_and_changes_nothing(client, personas, htmx):
    response = client(personas.admin).post(
        reverse("billing:organization_rename"), {"name": "x" * 10_000}, **htmx
    )
    assert b"at most 100 characters" in response.content
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Test"
    assert not AuditEvent.objects.exists()


def test_rename_records_before_and_after(personas):
    actor = Actor.for_user(personas.admin)
    services.organization_rename(actor=actor, organization=personas.org, name="Acme 2")
    (event,) = events(personas.org, "organization.rename")
    assert event.before == {"name": "Acme Test"} and event.after == {"name": "Acme 2"}
    assert event.actor == personas.admin


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_rename_refuses_bad_names(personas, name):
    with pytest.raises(ValidationError):
        services.organization_rename(
            actor=Actor.for_user(personas.admin), organization=personas.org, name=name
        )
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Test"
    assert not events(personas.org).exists()
