"""Every notification is independent: an e-mail that fails is logged and sent again later,
never marked sent, and stops neither the other notifications nor `usage_worker`."""

import io
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import OutgoingEmail
from billing import enforcement, limiter, services, usage
from billing.models import Model, SpendNotificationDelivery
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey

FAILING: set[str] = set()


class FailingForSome(EmailBackend):
    """The mail server: it refuses messages to the addresses in FAILING."""

    def send_messages(self, messages):
        for message in messages:
            refused = FAILING.intersection(message.recipients())
            if refused:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"refused")))
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def mail_server(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FailingForSome"}}
    FAILING.clear()
    enforcement.use_backend(limiter.LocalBackend())
    yield
    FAILING.clear()
    enforcement.use_backend(None)


def _expiring_key(workspace, creator, name, *, days: int):
    key, _secret = workspace_services.api_key_create(
        actor=Actor.for_user(creator), workspace=workspace, name="k"
    )
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(
        name=name, created_at=now - timedelta(days=30), expires_at=now + timedelta(days=days)
    )
    return key


def test_a_failing_expiry_notice_stops_no_other_and_is_sent_again(personas, caplog):
    workspace = WorkspaceFactory(organization=personas.org)
    failing_creator = MemberFactory(
        organization=personas.org, user=UserFactory(email="bounces@acme.test"), role="developer"
    ).user
    refused = _expiring_key(workspace, failing_creator, "bounces", days=5)
    delivered = _expiring_key(workspace, personas.developer, "fine", days=5)
    FAILING.add("bounces@acme.test")
    assert workspace_services.api_key_expiry_notices_send() == 1
    assert [m.to for m in mail.outbox] == [[personas.developer.email]]
    assert "expiry notice of API key" in caplog.text
    refused.refresh_from_db()
    delivered.refresh_from_db()
    assert refused.expiry_notice_7d_sent_at is None  # not marked sent
    assert delivered.expiry_notice_7d_sent_at is not None
    FAILING.clear()
    assert workspace_services.api_key_expiry_notices_send() == 1
    assert mail.outbox[-1].to == ["bounces@acme.test"]


def test_a_key_name_with_a_line_break_gets_its_notice(personas):
    workspace = WorkspaceFactory(organization=personas.org)
    _expiring_key(workspace, personas.developer, "dev key\r\nBcc: x@evil.test", days=5)
    assert workspace_services.api_key_expiry_notices_send() == 1
    (message,) = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.to == [personas.developer.email] and not message.bcc


def _spend_one_dollar(workspace, personas):
    key, _secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=workspace, name="k"
    )
    usage.record(
        api_key=key,
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens={"output_tokens": 66_667},  # $1.00 at $15 per million
    )


def test_a_failing_spend_notification_is_not_marked_sent_and_is_sent_again(personas, caplog):
    actor = Actor.for_user(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, name="Production\r\nBcc: x@evil.test")
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=workspace, amount_cents=50
    )
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=None, amount_cents=50
    )
    FAILING.add(personas.billing.email)  # among the recipients of both
    _spend_one_dollar(workspace, personas)
    for scope in (workspace, None):
        assert services.spend_notifications_check(organization=personas.org, workspace=scope) == 0
    assert mail.outbox == []
    assert not SpendNotificationDelivery.objects.exists()
    assert "could not be sent" in caplog.text
    FAILING.clear()
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert services.spend_notifications_send_due() == 2
    assert len(mail.outbox) == 2
    assert all("\n" not in m.subject for m in mail.outbox)
    assert SpendNotificationDelivery.objects.count() == 2
    assert services.spend_notifications_send_due() == 0


def test_the_worker_goes_on_when_e_mail_fails(personas, settings):
    settings.RECONCILE_SECONDS = 0
    workspace = WorkspaceFactory(organization=personas.org)
    _expiring_key(workspace, personas.developer, "fine", days=5)
    services.spend_notification_add(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        workspace=None,
        amount_cents=50,
    )
    FAILING.update({personas.developer.email, personas.admin.email})
    _spend_one_dollar(workspace, personas)
    out = io.StringIO()
    call_command("usage_worker", "--once", stdout=out, stderr=io.StringIO())
    assert mail.outbox == []
    FAILING.clear()
    call_command("usage_worker", "--once", stdout=out, stderr=io.StringIO())
    assert "Sent 1 API key expiry notices." in out.getvalue()
    assert "Sent 1 spend notifications." in out.getvalue()


