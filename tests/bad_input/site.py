"""The console as the suite sees it: every URL pattern of the resolver, how to fill its path
parameters, the forms and links its pages show, and what a good answer to bad input is."""

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from tests.bad_input.world import Snapshot, World, snapshot

_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its namespaced name, its pattern and its path parameters."""

    name: str
    pattern: str
    parameters: tuple[str, ...]
    view_module: str
    is_public: bool  # its view is `login_not_required`: the suite calls it signed out

    def fill(self, values: dict[str, str]) -> str:
        """The path with each parameter replaced by `values[name]` (sent as given)."""
        if self.pattern.startswith("v1/^"):  # the API's catch-all, a regular expression
            return "/v1/no/such/endpoint"
        return "/" + _PARAMETER.sub(lambda m: values[m.group("name")], self.pattern)


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace else entry.name or pattern
            yield Route(
                name=name,
                pattern=pattern,
                parameters=tuple(m.group("name") for m in _PARAMETER.finditer(pattern)),
                view_module=getattr(entry.callback, "__module__", ""),
                is_public=getattr(entry.callback, "login_required", True) is False,
            )


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def is_admin_api_operation(route: Route) -> bool:
    """The Admin API's operations: enumerated from the OpenAPI document instead."""
    return route.view_module == "ninja.operation"


def console_routes() -> list[Route]:
    """Every URL pattern the page suite covers: all but the staff admin's (its own suite)
    and the Admin API's operations (the OpenAPI suite)."""
    return [
        route
        for route in all_routes()
        if not route.name.startswith("admin:") and not is_admin_api_operation(route)
    ]


def staff_admin_routes() -> list[Route]:
    return [route for route in all_routes() if route.name.startswith("admin:")]


# -- Path parameters --------------------------------------------------------------------------


class NoValueFor(LookupError):
    """A URL pattern names a parameter the suite cannot fill: teach `real_value` about it."""


def real_value(world: World, route: Route, parameter: str, side_name: str) -> str:
    """The id of a real object of the `side_name` organization ("own" or "other") that
    `parameter` of `route` names."""
    side = world.side(side_name)
    short = route.name.split(":")[-1]
    if parameter == "workspace_id":
        return side.workspace.public_id
    if parameter == "user_id":
        return side.member.public_id
    if parameter == "key_id":
        return side.admin_key.public_id if short.startswith("admin_key") else side.api_key.public_id
    if parameter == "invite_id":
        return side.invite.public_id
    if parameter == "request_id":
        return side.increase_request.public_id
    if parameter == "amount_cents":
        if short.startswith("workspace_"):
            return str(side.workspace_notification_cents)
        return str(side.organization_notification_cents)
    if parameter == "token" and short == "invite_accept":
        return side.invite_token
    if short == "password_reset_confirm" and parameter in ("uidb64", "token"):
        uid, token = side.password_reset
        return uid if parameter == "uidb64" else token
    raise NoValueFor(f"{route.name} ({route.pattern}) has a parameter {parameter!r}")


def real_path(world: World, route: Route, side_name: str = "own") -> str:
    return route.fill({p: real_value(world, route, p, side_name) for p in route.parameters})


# -- Forms and links --------------------------------------------------------------------------


@dataclass
class Form:
    method: str
    path: str  # where it is sent
    fields: dict[str, str] = field(default_factory=dict)  # name -> a valid value


