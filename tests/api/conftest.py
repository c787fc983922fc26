import json

import pytest
from django.test import Client

from accounts import services
from accounts.audit import Actor


class Api:
    """A test client for the Admin API, signed with an Admin API key."""

    def __init__(self, secret: str) -> None:
        self.client = Client(HTTP_X_API_KEY=secret)

    def get(self, path: str, params=None):
        return self.client.get(f"/v1/{path}", params or {})

    def post(self, path: str, body=None):
        return self.client.post(
            f"/v1/{path}", json.dumps(body or {}), content_type="application/json"
        )

    def delete(self, path: str):
        return self.client.delete(f"/v1/{path}")


@pytest.fixture
def api(admin_key) -> Api:
    return Api(admin_key[1])


@pytest.fixture
def other_api(personas) -> Api:
    _key, secret = services.admin_key_create(
        actor=Actor.for_user(personas.outsider), organization=personas.other_org, name="theirs"
    )
    return Api(secret)
