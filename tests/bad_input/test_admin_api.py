"""Every Admin API operation, enumerated from the OpenAPI document: its path parameters filled
with the test organization's ids (read from the API's own lists), another organization's and
bad values; each query parameter and each field of its body, nested ones included, with every
class of bad value; and raw bodies that are not JSON, not objects, or nested 100,000 deep.
Sent with the organization's Admin key, with a key whose creator was demoted (a lower role),
and with HX-Request. No answer is a 5xx or anything but the JSON error envelope, nothing is
logged as an error, and a refused request changes no row. When a bad write is accepted, every
page, API read and staff list still answers as it did before (`tests/bad_input/reads.py`).
"""

import itertools
import json
import re
from typing import Any

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client

from accounts import services as account_services
from accounts.audit import Actor
from accounts.roles import OrgRole
from billing import enforcement, limiter
from tests.bad_input import corpus
from tests.bad_input.openapi import DOCUMENT, OPERATIONS, concrete, fill, real_ids
from tests.bad_input.reads import Reads
from tests.bad_input.site import Judge, form_encoded
from tests.bad_input.world import World
from tests.factories import MemberFactory, UserFactory


def _group(path: str) -> str:
    return path.removeprefix("/v1/organizations/").split("/")[0] or "root"


GROUPS = sorted({_group(path) for _method, path, _op in OPERATIONS})


class Valid:
    """Valid values for a field or parameter, from its schema and its name."""

    def __init__(self, world: World, other_user_id: str) -> None:
        self.world = world
        self.other_user_id = other_user_id  # a member of the organization in no workspace
        self.emails = itertools.count()

    def value(self, name: str, schema: dict) -> Any:
        schema = concrete(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            required = schema.get("required", [])
            if name == "scope":
                return {"type": "workspace", "workspace_id": self.world.own.workspace.public_id}
            return {key: self.value(key, properties[key]) for key in required}
        if kind == "array":
            if name == "limits":
                return [{"type": "requests_per_minute", "value": 5}]
            return [self.value(name, schema.get("items", {}))] if schema.get("items") else []
        if kind == "integer":
            return 10
        if kind == "boolean":
            return False
        if kind == "number":
            return 1.5
        if schema.get("format") == "date-time" or name in ("starting_at", "ending_at"):
            return "2026-11-01T00:00:00Z"
        if name == "email":
            return f"new{next(self.emails)}@acme.test"
        if name == "user_id":
            return self.other_user_id
        if name.startswith("amount"):
            return "1000"
        if name == "workspace_id":
            return self.world.own.workspace.public_id
        return "ok"


def _fields(body: Any, schema: dict, prefix: tuple = ()) -> list[tuple[tuple, dict]]:
    """Every field the schema declares, nested ones included, with its schema: the body's
    own fields and the optional ones it leaves out."""
    schema = concrete(schema)
    found: list[tuple[tuple, dict]] = []
    if schema.get("type") == "object":
        for name, field in schema.get("properties", {}).items():
            found.append(((*prefix, name), field))
            if isinstance(body, dict) and isinstance(body.get(name), (dict, list)):
                found += _fields(body[name], field, (*prefix, name))
    elif schema.get("type") == "array" and isinstance(body, list) and body:
        items = concrete(schema.get("items", {}))
        for key, field in items.get("properties", {}).items():
            found.append(((*prefix, 0, key), field))
    return found


class Caller:
    def __init__(self, judge: Judge, operation: str) -> None:
        self.judge, self.operation = judge, operation

    def __call__(
        self,
        client: Client,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: Any = None,
        raw: str | bytes | None = None,
        htmx: bool = False,
        content_type: str = "application/json",
    ) -> HttpResponse:
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        address = path
        if query:
            address = f"{path}?{form_encoded(query)}"
        response = client.generic(method, address, data, content_type, **headers)
        shown = (str(body) if raw is None else repr(raw[:60]))[:160]
        what = f"[{self.operation}] {method} {address[:160]} {shown}"
        self.judge.check(what, response, path, wrote=method != "GET")
        return response


def _throw_everything_at(
    method: str, template: str, operation: dict, world: World, keys: dict[str, Client], judge, valid
) -> list[tuple[str, str, dict, Any]]:
    """Returns the bad writes that were accepted: (method, path, query, body)."""
    call = Caller(judge, f"{method} {template}")
    admin, demoted, other = keys["admin"], keys["demoted"], keys["other"]
    own_ids = real_ids(admin, template) if "{" in template else {}
    other_ids = real_ids(other, template) if "{" in template else {}
    assert own_ids is not None and other_ids is not None, f"no ids to fill {template}"
    own = fill(template, own_ids)
    parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    query = {
        p["name"]: valid.value(p["name"], p.get("schema", {}))
        for p in parameters
        if p.get("required")
    }
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    body = valid.value("body", body_schema) if body_schema else None
    accepted: list[tuple[str, str, dict, Any]] = []
    # 1. Bad ids and another organization's.
    for index, bad in enumerate(corpus.BAD_PATH_SEGMENTS if own_ids else []):
        path = fill(template, dict.fromkeys(own_ids, bad))
        call(admin, method, path, query=query, body=body, htmx=index % 2 == 1)
    if own_ids:
        call(admin, method, fill(template, other_ids), query=query, body=body)
    # 2. A lower role (a key whose creator is no longer an admin), and htmx's header.
    call(demoted, method, own, query=query, body=body, htmx=True)
    # 3. Each query parameter, with every class of value (the required ones valid).
    for position, parameter in enumerate(parameters):
        name = parameter["name"]
        good = valid.value(name, parameter.get("schema", {}))
        samples = [*corpus.samples_for(position), *corpus.variants(str(good))]
        for index, (_kind, value) in enumerate(samples):
            call(admin, method, own, query={**query, name: value}, body=body, htmx=index % 5 == 0)
        call(admin, method, own, query={**query, name: [str(good), "x"]}, body=body)
    # 4. Each field of the body, with every class of value (JSON types included), the others
    # valid; then each left out.
    if body_schema is not None:
        for position, (field, schema) in enumerate(_fields(body, body_schema)):
            good = valid.value(str(field[-1]), schema)
            samples = [*corpus.samples_for(position, json=True), *corpus.variants(good)]
            for index, (_kind, value) in enumerate(samples):
                changed = corpus.with_value(body, field, value)
                response = call(admin, method, own, query=query, body=changed, htmx=index % 7 == 0)
                if response.status_code < 300:
                    accepted.append((method, own, query, changed))
            call(admin, method, own, query=query, body=corpus.without(body, field))
        call(admin, method, own, query=query, body={**(body or {}), "unknown_field": 1})
    # 5. Raw bodies: not JSON, not an object, too deep, unsafe characters, wrong content type.
    raws: list[tuple[str | bytes, str]] = [
        ("[" * 100_000 + "]" * 100_000, "application/json"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "application/json"),
        ("{not json", "application/json"),
        ('{"name": "a\\u0000b"}', "application/json"),
        ('{"name": "\\ud800"}', "application/json"),
        ('{"\\u0000": 1}', "application/json"),
        (b"\xff\xfe\x00{", "application/json"),
        ("[]", "application/json"),
        ('"text"', "application/json"),
        ("1e999", "application/json"),
        ("null", "application/json"),
        ("name=x", "application/x-www-form-urlencoded"),
        (json.dumps(body or {}), "text/plain"),
    ]
    for raw, content_type in raws if method != "GET" else []:
        call(admin, method, own, query=query, raw=raw, content_type=content_type)
    # 6. The real thing, last (a write does what it says).
    call(admin, method, own, query=query, body=body, htmx=True)
    return accepted


@pytest.fixture
def keys(world: World, personas) -> dict[str, Client]:
    demoted = UserFactory(email="demoted@acme.test")
    member = MemberFactory(organization=personas.org, user=demoted, role=OrgRole.ADMIN)
    _key, secret = account_services.admin_key_create(
        actor=Actor.for_user(demoted), organization=personas.org, name="theirs"
    )
    account_services.member_change_role(
        actor=Actor.for_user(personas.admin), member=member, role=OrgRole.DEVELOPER
    )
    return {
        "admin": Client(HTTP_X_API_KEY=world.own.admin_key_secret, raise_request_exception=False),
        "other": Client(HTTP_X_API_KEY=world.other.admin_key_secret, raise_request_exception=False),
        "demoted": Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False),
    }


