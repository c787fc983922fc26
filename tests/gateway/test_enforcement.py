"""Every request through Console's Messages API is checked against every limit, refused
as the Anthropic API refuses, and shows on the Usage and Cost pages and the Admin API."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anthropic
import httpx2
import pytest
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from billing import enforcement, services
from billing.messages_api import lookups
from billing.models import Limiter, ModelGroup, RefusalMinute
from workspaces import services as workspace_services
from workspaces.models import ApiKey

HELLO = [{"role": "user", "content": "fake: reply input=10 output=3"}]


def call(gateway, **options):
    return gateway.sdk(**options).messages.create(
        model="claude-sonnet-4-5", max_tokens=10, messages=HELLO
    )


def forget_caches():
    enforcement.clear_caches()
    lookups.clear()


def test_rate_limit_is_a_429_with_retry_after(gateway):
    services.workspace_rate_limit_set(
        actor=gateway.actor,
        workspace=gateway.workspace,
        model_group=ModelGroup.objects.get(slug="sonnet-4"),
        limiter=Limiter.REQUESTS_PER_MINUTE,
        value=1,
    )
    call(gateway)
    with pytest.raises(anthropic.RateLimitError) as refused:
        call(gateway)
    headers = refused.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["request-id"] == refused.value.body["request_id"]
    assert "your workspace's rate limit of 1 requests per minute" in refused.value.message
    # The refused request reached no upstream and recorded no usage.
    assert len(gateway.upstream_log()) == 1
    gateway.settled(count=1)


def test_workspace_spend_limit(gateway):
    services.organization_spend_limit_set(
        actor=gateway.actor, organization=gateway.org, amount_cents=10_000
    )
    services.workspace_spend_limit_set(
        actor=gateway.actor, workspace=gateway.workspace, amount_cents=1
    )
    with pytest.raises(anthropic.BadRequestError) as refused:
        gateway.sdk().messages.create(model="claude-sonnet-4-5", max_tokens=1_000, messages=HELLO)
    assert refused.value.body["error"]["message"].startswith(
        "You have reached your specified workspace API usage limits"
    )
    assert not gateway.upstream_log()


def test_organization_spend_limit(gateway):
    services.organization_spend_limit_set(
        actor=gateway.actor, organization=gateway.org, amount_cents=1
    )
    with pytest.raises(anthropic.BadRequestError) as refused:
        gateway.sdk().messages.create(model="claude-sonnet-4-5", max_tokens=1_000, messages=HELLO)
    assert refused.value.body["error"]["message"].startswith(
        "You have reached your specified API usage limits"
    )


def _disable(gateway):
    workspace_services.api_key_disable(actor=gateway.actor, key=gateway.key)


def _delete(gateway):
    workspace_services.api_key_delete(actor=gateway.actor, key=gateway.key)


def _expire(gateway):
    ApiKey.objects.filter(pk=gateway.key.pk).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )


def _archive_workspace(gateway):
    workspace_services.workspace_archive(actor=gateway.actor, workspace=gateway.workspace)


@pytest.mark.parametrize("change", [_disable, _delete, _expire, _archive_workspace])
def test_keys_that_may_not_call_are_401(gateway, change):
    call(gateway)
    gateway.settled(count=1)
    change(gateway)
    forget_caches()
    for attempt in (
        lambda: call(gateway),
        lambda: gateway.sdk().models.list(),
        lambda: gateway.sdk().messages.count_tokens(model="claude-sonnet-4-5", messages=HELLO),
    ):
        with pytest.raises(anthropic.AuthenticationError) as refused:
            attempt()
        assert refused.value.body["error"]["type"] == "authentication_error"
    gateway.settled(count=1)


def test_unrouted_and_unknown_models_are_404(gateway):
    for model in ("claude-haiku-4-5", "gpt-9"):
        with pytest.raises(anthropic.NotFoundError) as missing:
            gateway.sdk().messages.create(model=model, max_tokens=5, messages=HELLO)
        assert missing.value.body["error"] == {
            "type": "not_found_error",
            "message": f"model: {model}",
        }
    # Without a good key, the catalog is not revealed.
    with pytest.raises(anthropic.AuthenticationError):
        call_model = gateway.sdk(api_key="sk-ant-api03-nope").messages.create
        call_model(model="claude-haiku-4-5", max_tokens=5, messages=HELLO)
    assert not gateway.upstream_log()


def test_missing_key_is_401(gateway):
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []},
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "x-api-key header is required"


def test_gateway_traffic_is_on_the_pages_and_in_the_admin_api(gateway, personas):
    gateway.sdk().messages.create(
        model="claude-sonnet-4-5",
        max_tokens=10,
        messages=[{"role": "user", "content": "fake: reply input=2000 cache_1h=100 output=5"}],
    )
    (record,) = gateway.settled()
    today = datetime.now(UTC).date().isoformat()
    page = Client()
    page.force_login(personas.admin)
    period = {"range": "custom", "start": today, "end": today}
    usage_report = page.get(reverse("billing:usage"), period).context["report"]
    assert usage_report.totals.requests == 1
    assert usage_report.totals.uncached_input_tokens == 2000
    assert usage_report.totals.cache_creation_1h_tokens == 100
    cost = page.get(reverse("billing:cost"), period).context["report"]
    assert cost.total_cents == record.cost_cents == Decimal("0.6675")
    _admin_key, secret = account_services.admin_key_create(
        actor=gateway.actor, organization=gateway.org, name="reports"
    )
    api = Client(HTTP_X_API_KEY=secret)
    start = f"{today}T00:00:00Z"
    body = api.get(
        f"/v1/organizations/usage_report/messages?starting_at={start}&group_by[]=api_key_id"
    ).json()
    (row,) = [r for bucket in body["data"] for r in bucket["results"]]
    assert row["uncached_input_tokens"] == 2000 and row["output_tokens"] == 5
    assert row["api_key_id"] == gateway.key.public_id
    costs = api.get(f"/v1/organizations/cost_report?starting_at={start}").json()
    assert (
        sum(Decimal(r["amount"]) for b in costs["data"] for r in b["results"]) == record.cost_cents
    )


@pytest.fixture
def count_every_query(monkeypatch):
    """Queries made by any thread (the gateway's run in its thread pool), not only this one."""
    queries: list[str] = []
    run = CursorWrapper._execute_with_wrappers

    def counted(self, sql, *args, **kwargs):
        queries.append(sql)
        return run(self, sql, *args, **kwargs)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", counted)
    return queries


@pytest.mark.parametrize("gateway", ["redis-queued"], indirect=True)
def test_a_warm_request_runs_no_sql(gateway, settings, count_every_query):
    settings.LIMITER_CACHE_SECONDS = 60
    settings.USAGE_ROLLUP_INLINE = False
    backend = gateway.backend

    def queued(count: int) -> None:
        deadline = time.monotonic() + 5
        while backend.queued_usage([str(gateway.org.pk)]) < count:
            assert time.monotonic() < deadline, "the requests were not settled"
            time.sleep(0.01)

    call(gateway)  # the key, the limits, the model and the routes, now cached
    queued(1)
    count_every_query.clear()
    call(gateway)
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5", max_tokens=10, messages=HELLO
    ) as stream:
        stream.until_done()
    queued(3)
    assert count_every_query == []


