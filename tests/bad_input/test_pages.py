"""Every URL pattern of the console, enumerated from the resolver (pages, dialogs, htmx
partials, the gateway's endpoints, the API's root and catch-all): filled with the ids of the
test organization, of another organization and with bad values, and sent GET and POST, with
and without HX-Request, as the admin, a developer and nobody; then every query parameter and
form field its pages show, with every class of bad value. No answer is a 5xx, an error is a
page (the JSON envelope on /v1/), nothing is logged as an error, and a refused request
changes no row.

Each route runs in a savepoint rolled back after it, so every route meets the same world
(and one that deletes a key does not leave the next without one).
"""

import itertools

import pytest
from django.db import transaction
from django.test import Client

from billing import enforcement, limiter
from tests.bad_input import corpus
from tests.bad_input.site import (
    Form,
    Judge,
    Route,
    all_routes,
    console_routes,
    form_encoded,
    is_admin_api_operation,
    page_parts,
    real_path,
)
from tests.bad_input.world import World

FORM = "application/x-www-form-urlencoded"
PERSONAS = ("admin", "developer", "nobody")
ROUTES = console_routes()
ROUTES_BY_NAME = {route.name: route for route in ROUTES}
GROUPS = sorted({route.name.split(":")[0] if ":" in route.name else "" for route in ROUTES})
# Sent once to every route, whether or not its pages use them: paging, redirects, searches.
EXTRA_QUERY = {
    "cursor": "x" * 300,
    "next": "javascript:alert(1)",
    "q": "\u202e" + "y" * 10_000,
    "page": "-1",
    "format": "csv",
}
# Method and htmx, cycled through the bad path values so each route gets all four.
COMBINATIONS = [("get", False), ("post", True), ("get", True), ("post", False)]


class Discovery:
    """What the pages show, read once from every page and every page their links lead to
    (as an admin, and signed out for the public pages): which page holds the form that posts
    to each route, and which query parameters each route's links and filters use, with a
    sample of their values (some pages need them, such as a limit row's editor)."""

    form_source: dict[str, tuple[str, dict[str, str]]] = {}
    query_names: dict[str, set[str]] = {}
    sample_query: dict[str, dict[str, str]] = {}
    sample_values: dict[str, dict[str, str]] = {}  # a valid value of each parameter
    query_forms: dict[str, list[dict[str, str]]] = {}  # each set of parameters sent together
    done = False

    @classmethod
    def run(cls, world: World, clients: dict[str, Client]) -> None:
        if cls.done:
            return
        pending: list[tuple[Route, dict[str, str]]] = [(route, {}) for route in ROUTES]
        seen: set[tuple[str, frozenset[str]]] = set()
        while pending:
            route, query = pending.pop(0)
            if (route.name, frozenset(query)) in seen:
                continue
            seen.add((route.name, frozenset(query)))
            for who in ("nobody", "admin") if route.is_public else ("admin",):
                response = clients[who].get(real_path(world, route), query, follow=True)
                if response.status_code != 200 or "html" not in response["Content-Type"]:
                    continue
                parts = page_parts(response.request["PATH_INFO"], response.content.decode())
                for target in parts.forms:
                    if target == route.name or target not in cls.form_source:
                        cls.form_source[target] = (route.name, query)
                for target, queries in parts.queries.items():
                    for found in queries:
                        found = {k: v for k, v in found.items() if k != "csrfmiddlewaretoken"}
                        cls.query_names.setdefault(target, set()).update(found)
                        cls.sample_query.setdefault(target, found)
                        values = cls.sample_values.setdefault(target, {})
                        for name, value in found.items():
                            if value and not values.get(name):
                                values[name] = value
                        together = cls.query_forms.setdefault(target, [])
                        if len(found) > 1 and set(found) not in [set(t) for t in together]:
                            together.append(found)
                        if target in ROUTES_BY_NAME:
                            pending.append((ROUTES_BY_NAME[target], found))
        cls.done = True


def _form_for(world: World, client: Client, route: Route) -> Form | None:
    """The form that posts to `route`, with valid values, read from the page showing it."""
    if route.name not in Discovery.form_source:
        return None
    source, query = Discovery.form_source[route.name]
    response = client.get(real_path(world, ROUTES_BY_NAME[source]), query, follow=True)
    page = page_parts(response.request["PATH_INFO"], response.content.decode())
    forms = page.forms.get(route.name)
    return forms[0] if forms else None


def _every_date_at_once(values: dict[str, str]) -> list[dict[str, str]]:
    """Where several dates are sent together (a range's start and end), each variant of
    them set in all at once: first alone (a range is then custom), then with the rest."""
    dates = {
        name: corpus.variants(value) for name, value in values.items() if corpus.is_date_like(value)
    }
    if len(dates) < 2:
        return []
    changed = []
    for index in range(min(len(found) for found in dates.values())):
        mutated = {name: found[index][1] for name, found in dates.items()}
        changed += [mutated, {**values, **mutated}]
    return changed


