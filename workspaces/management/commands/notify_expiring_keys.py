from django.core.management.base import BaseCommand

from workspaces.tasks import notify_expiring_api_keys


class Command(BaseCommand):
    help = "Queue the e-mails about API keys expiring in 7 days or 1 day (run it hourly)."

    def handle(self, *args, **options) -> None:
        result = notify_expiring_api_keys.enqueue()
        self.stdout.write(f"Queued the expiry notices ({result.status}).")
