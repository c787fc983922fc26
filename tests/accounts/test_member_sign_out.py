"""Signing a member out everywhere: every session of theirs ends, on every device; they stay a
member with their role and sign in again at once. Nobody signs themselves out this way."""

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent, OrganizationMember


def _member(personas, user):
    return OrganizationMember.objects.get(organization=personas.org, user=user)


def test_every_session_of_the_member_ends(client, personas):
    laptop, phone = client(personas.developer), client(personas.developer)
    colleague = client(personas.user)
    home = reverse("workspaces:workspace_list")
    for session in (laptop, phone, colleague):
        assert session.get(home).status_code == 200
    member = services.member_sign_out(
        actor=Actor.for_user(personas.admin), member=_member(personas, personas.developer)
    )
    for session in (laptop, phone):
        response = session.get(home)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert colleague.get(home).status_code == 200  # others stay signed in
    assert member.role == _member(personas, personas.developer).role
    assert client(personas.developer).get(home).status_code == 200  # and may sign in again
    event = AuditEvent.objects.get(action="member.sign_out")
    assert event.after == {"email": personas.developer.email, "sessions_ended": 2}


def test_nobody_signs_themselves_out(client, personas):
    own = client(personas.admin)
    sessions = Session.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.member_sign_out(
            actor=Actor.for_user(personas.admin), member=_member(personas, personas.admin)
        )
    assert refused.value.error_list[0].code == "cannot_sign_out_self"
    assert Session.objects.count() == sessions
    assert own.get(reverse("workspaces:workspace_list")).status_code == 200
    assert not AuditEvent.objects.filter(action="member.sign_out").exists()