@pytest.mark.parametrize("group", GROUPS)
def test_every_operation_answers_bad_input_with_the_envelope(world, keys, personas, group):
    valid = Valid(world, MemberFactory(organization=personas.org, role=OrgRole.USER).user.public_id)
    judge = Judge()
    accepted: list[tuple[str, str, dict, Any]] = []
    with judge:
        for method, template, operation in OPERATIONS:
            if _group(template) != group:
                continue
            enforcement.use_backend(limiter.LocalBackend())
            with transaction.atomic():
                judge.start()
                accepted += _throw_everything_at(
                    method, template, operation, world, keys, judge, valid
                )
                transaction.set_rollback(True)
            judge.reset()
        if accepted:
            # The bad writes that were taken, made again together: every read answers as it
            # did before them.
            reads = Reads(world)
            with transaction.atomic():
                for method, path, query, body in accepted:
                    address = f"{path}?{form_encoded(query)}" if query else path
                    keys["admin"].generic(method, address, json.dumps(body), "application/json")
                judge.problems += [
                    f"[{group}] after the bad writes that were accepted: {problem}"
                    for problem in reads.changed()
                ]
                transaction.set_rollback(True)
    judge.assert_clean()


def test_every_operation_is_in_the_document():
    """The resolver's Admin API routes and the document's operations are the same set, so an
    endpoint added to a router is thrown the corpus without anyone listing it."""
    from tests.bad_input.site import all_routes, is_admin_api_operation

    routed = {
        re.sub(r"<([^>]+)>", r"{\1}", "/" + route.pattern)
        for route in all_routes()
        if is_admin_api_operation(route)
    }
    assert routed == set(DOCUMENT["paths"])
