"""What billing's tests share: the catalog's Sonnet group, an organization on Tier 2, and for
the enforcement tests a workspace with a key and a Redis backend."""

import os
from datetime import UTC, datetime

import pytest

from accounts.audit import Actor
from billing import enforcement, limiter, services
from billing.models import Limiter, ModelGroup, UsageTier
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC).timestamp()
RPM, ITPM, OTPM = (
    Limiter.REQUESTS_PER_MINUTE,
    Limiter.INPUT_TOKENS_PER_MINUTE,
    Limiter.OUTPUT_TOKENS_PER_MINUTE,
)


@pytest.fixture
def sonnet(db) -> ModelGroup:
    return ModelGroup.objects.get(slug="sonnet-4")


@pytest.fixture
def tier_2(personas) -> None:
    """The organization on Tier 2 ($500 cap), with a spend limit of $400 it set itself."""
    services.organization_limits_change(
        actor=Actor.system("staff"),
        organization=personas.org,
        tier=UsageTier.objects.get(name="Tier 2"),
    )
    services.organization_spend_limit_set(
        actor=Actor.system("staff"), organization=personas.org, amount_cents=400_00
    )


def redis_backend():
    backend = limiter.RedisBackend(REDIS_URL)
    try:
        backend.client.ping()
    except Exception:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return backend


@pytest.fixture
def world(personas):
    """A workspace with a key; the organization on Tier 1 (Sonnet: 50 RPM, 30k ITPM, 8k OTPM)."""
    actor = Actor.for_user(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    key, secret = workspace_services.api_key_create(actor=actor, workspace=workspace, name="k")
    return {
        "actor": actor,
        "workspace": workspace,
        "key": key,
        "secret": secret,
        "org": personas.org,
    }


def auth(world, *, input_tokens=10, max_tokens=10, model="claude-sonnet-4-5", now=T0, secret=None):
    return enforcement.authorize(
        secret or world["secret"], model, input_tokens, max_tokens, now=now
    )
