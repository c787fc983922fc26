"""What billing's tests share: the catalog's Sonnet group, an organization on Tier 2, and for
the enforcement tests a workspace with a key and the limiter backends: the local one, the
system's Redis (`REDIS_URL`, or `TEST_REDIS_URL`), and a three-master Redis Cluster the tests
start on free ports of their own."""

import os
from datetime import UTC, datetime

import pytest

from accounts.audit import Actor
from billing import enforcement, limiter, services
from billing.models import Limiter, ModelGroup, UsageTier
from tests.billing import redis_servers
from tests.factories import WorkspaceFactory
from tests.helpers import redis_url_of_this_worker
from workspaces import services as workspace_services

REDIS_URL = redis_url_of_this_worker(
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
)
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


def skip_or_fail(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_cluster():
    """Three redis-server processes with cluster mode on, joined by `redis-cli --cluster
    create`; stopped when the tests end."""
    if not redis_servers.available():
        skip_or_fail("redis-server and redis-cli are needed for the cluster tests")
    servers = redis_servers.RedisClusterServers()
    yield servers
    servers.close()


@pytest.fixture
def redis_servers_started():
    """Start single redis-server processes of a test's own (`start(persist=..., options=...)`);
    each is stopped when the test ends."""
    if not redis_servers.available():
        skip_or_fail("redis-server is needed for this test")
    started: list[redis_servers.RedisServer] = []

    def start(**options) -> redis_servers.RedisServer:
        server = redis_servers.RedisServer(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


BACKENDS = ["local", "redis", "redis-queued", "cluster", "cluster-queued"]


def make_backend(request, name: str) -> limiter.Backend:
    if name == "local":
        return limiter.LocalBackend()
    if name.startswith("cluster"):
        return limiter.RedisBackend(request.getfixturevalue("redis_cluster").url, cluster=True)
    return redis_backend()


@pytest.fixture(params=BACKENDS)
def engine(request, settings):
    """Each backend; "-queued" also carries usage records in Redis (`USAGE_QUEUE`)."""
    settings.LIMITER_CACHE_SECONDS = 60  # tests change limits before they authorize
    settings.USAGE_QUEUE = request.param.endswith("-queued")
    backend = make_backend(request, request.param)
    backend.reset()
    enforcement.use_backend(backend)
    yield backend
    backend.reset()
    enforcement.use_backend(None)


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
