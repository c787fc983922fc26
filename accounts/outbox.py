"""E-mails that never break the change that asks for them, and are never lost.

A service calls `send_after_commit` inside its transaction: an `OutgoingEmail` row is written
with the change (so a rolled-back change sends nothing, and a committed one is never
forgotten), and the e-mail is tried once the transaction commits. A failure is logged and
left for `send_due`, which `usage_worker` runs every few seconds (or the
`outgoing_emails_send` task), with growing pauses between tries; the person acting never sees
it. A row is marked sent only once the mail server took the message.

The row names a composer, `compose(about, secret)`, that builds the message when it is sent:
from the current state of what it is about (None: nothing to send any more), and from a
`secret` handed over in memory to the first try only (an invite's link token, which is
stored only as a hash). A later try composes without it: an invite's composer then issues a
new link, in the same transaction that sends it, so the link that is e-mailed always works.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import EmailStatus, OutgoingEmail

logger = logging.getLogger(__name__)

Composer = Callable[[str, str | None], EmailMessage | None]

# The first try is the one after commit; `send_due` waits this long before taking over.
FIRST_RETRY_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 12  # with the pauses below: about a day and a half of tries
MAX_PAUSE = timedelta(hours=6)


def one_line(subject: str) -> str:
    """`subject` on one line, whatever the names in it hold: the mail library refuses a line
    break in a header."""
    return " ".join(subject.split())


def send_after_commit(compose: Composer, about: object, *, secret: str | None = None) -> None:
    """E-mail what `compose` builds about `about` (a primary key) once the current
    transaction commits, and until it is delivered."""
    email = OutgoingEmail.objects.create(
        composer=f"{compose.__module__}.{compose.__qualname__}",
        about=str(about),
        next_attempt_at=timezone.now() + FIRST_RETRY_AFTER,
    )
    transaction.on_commit(partial(send, email.pk, secret=secret), robust=True)


def send(email_id: int, *, secret: str | None = None) -> bool:
    """Try to send one pending e-mail now. True if it was delivered; a failure is logged and
    the e-mail is left for a later try (or given up after MAX_ATTEMPTS)."""
    try:
        with transaction.atomic():
            email = (
                OutgoingEmail.objects.select_for_update(skip_locked=True)
                .filter(pk=email_id, status=EmailStatus.PENDING)
                .first()
            )
            if email is None:  # sent meanwhile, or being sent by another process
                return False
            compose: Composer = import_string(email.composer)
            message = compose(email.about, secret)
            email.attempts += 1
            if message is None:
                email.status = EmailStatus.NOT_NEEDED
            else:
                message.send()
                email.status, email.sent_at = EmailStatus.SENT, timezone.now()
            email.last_error = ""
            email.save(update_fields=["attempts", "status", "sent_at", "last_error"])
            return message is not None
    except Exception as error:
        logger.exception("E-mail %s could not be sent; it will be tried again.", email_id)
        _record_failure(email_id, error)
        return False


def _record_failure(email_id: int, error: Exception) -> None:
    try:
        email = OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING).first()
        if email is None:
            return
        email.attempts += 1
        email.last_error = f"{type(error).__name__}: {error}"[:2000]
        email.next_attempt_at = timezone.now() + retry_pause(email.attempts)
        if email.attempts >= MAX_ATTEMPTS:
            email.status = EmailStatus.FAILED
            logger.error(
                "E-mail %s (%s) is given up after %s attempts.", email.pk, email, email.attempts
            )
        email.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
    except Exception:
        # The database is failing too: the row stays as it was and is tried again.
        logger.exception("The failure of e-mail %s could not be recorded.", email_id)


def retry_pause(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed tries: 1, 2, 4, ... minutes, at most 6 h."""
    return min(FIRST_RETRY_AFTER * 2 ** max(attempts - 1, 0), MAX_PAUSE)


def send_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try the pending e-mails whose next try is due, oldest first. Returns how many were
    delivered; one that fails stops none of the others."""
    due = OutgoingEmail.objects.filter(
        status=EmailStatus.PENDING, next_attempt_at__lte=now or timezone.now()
    ).order_by("next_attempt_at")
    return sum(send(pk) for pk in due.values_list("pk", flat=True)[:limit])
