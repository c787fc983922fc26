"""Authenticating a presented API key: one indexed lookup, refused once disabled, deleted,
expired or archived with its workspace; last use written at most once a minute."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import KeyStatus
from workspaces import services


def test_authentication(production_key, personas, production):
    key, secret = production_key
    assert services.api_key_authenticate(secret) == key
    assert services.api_key_authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert services.api_key_authenticate(secret + "x") is None
    assert services.api_key_authenticate("") is None
    assert services.api_key_authenticate("sk-ant-admin01-" + secret[13:]) is None
    actor = Actor.for_user(personas.admin)
    services.api_key_disable(actor=actor, key=key)
    assert services.api_key_authenticate(secret) is None
    services.api_key_enable(actor=actor, key=key)
    assert services.api_key_authenticate(secret) == key
    services.api_key_delete(actor=actor, key=key)
    assert services.api_key_authenticate(secret) is None


def test_expired_keys_fail_and_cannot_be_enabled(personas, production):
    actor = Actor.for_user(personas.admin)
    key, secret = services.api_key_create(
        actor=actor,
        workspace=production,
        name="short",
        expires_at=timezone.now() + timedelta(days=1),
    )
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        key.refresh_from_db()
        assert key.current_status() == KeyStatus.EXPIRED
        assert services.api_key_authenticate(secret) is None
        with pytest.raises(ValidationError, match="expired"):
            services.api_key_enable(actor=actor, key=key)


def test_keys_of_archived_workspaces_fail(personas, production_key, production):
    key, secret = production_key
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=production)
    key.refresh_from_db()
    assert key.status == KeyStatus.ARCHIVED
    assert services.api_key_authenticate(secret) is None


def test_authentication_is_one_indexed_lookup(production_key, django_assert_num_queries):
    _key, secret = production_key
    with django_assert_num_queries(2):  # the lookup, then the first last-used write
        services.api_key_authenticate(secret)
    with django_assert_num_queries(1):  # within a minute: the lookup only
        services.api_key_authenticate(secret)


def test_last_used_is_written_at_most_once_a_minute(production_key):
    key, secret = production_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.api_key_authenticate(secret)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        services.api_key_authenticate(secret)
        key.refresh_from_db()
        assert key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        services.api_key_authenticate(secret)
        key.refresh_from_db()
        assert key.last_used_at == start + timedelta(seconds=61)