def _clients(world: World) -> dict[str, Client]:
    # A view's exception is answered as a 500, as in production, not raised into the test.
    clients = {name: Client(raise_request_exception=False) for name in PERSONAS}
    clients["admin"].force_login(world.own.admin)
    clients["developer"].force_login(world.developer)
    return clients


class Sender:
    def __init__(self, judge: Judge, clients: dict[str, Client], route: Route) -> None:
        self.judge, self.clients, self.route = judge, clients, route

    def __call__(self, who: str, method: str, path: str, data=None, *, htmx: bool = False):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        encoded = form_encoded(data or {})
        client = self.clients[who]
        if method == "get":
            response = client.get(f"{path}?{encoded}" if encoded else path, **headers)
        else:
            response = client.post(path, encoded, content_type=FORM, **headers)
        shown = {
            k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v)
            for k, v in (data or {}).items()
        }
        what = f"[{self.route.name}] {who} {method.upper()}{' htmx' if htmx else ''} {path[:120]} {shown or ''}"
        self.judge.check(what, response, path, wrote=method != "get")


def _throw_everything_at(route: Route, world: World, clients: dict[str, Client], judge: Judge):
    send = Sender(judge, clients, route)
    who = "nobody" if route.is_public else "admin"  # who reaches the view's own checks
    # 1. Bad ids in the path, then another organization's real ids.
    if route.parameters:
        combinations = itertools.cycle(COMBINATIONS)
        for bad in corpus.BAD_PATH_SEGMENTS:
            method, htmx = next(combinations)
            send(who, method, route.fill(dict.fromkeys(route.parameters, bad)), htmx=htmx)
        other = real_path(world, route, "other")
        send("admin", "get", other)
        send("admin", "post", other, htmx=True)
        send("developer", "get", other, htmx=True)
    own = real_path(world, route)
    query = Discovery.sample_query.get(route.name, {})
    send("nobody", "get", own)
    send(who, "get", own, {**query, **EXTRA_QUERY})
    # 2. Every query parameter the route's links and filters use, with every class of value
    # (the others as a link of the page sets them).
    valid = Discovery.sample_values.get(route.name, {})
    for position, name in enumerate(sorted(Discovery.query_names.get(route.name, set()))):
        values = [*corpus.samples_for(position), *corpus.variants(valid.get(name))]
        for index, (_kind, value) in enumerate(values):
            send(who, "get", own, {**query, name: value}, htmx=index % 2 == 1)
        send(who, "get", own, {**query, name: ["1", "2"]})  # a list where one value is expected
    for together in Discovery.query_forms.get(route.name, []):
        for changed in _every_date_at_once(together):
            send(who, "get", own, changed)
    # 3. Every field of the form that posts here, with every class of value, the others valid;
    # each field left out and sent twice; and as a developer, each field once.
    form = _form_for(world, clients[who], route)
    if form is not None:
        fields, target = form.fields, form.path
        for position, name in enumerate(sorted(fields)):
            samples = [*corpus.samples_for(position), *corpus.variants(fields[name])]
            for index, (_kind, value) in enumerate(samples):
                send(who, "post", target, {**fields, name: value}, htmx=index % 2 == 1)
            send(who, "post", target, {**fields, name: [fields[name], "2"]})
            send(who, "post", target, {k: v for k, v in fields.items() if k != name}, htmx=True)
            _kind, value = samples[position % len(samples)]
            send("developer", "post", target, {**fields, name: value}, htmx=True)
        for changed in _every_date_at_once(fields):
            send(who, "post", target, changed, htmx=True)
    # 4. The real ids as they are, GET and POST (a POST may do what the page offers).
    send("developer", "get", own, query)
    send("developer", "post", own, htmx=True)
    send(who, "get", own, query, htmx=True)
    send(who, "get", own, query)
    send(who, "post", own, htmx=True)
    send(who, "post", own)


@pytest.mark.parametrize("group", GROUPS)
def test_every_url_pattern_answers_bad_input_cleanly(world, group):
    clients = _clients(world)
    Discovery.run(world, clients)
    judge = Judge()
    with judge:
        for route in ROUTES:
            if (route.name.split(":")[0] if ":" in route.name else "") != group:
                continue
            enforcement.use_backend(limiter.LocalBackend())  # no counts or caches carried over
            clients = _clients(world)
            with transaction.atomic():
                judge.start()
                _throw_everything_at(route, world, clients, judge)
                transaction.set_rollback(True)
            judge.reset()
    judge.assert_clean()


def test_every_url_pattern_is_covered():
    """Each of the resolver's patterns is in the page suite, the staff admin's suite or the
    Admin API's (by its OpenAPI document)."""
    for route in all_routes():
        assert (
            route in ROUTES or route.name.startswith("admin:") or is_admin_api_operation(route)
        ), route
