import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from billing import upstreams
from billing.models import InputBound, Model, ModelRoute, Upstream, UpstreamAuthHeader


class Command(BaseCommand):
    help = (
        "Create or change an upstream (a model server behind /v1/messages) and route catalog "
        "models to it; or list them, enable the demo model, re-encrypt credentials."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", nargs="?", help="The upstream's name, e.g. anthropic or vllm.")
        parser.add_argument("--base-url", help="Where /v1/messages is, e.g. http://vllm:8000.")
        credential = parser.add_mutually_exclusive_group()
        credential.add_argument(
            "--credential-env",
            metavar="VARIABLE",
            help="Read the upstream's API key from this environment variable.",
        )
        credential.add_argument(
            "--credential-stdin", action="store_true", help="Read the API key from standard input."
        )
        credential.add_argument(
            "--remove-credential", action="store_true", help="Send no credential upstream."
        )
        parser.add_argument("--auth-header", choices=UpstreamAuthHeader.values)
        parser.add_argument("--input-bound", choices=InputBound.values)
        parser.add_argument("--connect-timeout", type=float, metavar="SECONDS")
        parser.add_argument("--read-timeout", type=float, metavar="SECONDS")
        parser.add_argument("--max-connections", type=int)
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", action="store_true")
        state.add_argument("--disable", action="store_true")
        parser.add_argument(
            "--route",
            action="append",
            default=[],
            metavar="MODEL[=UPSTREAM_MODEL]",
            help="Serve the catalog model from this upstream (under another name there). Repeat.",
        )
        parser.add_argument(
            "--unroute", action="append", default=[], metavar="MODEL", help="Stop serving a model."
        )
        parser.add_argument("--list", action="store_true", help="List upstreams and routes.")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Serve console-demo from the built-in demo upstream.",
        )
        parser.add_argument(
            "--rotate-credentials",
            action="store_true",
            help="Encrypt every credential again with the first of UPSTREAM_CREDENTIAL_KEYS.",
        )

    def handle(self, *args, **options) -> None:
        try:
            self._handle(options)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    def _handle(self, options) -> None:
        if options["demo"]:
            route = upstreams.demo_upstream_enable()
            self.stdout.write(self.style.SUCCESS(f"Serving {route.model.api_name} from the demo."))
        if options["rotate_credentials"]:
            count = upstreams.upstream_credentials_rotate()
            self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} credential(s)."))
        if options["name"]:
            self._configure(options)
        elif options["route"] or options["unroute"]:
            raise CommandError("Name the upstream to route models to.")
        if options["list"]:
            self._list()

    def _configure(self, options) -> None:
        credential = None
        if options["credential_env"]:
            credential = os.environ.get(options["credential_env"])
            if not credential:
                raise CommandError(f"The variable {options['credential_env']} is not set.")
        elif options["credential_stdin"]:
            credential = sys.stdin.readline().strip()
        elif options["remove_credential"]:
            credential = ""
        upstream = upstreams.upstream_configure(
            name=options["name"],
            base_url=options["base_url"],
            credential=credential,
            auth_header=options["auth_header"],
            input_bound=options["input_bound"],
            connect_timeout_seconds=options["connect_timeout"],
            read_timeout_seconds=options["read_timeout"],
            max_connections=options["max_connections"],
            enabled=True if options["enable"] else False if options["disable"] else None,
        )
        self.stdout.write(self.style.SUCCESS(f"Upstream {upstream.name} saved."))
        for spec in options["route"]:
            api_name, _, upstream_model = spec.partition("=")
            model = Model.objects.filter(api_name=api_name).first()
            if model is None:
                raise CommandError(f"No catalog model is called {api_name!r}.")
            route = upstreams.model_route_set(
                model=model, upstream=upstream, upstream_model=upstream_model or None
            )
            self.stdout.write(f"  {api_name} -> {upstream.name}: {route.upstream_model}")
        for api_name in options["unroute"]:
            model = Model.objects.filter(api_name=api_name).first()
            if model is None or not upstreams.model_route_remove(model=model):
                raise CommandError(f"{api_name!r} has no route.")
            self.stdout.write(f"  {api_name} is no longer served.")

    def _list(self) -> None:
        for upstream in Upstream.objects.all():
            credential = "credential set" if upstream.has_credential else "no credential"
            state = "" if upstream.enabled else ", disabled"
            where = upstream.base_url or upstream.get_protocol_display()
            self.stdout.write(f"{upstream.name}: {where} ({credential}{state})")
            for route in ModelRoute.objects.filter(upstream=upstream).select_related("model"):
                off = "" if route.enabled else " (disabled)"
                self.stdout.write(f"  {route.model.api_name} -> {route.upstream_model}{off}")
