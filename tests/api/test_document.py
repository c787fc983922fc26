"""The OpenAPI document is generated from the routes and their schemas: every URL under
/v1/organizations/ is in it, with the enums of the models' choices."""

import json
import re

from django.urls import URLPattern, get_resolver

from accounts.roles import OrgRole
from console.api_urls import api as admin_api

DOCUMENT = admin_api.get_openapi_schema(path_prefix="/v1/")


def _routes() -> set[str]:
    routes = set()
    for prefix, patterns in [("", get_resolver().url_patterns)]:
        stack = [(prefix, pattern) for pattern in patterns]
        while stack:
            base, pattern = stack.pop()
            route = base + str(pattern.pattern)
            if isinstance(pattern, URLPattern):
                routes.add(route)
            else:
                stack.extend((route, child) for child in pattern.url_patterns)
    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        for route in routes
        if route.startswith("v1/organizations/")
    }


def test_every_organizations_url_is_in_the_document():
    routes = _routes()
    assert routes and routes == set(DOCUMENT["paths"])


def test_the_document_is_served(client):
    response = client(None).get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"] == json.loads(json.dumps(DOCUMENT["paths"]))


def test_roles_come_from_the_models_choices():
    parameters = DOCUMENT["paths"]["/v1/organizations/users"]["get"]["parameters"]
    roles = next(p for p in parameters if p["name"] == "roles[]")
    listed = roles["schema"]["anyOf"][0]["items"]["enum"]
    assert listed == OrgRole.values
    body = DOCUMENT["components"]["schemas"]["UserUpdate"]["properties"]["role"]["enum"]
    assert body == [role for role in OrgRole.values if role != OrgRole.ADMIN]
