from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from billing import demo, upstreams


class Command(BaseCommand):
    help = "Load the demo organization “Acme Corp” and its people (safe to run again)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            created = demo.seed()
            upstreams.demo_upstream_enable()
        self.stdout.write(
            self.style.SUCCESS("Loaded the demo organization.")
            if created
            else "The demo organization is already loaded."
        )
        self.stdout.write(
            f"The demo model “{upstreams.DEMO_MODEL}” answers at {settings.SITE_URL}/v1/messages."
        )
        self.stdout.write(f"Sign in at {settings.SITE_URL} with password “{demo.PASSWORD}” as:")
        for email, role in demo.PEOPLE:
            self.stdout.write(f"  {email:<24} {role}")
        self.stdout.write(
            f"  {demo.STAFF_EMAIL:<24} staff: the admin at {settings.SITE_URL}/admin/"
        )
