"""The Django admin's URL patterns, enumerated from the resolver: each with a real object's
id and with bad ones, GET and POST, as staff and as a member who is not staff; and each list's
search, ordering and paging parameters with bad values. No answer is a 5xx, nothing is logged
as an error, and a refused request changes no row."""

import itertools

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client

from tests.bad_input import corpus
from tests.bad_input.site import Judge, Route, form_encoded, staff_admin_routes

ROUTES = staff_admin_routes()
OUT_OF_RANGE = "99999999999999999999"
LIST_PARAMETERS = ("q", "o", "p", "e", "all", "_facets", "_to_field", "_popup")


def _model(route: Route):
    """The model a model admin's route is for (`admin:billing_usagetier_change`)."""
    name = route.name.split(":")[-1]
    for model in apps.get_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model
    return None


def _real_values(route: Route, world) -> dict[str, str]:
    model = _model(route)
    values = {}
    for parameter in route.parameters:
        if parameter == "object_id":
            instance = model._default_manager.order_by("pk").first() if model else None
            values[parameter] = str(instance.pk) if instance is not None else "1"
        elif parameter == "content_type_id":
            values[parameter] = str(ContentType.objects.get_for_model(type(world.own.org)).pk)
        elif parameter == "id":
            values[parameter] = str(world.staff.pk)
        elif parameter == "app_label":
            values[parameter] = "billing"
        elif parameter == "url":
            values[parameter] = "no/such/page/"
        else:
            raise LookupError(f"{route.name} has a parameter {parameter!r}")
    if "object_id" in values and route.name == "admin:view_on_site":
        values["object_id"] = str(world.own.org.pk)
    return values


def test_every_staff_admin_url_answers_bad_input_cleanly(world):
    judge = Judge()
    bad_values = itertools.cycle(corpus.BAD_PATH_SEGMENTS)
    list_samples = itertools.cycle(
        [sample for _kind, sample in corpus.samples_for(0)] + ["-", "0.0", "999999", "?"]
    )

    def send(client: Client, who: str, method: str, path: str, query=None) -> None:
        address = f"{path}?{form_encoded(query)}" if query else path
        response = getattr(client, method)(address)
        judge.check(
            f"{who} {method.upper()} {address[:200]}", response, path, wrote=method == "post"
        )

    with judge:
        for route in ROUTES:
            staff = Client(raise_request_exception=False)
            staff.force_login(world.staff)
            member = Client(raise_request_exception=False)
            member.force_login(world.own.admin)
            with transaction.atomic():
                judge.start()
                real = route.fill(_real_values(route, world))
                if route.parameters:
                    # An id past the database's integer range for every route, and one other
                    # bad value each, in turn.
                    for method, bad in (("get", OUT_OF_RANGE), ("post", next(bad_values))):
                        bad_path = route.fill(dict.fromkeys(route.parameters, bad))
                        send(staff, "staff", method, bad_path)
                if route.name.endswith("_changelist"):
                    for name in LIST_PARAMETERS:
                        send(staff, "staff", "get", real, {name: next(list_samples)})
                if route.name.endswith(("_changelist", ":index")):
                    # The admin site sends a member who is not staff to its sign-in before any
                    # view, whatever the URL: one per list tells.
                    send(member, "member", "get", real)
                if not route.name.endswith("logout"):
                    send(staff, "staff", "get", real)
                transaction.set_rollback(True)
            judge.reset()
    judge.assert_clean()
