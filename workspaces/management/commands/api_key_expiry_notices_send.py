from typing import Any

from django.core.management.base import BaseCommand

from workspaces import tasks


class Command(BaseCommand):
    help = "Queue the e-mails about API keys expiring in 7 days or 1 day (run it hourly)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = tasks.api_key_expiry_notices_send.enqueue()
        self.stdout.write(f"Queued the expiry notices ({result.status}).")