class _PageParser(HTMLParser):
    """The forms of a page and the query parameters of its links, by the path they go to."""

    def __init__(self, base_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_path = base_path
        self.forms: list[tuple[str, Form]] = []
        self.links: list[tuple[str, dict[str, str]]] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def _target(self, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path or self.base_path
        if parts.query:
            self.links.append((path, dict(parse_qsl(parts.query, True))))
        return path

    def handle_starttag(self, tag: str, attrs_list: list) -> None:
        attrs = {k: v if v is not None else "" for k, v in attrs_list}
        for attribute in ("href", "hx-get"):
            if attribute in attrs and not attrs[attribute].startswith(("#", "mailto:")):
                self._target(attrs[attribute])
        if tag == "form":
            posted = attrs.get("hx-post") or (
                attrs.get("action", "") if attrs.get("method", "get").lower() == "post" else None
            )
            target = posted if posted is not None else attrs.get("hx-get") or attrs.get("action")
            path = self._target(target or "")
            self._form = Form(method="post" if posted is not None else "get", path=path)
            self.forms.append((path, self._form))
            return
        form = self._form
        name = attrs.get("name")
        if form is None or not name:
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if name not in form.fields or "checked" in attrs:
                    form.fields[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset"):
                form.fields[name] = attrs.get("value", "")
        elif tag == "select":
            self._select = name
            form.fields.setdefault(name, "")
        elif tag == "option" and self._select:
            if not form.fields[self._select] or "selected" in attrs:
                form.fields[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""
        elif tag == "button" and attrs.get("value") is not None:
            form.fields.setdefault(name, attrs["value"])

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def route_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


@dataclass
class PageParts:
    """What a page shows, by the route each form or link goes to: its forms that post, and
    the query strings of its links and of its forms that get."""

    forms: dict[str, list[Form]] = field(default_factory=dict)
    queries: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def page_parts(path: str, html: str) -> PageParts:
    parser = _PageParser(path)
    parser.feed(html)
    parts = PageParts()
    for target, form in parser.forms:
        name = route_of(target)
        if name is None:
            continue
        if form.method == "post":
            parts.forms.setdefault(name, []).append(form)
        else:
            parts.queries.setdefault(name, []).append(dict(form.fields))
    for target, query in parser.links:
        name = route_of(target)
        if name is not None:
            parts.queries.setdefault(name, []).append(query)
    return parts


# -- What a good answer is ----------------------------------------------------------------------


class Watch(logging.Handler):
    """Collects the ERROR records logged while the suite runs: an error logged for bad input
    is a bug even when the answer is a 4xx."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Judge:
    """Checks every answer: no 5xx, the right shape of error, no error logged, and no row
    changed by a request that was refused (a snapshot of the database before and after it:
    taken after every refusal and every write, since a write that succeeds may change rows)."""

    problems: list[str] = field(default_factory=list)
    sent: int = 0
    _before: Snapshot | None = None
    _watch: Watch = field(default_factory=Watch)

    def __enter__(self) -> "Judge":
        logging.getLogger().addHandler(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._watch)

    def reset(self) -> None:
        """The database went back to an earlier state: the next check takes a new snapshot."""
        self._before = None

    def check(
        self,
        what: str,
        response: HttpResponse,
        path: str,
        *,
        wrote: bool,
        may_change: tuple[str, ...] = (),
    ) -> None:
        """`may_change`: tables (by name prefix) a refusal may write on purpose."""
        self.sent += 1
        status = response.status_code
        problem = answer_problem(response, path)
        if problem:
            self.problems.append(f"{what}: {problem}")
        if self._watch.records:
            logged = "; ".join(r.getMessage()[:200] for r in self._watch.records)
            self.problems.append(f"{what}: answered {status} and logged an error: {logged}")
            self._watch.records.clear()
        refused = 400 <= status < 500
        if not (refused or wrote):
            return
        after = snapshot()
        if refused and self._before is not None:
            changed = [
                change
                for change in self._before.changes(after)
                if not change.split()[-1].startswith(may_change or ("\0",))
            ]
            if changed:
                self.problems.append(f"{what}: answered {status} yet changed {changed}")
        self._before = after

    def start(self) -> None:
        self._before = snapshot()

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems in {self.sent} requests:\n" + (
            "\n".join(self.problems[:80])
        )


def answer_problem(response: HttpResponse, path: str) -> str | None:
    """What is wrong with an answer to bad input, if anything."""
    status = response.status_code
    content = getattr(response, "content", b"")
    kind = response.get("Content-Type", "")
    if status >= 500:
        return f"answered {status}: {content[:300]!r}"
    if status < 400:
        return None
    if path.startswith("/v1/"):
        try:
            body = json.loads(content)
        except ValueError:
            return f"answered {status} with {kind}, not the JSON error envelope: {content[:200]!r}"
        if not (
            isinstance(body, dict)
            and body.get("type") == "error"
            and isinstance(body.get("error"), dict)
            and {"type", "message"} <= set(body["error"])
        ):
            return f"answered {status} without the error envelope: {content[:200]!r}"
        return None
    if kind.startswith("application/json"):
        return f"a page answered {status} with JSON"
    if b'id="traceback"' in content or b"Django Version:" in content:
        return f"answered {status} with Django's technical page"
    return None


def form_encoded(data: dict[str, Any]) -> str:
    """`data` as a query string or form body, lone surrogates included (as the bytes a
    client that does not check would send)."""
    return urlencode(data, doseq=True, encoding="utf-8", errors="surrogatepass")
