"""Every e-mail a change asks for is independent of it (`accounts.outbox`): tried once the
change commits; a mail server that fails is logged and tried again later, never an error for
the person acting and never marked sent; a retried invite carries a link that works."""

import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import outbox, services
from accounts.audit import Actor
from accounts.models import EmailStatus, Invite, InviteStatus, OutgoingEmail
from accounts.roles import WorkspaceRole
from billing import services as billing_services
from billing.models import SpendLimitIncreaseRequest
from tests.factories import WorkspaceFactory, WorkspaceMemberFactory

REFUSING = {"on": False}


class FlakyMailServer(EmailBackend):
    """The mail server; it refuses connections while REFUSING["on"]."""

    def send_messages(self, messages):
        if REFUSING["on"]:
            raise ConnectionRefusedError(111, "Connection refused")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def mail_server(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FlakyMailServer"}}
    REFUSING["on"] = True
    yield REFUSING
    REFUSING["on"] = False


def _later(minutes: float = 2):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes))


def _link_path(message) -> str:
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def test_an_invite_is_made_though_the_mail_server_fails_and_is_mailed_later(
    client, personas, htmx, django_capture_on_commit_callbacks, mail_server, caplog
):
    admin = client(personas.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("workspaces:invite_create"), {"email": "new@acme.test", "role": "user"}, **htmx
        )
    assert response.status_code == 204
    invite = Invite.objects.get(email="new@acme.test")
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts, email.about) == (EmailStatus.PENDING, 1, str(invite.pk))
    assert "ConnectionRefusedError" in email.last_error and email.sent_at is None
    assert "could not be sent" in caplog.text and mail.outbox == []
    # Not due yet; then the server is back and the worker's next round delivers it.
    mail_server["on"] = False
    assert outbox.send_due() == 0
    with _later():
        assert outbox.send_due() == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (EmailStatus.SENT, 2, "")
    (message,) = mail.outbox
    assert message.to == ["new@acme.test"] and "Acme Test" in message.subject
    # The link mailed on the retry is a new one, and it works.
    joining = Client()
    accept = joining.get(_link_path(message), follow=True)
    assert accept.status_code == 200 and b"Acme Test" in accept.content
    assert outbox.send_due(now=timezone.now() + timedelta(days=1)) == 0  # sent once


def test_the_admin_api_invite_answers_though_the_mail_server_fails(
    personas, django_capture_on_commit_callbacks
):
    _key, secret = services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="ops"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(HTTP_X_API_KEY=secret).post(
            "/v1/organizations/invites",
            {"email": "api@acme.test", "role": "developer"},
            content_type="application/json",
        )
    assert response.status_code == 200
    assert OutgoingEmail.objects.get().status == EmailStatus.PENDING


def test_the_first_try_mails_the_link_the_invite_was_made_with(
    personas, django_capture_on_commit_callbacks, mail_server
):
    mail_server["on"] = False
    with django_capture_on_commit_callbacks(execute=True):
        _invite, token = services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="new@acme.test",
            role="user",
        )
    (message,) = mail.outbox
    assert token in message.body
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT


def test_an_invite_revoked_before_the_retry_is_not_mailed(
    personas, django_capture_on_commit_callbacks, mail_server
):
    actor = Actor.for_user(personas.admin)
    with django_capture_on_commit_callbacks(execute=True):
        invite, _token = services.invite_create(
            actor=actor, organization=personas.org, email="new@acme.test", role="user"
        )
    services.invite_revoke(actor=actor, invite=invite)
    mail_server["on"] = False
    with _later():
        assert outbox.send_due() == 0
    assert OutgoingEmail.objects.get().status == EmailStatus.NOT_NEEDED
    assert mail.outbox == []
    invite.refresh_from_db()
    assert invite.status == InviteStatus.DELETED


def test_a_rolled_back_change_leaves_nothing_to_send(personas, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="new@acme.test",
            role="user",
        )
        raise RuntimeError("rolled back")
    assert not OutgoingEmail.objects.exists() and mail.outbox == []


