"""Every read of the console, to show that a bad write broke none: every page of the
resolver, every Admin API list and every object each lists, and the staff admin's list of
every model. A read answers as it did before the write, and never with a 5xx."""

from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.bad_input import openapi
from tests.bad_input.site import console_routes, real_path
from tests.bad_input.world import World


class Reads:
    def __init__(self, world: World) -> None:
        self.world = world
        self.before = self.read()
        # Pages a GET does not read (POST-only views) are left out of later reads.
        self.routes = [
            route for route in console_routes() if self.before[f"page {route.name}"] != 405
        ]

    def read(self) -> dict[str, int]:
        """The status of every read, by what was read."""
        world = self.world
        statuses: dict[str, int] = {}
        page = Client(raise_request_exception=False)
        page.force_login(world.own.admin)
        for route in getattr(self, "routes", None) or console_routes():
            statuses[f"page {route.name}"] = page.get(real_path(world, route)).status_code
        key = Client(HTTP_X_API_KEY=world.own.admin_key_secret, raise_request_exception=False)
        for method, path, _operation in openapi.OPERATIONS:
            if method != "GET":
                continue
            for ids in openapi.all_real_ids(key, path, limit=3) if "{" in path else [{}]:
                address = openapi.fill(path, ids)
                query = {"starting_at": "2026-11-01T00:00:00Z"} if "report" in path else {}
                statuses[f"api {address}"] = key.get(address, query).status_code
        staff = Client(raise_request_exception=False)
        staff.force_login(world.staff)
        for model in admin.site._registry:
            meta = model._meta
            address = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            statuses[f"staff {address}"] = staff.get(address).status_code
        return statuses

    def changed(self) -> list[str]:
        """The reads that answer otherwise than before, or with a 5xx. A read of an object
        the write made must answer (below 400); one of an object it removed is not read."""
        problems = []
        now = self.read()
        for what, status in sorted(now.items()):
            before = self.before.get(what)
            if status >= 500 or (before is None and status >= 400):
                problems.append(f"{what} answered {status} (before: {before or 'not read'})")
            elif before is not None and status != before:
                problems.append(f"{what} answered {status} (before: {before})")
        return problems
