import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Actor
from accounts.models import User
from workspaces import services


class Command(BaseCommand):
    help = "Create an organization, its Default workspace and its first admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The organization's name.")
        parser.add_argument("--admin-email", required=True, help="The first admin's e-mail.")
        parser.add_argument("--admin-name", default="", help="The first admin's name.")
        parser.add_argument(
            "--password",
            help="The admin's password (asked for when not given and the user is new).",
        )

    def handle(
        self, *args, name: str, admin_email: str, admin_name: str, password: str | None, **options
    ) -> None:
        email = admin_email.strip().lower()
        if password is None and not User.objects.filter(email=email).exists():
            if not options.get("interactive", True) or not self.stdin_is_tty():
                raise CommandError("Give --password, or run in a terminal to be asked for it.")
            password = getpass.getpass(f"Password for {email}: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            organization = services.organization_create(
                actor=Actor.system("organization_create command"),
                name=name,
                admin_email=email,
                admin_password=password,
                admin_name=admin_name,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created organization “{organization.name}” ({organization.id}) "
                f"with admin {email}."
            )
        )

    @staticmethod
    def stdin_is_tty() -> bool:
        return sys.stdin is not None and sys.stdin.isatty()