def test_an_e_mail_that_keeps_failing_is_given_up_and_said_so(
    personas, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="new@acme.test",
            role="user",
        )
    email = OutgoingEmail.objects.get()
    pauses = []
    while email.status == EmailStatus.PENDING:
        with time_machine.travel(email.next_attempt_at + timedelta(seconds=1)):
            before = email.next_attempt_at
            outbox.send_due()
        email.refresh_from_db()
        pauses.append(email.next_attempt_at - before)
    assert email.status == EmailStatus.FAILED and email.attempts == outbox.MAX_ATTEMPTS
    assert max(pauses) <= outbox.MAX_PAUSE + timedelta(seconds=5)
    assert [r for r in caplog.records if r.levelno == logging.ERROR and "given up" in r.message]
    assert mail.outbox == []


def test_password_reset_answers_though_the_mail_server_fails_and_mails_later(
    personas, django_capture_on_commit_callbacks, mail_server, settings
):
    settings.SITE_URL = "http://testserver"
    anonymous = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous.post(reverse("accounts:password_reset"), {"email": "user@acme.test"})
    assert response.status_code == 302
    assert OutgoingEmail.objects.get().status == EmailStatus.PENDING
    mail_server["on"] = False
    with _later():
        assert outbox.send_due() == 1
    (message,) = mail.outbox
    form = anonymous.get(_link_path(message), follow=True)
    assert b"Choose a new password" in form.content


@pytest.fixture
def support(personas):
    workspace = WorkspaceFactory(organization=personas.org, name="Support")
    WorkspaceMemberFactory(
        workspace=workspace, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    billing_services.workspace_spend_limit_set(
        actor=Actor.for_user(personas.admin), workspace=workspace, amount_cents=1_000
    )
    return workspace


def test_increase_requests_and_their_answers_are_mailed_though_the_server_fails(
    client, personas, support, htmx, django_capture_on_commit_callbacks, mail_server
):
    developer, admin = client(personas.developer), client(personas.admin)
    asking = reverse("billing:spend_limit_increase_request_create", args=[support.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert developer.post(asking, {"amount": "50.00"}, **htmx).status_code == 204
    increase = SpendLimitIncreaseRequest.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        denied = admin.post(
            reverse("billing:spend_limit_increase_request_deny", args=[increase.public_id]),
            **htmx,
        )
    assert denied.status_code == 204
    assert mail.outbox == []
    assert list(OutgoingEmail.objects.values_list("composer", "status").order_by("id")) == [
        ("billing.services.increase_request_email", EmailStatus.PENDING),
        ("billing.services.increase_answer_email", EmailStatus.PENDING),
    ]
    mail_server["on"] = False
    with _later():
        # The request was answered meanwhile: only the answer is still worth sending.
        assert outbox.send_due() == 1
    (message,) = mail.outbox
    assert message.to == ["developer@acme.test"] and "denied" in message.subject
    assert sorted(OutgoingEmail.objects.values_list("status", flat=True)) == [
        EmailStatus.NOT_NEEDED,
        EmailStatus.SENT,
    ]


def test_an_approval_is_mailed_later_when_the_server_fails(
    personas, support, django_capture_on_commit_callbacks, mail_server
):
    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=support, amount_cents=5_000
    )
    with django_capture_on_commit_callbacks(execute=True):
        billing_services.spend_limit_increase_request_approve(
            actor=Actor.for_user(personas.admin), increase=increase
        )
    mail_server["on"] = False
    with _later():
        assert outbox.send_due() == 1  # the answer; the request is not worth asking about now
    (message,) = mail.outbox
    assert message.to == ["developer@acme.test"] and "approved" in message.subject


def test_one_failing_e_mail_stops_no_other(personas, django_capture_on_commit_callbacks):
    actor = Actor.for_user(personas.admin)
    with django_capture_on_commit_callbacks(execute=True):
        for address in ("a@acme.test", "b@acme.test"):
            services.invite_create(
                actor=actor, organization=personas.org, email=address, role="user"
            )
    OutgoingEmail.objects.filter(about=str(Invite.objects.get(email="a@acme.test").pk)).update(
        composer="accounts.services.no_such_composer"
    )
    REFUSING["on"] = False
    with _later():
        assert outbox.send_due() == 1
    assert [m.to for m in mail.outbox] == [["b@acme.test"]]