def test_refusals_are_counted_off_the_request_path(gateway, settings, count_every_query):
    settings.LIMITER_CACHE_SECONDS = 60
    services.workspace_rate_limit_set(
        actor=gateway.actor,
        workspace=gateway.workspace,
        model_group=ModelGroup.objects.get(slug="sonnet-4"),
        limiter=Limiter.REQUESTS_PER_MINUTE,
        value=1,
    )
    call(gateway)  # admitted: the key, the limits and the route are cached now
    gateway.idle()
    count_every_query.clear()
    for _ in range(3):
        with pytest.raises(anthropic.RateLimitError):
            call(gateway)
    gateway.idle()
    # A refused client waits for no SQL write; the refusals are counted all the same.
    assert count_every_query == []
    gateway.flush_refusals()
    (minute,) = RefusalMinute.objects.all()
    assert minute.count == 3
    assert (minute.api_key_id, minute.limiter) == (gateway.key.pk, Limiter.REQUESTS_PER_MINUTE)
    gateway.settled(count=1)


@pytest.mark.parametrize("gateway", ["redis", "redis-queued"], indirect=True)
def test_the_engine_runs_on_async_redis(gateway, monkeypatch):
    """A check is one round trip on redis.asyncio in the event loop, no thread; so is a
    settle when it is queued (without the queue it writes its record, in a thread)."""
    calls: list[str] = []
    backend = gateway.backend
    for name in ("check", "acheck", "settle", "asettle"):
        real = getattr(backend, name)

        def spy(request, real=real, name=name):
            calls.append(name)
            return real(request)

        monkeypatch.setattr(backend, name, spy)
    call(gateway)
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5", max_tokens=10, messages=HELLO
    ) as stream:
        stream.until_done()
    gateway.idle()
    # (The first check of an organization may run twice, its spend counters made between.)
    assert "acheck" in calls and "check" not in calls
    settled, not_used = ("asettle", "settle") if gateway.queued else ("settle", "asettle")
    assert calls.count(settled) == 2 and not_used not in calls
    monkeypatch.undo()
    gateway.settled(count=2)
