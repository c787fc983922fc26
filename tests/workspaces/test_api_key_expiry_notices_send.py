"""Expiry notices: each active key's creator is told 7 days and 1 day before it expires,
once; the service, the task and the command."""

import io
from datetime import timedelta

import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.audit import Actor
from workspaces import services, tasks


def test_expiry_notices_are_sent_once(personas, production):
    actor = Actor.for_user(personas.developer)
    start = timezone.now()
    _key, _ = services.api_key_create(
        actor=actor, workspace=production, name="exp", expires_at=start + timedelta(days=30)
    )
    _short, _ = services.api_key_create(
        actor=actor, workspace=production, name="short", expires_at=start + timedelta(days=3)
    )
    assert services.api_key_expiry_notices_send() == 0
    with time_machine.travel(start + timedelta(days=23, hours=1)):
        assert services.api_key_expiry_notices_send() == 1
        assert services.api_key_expiry_notices_send() == 0
    with time_machine.travel(start + timedelta(days=29, hours=1)):
        # the 1-day notices of both keys; the short key never had a 7-day notice
        assert services.api_key_expiry_notices_send() == 1
    with time_machine.travel(start + timedelta(days=2, hours=1)):
        assert services.api_key_expiry_notices_send() == 1
    subjects = [m.subject for m in mail.outbox]
    assert subjects.count("Your API key “exp” expires soon") == 2
    assert subjects.count("Your API key “short” expires soon") == 1
    assert all(m.to == [personas.developer.email] for m in mail.outbox)
    assert "7 days" in mail.outbox[0].body


def test_the_task_and_the_command_send_the_notices_due(personas, production):
    """Tasks run at once here (the immediate backend), so the command's queued task sends."""
    start = timezone.now()
    services.api_key_create(
        actor=Actor.for_user(personas.developer),
        workspace=production,
        name="exp",
        expires_at=start + timedelta(days=30),
    )
    with time_machine.travel(start + timedelta(days=23, hours=1)):
        assert tasks.api_key_expiry_notices_send.call() == 1
        out = io.StringIO()
        call_command("api_key_expiry_notices_send", stdout=out)
    assert "Queued the expiry notices" in out.getvalue()
    assert len(mail.outbox) == 1
