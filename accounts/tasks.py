from django.tasks import task

from accounts import outbox


@task
def outgoing_emails_send() -> int:
    """Try again the e-mails whose earlier try failed (`usage_worker` does this every few
    seconds; run this every minute where a task runner is used instead)."""
    return outbox.send_due()
