"""Requests generated from the OpenAPI document: no 5xx, and every answer fits the schema."""

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts import services
from accounts.audit import Actor
from console.wsgi import application

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Called as a bare WSGI app, Django closes database connections after each request,
    which would end the test's transaction; Django's own test client disconnects this too."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def secret(personas):
    return services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="fuzz"
    )[1]


@schema.parametrize()
@hypothesis.settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_answers_as_documented(case, secret):
    case.call_and_validate(
        headers={"x-api-key": secret}, checks=[not_a_server_error, response_schema_conformance]
    )