def test_any_failing_step_is_logged_and_the_worker_goes_on(personas, monkeypatch, caplog):
    def broken() -> int:
        raise RuntimeError("a bug in one step")

    monkeypatch.setattr(usage, "rollup_pending", broken)
    OutgoingEmail.objects.create(
        composer="tests.billing.test_notices_delivery.hello_email",
        about="x",
        next_attempt_at=timezone.now(),
    )
    out = io.StringIO()
    call_command("usage_worker", "--once", stdout=out, stderr=io.StringIO())
    assert "Rollups failed; tried again next round." in caplog.text
    assert "Sent 1 e-mails that had failed before." in out.getvalue()  # the steps after it ran
    assert [m.subject for m in mail.outbox] == ["hello x"]


def hello_email(about: str, _secret: str | None) -> EmailMessage:
    return EmailMessage(subject=f"hello {about}", body="hi", to=["someone@acme.test"])


class QueueOfTwo:
    """A limiter backend with usage queued for two organizations."""

    queues_usage = True

    def __init__(self, organizations: list[str]) -> None:
        self.batches = [
            limiter.QueuedBatch(org, f"t{org}", [f"record of {org}"]) for org in organizations
        ]
        self.acknowledged: list[str] = []

    def claim_usage(self, organizations, limit):
        batches, self.batches = [b for b in self.batches if b.org in organizations], []
        return batches

    def ack_usage(self, done):
        self.acknowledged += [batch.org for batch, _records in done]


def test_one_organization_that_fails_stops_no_other_in_the_worker(personas, monkeypatch, caplog):
    failing, fine = str(personas.org.pk), str(personas.other_org.pk)
    queue = QueueOfTwo([failing, fine])
    enforcement.use_backend(queue)  # type: ignore[arg-type]

    def store(texts):
        if texts == [f"record of {failing}"]:
            raise RuntimeError("a bug with this organization's records")
        return []

    monkeypatch.setattr(usage, "store_queued", store)
    enforcement.store_queued_usage()
    assert queue.acknowledged == [fine]  # the failing batch stays claimed, tried again later
    assert f"Queued usage of organization {failing} could not be stored." in caplog.text


def test_one_organization_that_fails_to_reconcile_stops_no_other(personas, monkeypatch, caplog):
    from billing.enforcement import spend

    failing, fine = str(personas.org.pk), str(personas.other_org.pk)
    monkeypatch.setattr(usage, "organizations_with_usage_since", lambda start: [failing, fine])
    reconciled = []

    def reconcile(organization_id, now):
        if organization_id == failing:
            raise RuntimeError("a bug with this organization")
        reconciled.append(organization_id)
        return object()

    monkeypatch.setattr(spend, "reconcile", reconcile)
    assert spend.reconcile_all() == 1
    assert reconciled == [fine]
    assert f"The spend counters of {failing} could not be reconciled." in caplog.text


def test_one_scope_whose_check_fails_stops_no_other_notification(personas, monkeypatch, caplog):
    actor = Actor.for_user(personas.admin)
    for organization, admin in ((personas.org, actor), (personas.other_org, None)):
        services.spend_notification_add(
            actor=admin or Actor.for_user(personas.outsider),
            organization=organization,
            workspace=None,
            amount_cents=50,
        )
    checked = []
    real_check = services.spend_notifications_check

    def check(*, organization, workspace=None, now=None):
        if organization == personas.org:
            raise RuntimeError("a bug with this organization")
        checked.append(organization)
        return real_check(organization=organization, workspace=workspace, now=now)

    monkeypatch.setattr(services, "spend_notifications_check", check)
    services.spend_notifications_send_due()
    assert checked == [personas.other_org]
    assert "could not be checked" in caplog.text
