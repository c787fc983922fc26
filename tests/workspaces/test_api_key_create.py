"""Creating an API key: the secret shown once and stored nowhere, names and expiry, the
workspace fixed for good, who may."""

import json
import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.audit import Actor
from console.secrets import hash_secret
from tests.factories import WorkspaceFactory
from tests.helpers import workspace_url
from workspaces import services
from workspaces.models import ApiKey


def test_secret_shape_hint_and_hash(production_key):
    key, secret = production_key
    body = secret.removeprefix("sk-ant-api03-")
    assert secret.startswith("sk-ant-api03-") and len(body) >= 43  # 256 bits, URL-safe
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert key.hint == f"sk-ant-api03-{body[:3]}...{body[-4:]}"
    assert key.secret_hash == hash_secret(secret) and secret not in key.secret_hash
    assert key.public_id.startswith("apikey_")


def test_secret_is_stored_nowhere(production_key, caplog):
    _key, secret = production_key
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert not any(secret in str(value) for value in row), table
    assert secret not in caplog.text


def test_keys_cannot_move(personas, production_key):
    key, _ = production_key
    key.workspace = WorkspaceFactory(organization=personas.org)
    with pytest.raises(ValueError, match="cannot move"):
        key.save()


@pytest.mark.parametrize("name", ["", "   ", "x" * 501])
def test_bad_names(personas, production, name):
    with pytest.raises(ValidationError):
        services.api_key_create(
            actor=Actor.for_user(personas.admin), workspace=production, name=name
        )
    assert not ApiKey.objects.exists()


def test_expiry_in_the_past_is_refused(personas, production):
    with pytest.raises(ValidationError, match="future"):
        services.api_key_create(
            actor=Actor.for_user(personas.admin),
            workspace=production,
            name="x",
            expires_at=timezone.now(),
        )


def test_archived_workspace_takes_no_keys(personas, production):
    actor = Actor.for_user(personas.admin)
    services.workspace_archive(actor=actor, workspace=production)
    with pytest.raises(ValidationError, match="archived"):
        services.api_key_create(actor=actor, workspace=production, name="late")


def test_create_shows_secret_once(client, personas, production, htmx, caplog):
    c = client(personas.developer)
    with caplog.at_level(logging.DEBUG):
        response = c.post(
            workspace_url("workspaces:api_key_create", production),
            {"name": "bot", "expiry": "never"},
            **htmx,
        )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    body = response.content.decode()
    secret = body.split('data-testid="new-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert services.api_key_authenticate(secret) == key
    assert "will not be shown again" in body
    assert json.loads(response["HX-Trigger"]) == {"keys:changed": {}}
    assert secret not in caplog.text
    for page in (
        c.get(workspace_url("workspaces:workspace_keys", production)),
        c.get(reverse("workspaces:api_key_list")),
        c.get(reverse("workspaces:api_key_rename", args=[key.public_id])),
        c.get(workspace_url("workspaces:workspace_keys", production), **htmx),
    ):
        assert secret not in page.content.decode()
        assert key.hint in page.content.decode() or "rename" in page.request["PATH_INFO"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "expiry": "never"}, "Give the key a name."),
        ({"name": "x" * 501, "expiry": "never"}, "at most 500 characters"),
        ({"name": "ok", "expiry": "custom", "expiry_date": "2001-01-01"}, "must be in the future"),
        ({"name": "ok", "expiry": "custom"}, "Choose the day the key expires."),
        ({"name": "ok", "expiry": "custom", "expiry_date": "tomorrow"}, "Expected a date such as"),
        ({"name": "ok", "expiry": "custom", "expiry_date": "9999-12-31"}, "years 2000 to 2999"),
        ({"name": "ok", "expiry": "custom", "expiry_date": "2026-02-30"}, "years 2000 to 2999"),
        ({"name": "ok", "expiry": "forever"}, "Select a valid choice"),
    ],
)
def test_create_bad_input(client, personas, production, htmx, data, message):
    response = client(personas.developer).post(
        workspace_url("workspaces:api_key_create", production), data, **htmx
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not ApiKey.objects.exists()


def test_create_with_expiry_choices(client, personas, production, htmx):
    c = client(personas.developer)
    c.post(
        workspace_url("workspaces:api_key_create", production),
        {"name": "d30", "expiry": "30"},
        **htmx,
    )
    c.post(
        workspace_url("workspaces:api_key_create", production),
        {"name": "date", "expiry": "custom", "expiry_date": "2099-05-01"},
        **htmx,
    )
    d30 = ApiKey.objects.get(name="d30")
    assert timedelta(days=29, hours=23) < d30.expires_at - timezone.now() <= timedelta(days=30)
    assert ApiKey.objects.get(name="date").expires_at.isoformat() == "2099-05-01T00:00:00+00:00"


def test_crafted_post_cannot_choose_another_workspace(client, personas, production, htmx):
    other = WorkspaceFactory(organization=personas.org)
    client(personas.admin).post(
        workspace_url("workspaces:api_key_create", production),
        {"name": "k", "expiry": "never", "workspace": other.public_id},
        **htmx,
    )
    assert ApiKey.objects.get().workspace == production
    key = ApiKey.objects.get()
    client(personas.admin).post(
        reverse("workspaces:api_key_rename", args=[key.public_id]),
        {"name": "k2", "workspace": other.public_id},
        **htmx,
    )
    key.refresh_from_db()
    assert key.workspace == production and key.name == "k2"


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("developer", 200), ("billing", 403), ("user", 403), ("outsider", 404)],
)
def test_create_by_role(client, personas, production, htmx, who, status):
    response = client(getattr(personas, who)).post(
        workspace_url("workspaces:api_key_create", production),
        {"name": "k", "expiry": "never"},
        **htmx,
    )
    assert response.status_code == status
    assert ApiKey.objects.exists() is (status == 200)
