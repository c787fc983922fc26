"""The enforcement engine, on every backend: buckets, spend, reservations, answers."""

import ast
import contextlib
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import hypothesis
import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.core import mail
from django.db import OperationalError, connection, connections
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from hypothesis import strategies as st

from accounts.audit import Actor
from accounts.models import AuditEvent
from billing import enforcement, limiter, services, usage
from billing.models import (
    Model,
    ModelGroup,
    RefusalMinute,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageRecord,
    UsageTier,
)
from tests.billing.conftest import ITPM, RPM, T0, auth
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services


def stored():
    """The usage records in the database once the worker has run (as it always has for a
    backend that does not queue them)."""
    enforcement.store_queued_usage()
    return UsageRecord.objects


def sonnet():
    return ModelGroup.objects.get(slug="sonnet-4")


def test_admits_with_reservation_and_headers(engine, world):
    decision = auth(world)
    assert decision.admitted and decision.reservation_id.startswith("res_")
    assert decision.api_key_id == world["key"].public_id
    assert decision.workspace_id == world["workspace"].public_id
    assert decision.headers["anthropic-ratelimit-requests-limit"] == "50"
    assert decision.headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert decision.headers["anthropic-ratelimit-input-tokens-remaining"] == "29990"
    assert decision.headers["anthropic-ratelimit-output-tokens-remaining"] == "7990"
    assert decision.headers["anthropic-ratelimit-tokens-remaining"] == "7990"
    # Full again once the one request refilled: 1.2 s at 50 a minute, rounded up.
    assert decision.headers["anthropic-ratelimit-requests-reset"] == "2026-11-10T12:00:02Z"


def test_bucket_refills_continuously_and_never_above_capacity(engine, world):
    for _ in range(50):
        assert auth(world).admitted
    refused = auth(world)
    assert not refused.admitted and refused.status == 429
    assert refused.headers["retry-after"] == "2"  # 1.2 s to refill one request, rounded up
    assert "rate limit of 50 requests per minute" in refused.body["error"]["message"]
    assert refused.body["error"]["type"] == "rate_limit_error"
    assert not auth(world, now=T0 + 1.1).admitted
    assert auth(world, now=T0 + 1.2).admitted  # 60 per minute-ish: one per 1.2 s
    # A long pause refills to capacity and no further.
    later = auth(world, now=T0 + 3600)
    assert later.headers["anthropic-ratelimit-requests-remaining"] == "49"


def test_refused_request_changes_no_counter(engine, world):
    assert auth(world, input_tokens=29_000).admitted
    refused = auth(world, input_tokens=2_000)  # input bucket has 1,000 left
    assert not refused.admitted
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert refused.headers["anthropic-ratelimit-output-tokens-remaining"] == "7990"
    admitted = auth(world, input_tokens=1_000)
    assert admitted.headers["anthropic-ratelimit-requests-remaining"] == "48"


def test_workspace_limit_refuses_at_the_workspace(engine, world):
    services.workspace_rate_limit_set(
        actor=world["actor"],
        workspace=world["workspace"],
        model_group=sonnet(),
        limiter=RPM,
        value=2,
    )
    assert auth(world).admitted and auth(world).admitted
    refused = auth(world)
    assert (
        refused.status == 429
        and "your workspace's rate limit of 2 requests" in refused.body["error"]["message"]
    )
    assert refused.headers["anthropic-ratelimit-requests-limit"] == "2"


def test_two_workspaces_together_hit_the_organization(engine, world):
    other = WorkspaceFactory(organization=world["org"])
    _key, other_secret = workspace_services.api_key_create(
        actor=world["actor"], workspace=other, name="o"
    )
    for _ in range(25):
        assert auth(world).admitted
        assert auth(world, secret=other_secret).admitted
    refused = auth(world, secret=other_secret)
    assert (
        refused.status == 429
        and "your organization's rate limit of 50" in refused.body["error"]["message"]
    )


def test_other_model_groups_have_their_own_buckets(engine, world):
    for _ in range(50):
        auth(world)
    assert auth(world, model="claude-haiku-4-5").admitted


def test_request_larger_than_the_bucket(engine, world):
    refused = auth(world, max_tokens=9_000)
    assert refused.status == 429 and refused.headers["retry-after"] == "60"


def test_settle_returns_unused_output_and_records_usage(engine, world):
    decision = auth(world, input_tokens=1_000, max_tokens=8_000)
    assert not auth(world, max_tokens=10).admitted  # output capacity reserved
    settlement = enforcement.settle(
        decision.reservation_id, {"input_tokens": 1_000, "output_tokens": 500}, now=T0
    )
    assert settlement.cost_cents == Decimal("1.05")  # 1k in at $3/M + 500 out at $15/M
    record = stored().get()
    assert (record.uncached_input_tokens, record.output_tokens, record.request_id) == (
        1_000,
        500,
        decision.reservation_id,
    )
    assert record.created_at.timestamp() == T0
    assert auth(world, max_tokens=7_000).admitted  # the unused 7,500 came back


def test_settle_twice_is_harmless(engine, world):
    decision = auth(world)
    first = enforcement.settle(
        decision.reservation_id, {"input_tokens": 10, "output_tokens": 5}, now=T0
    )
    second = enforcement.settle(
        decision.reservation_id, {"input_tokens": 10, "output_tokens": 5}, now=T0
    )
    assert second.already_settled and second.cost_cents == first.cost_cents
    assert stored().count() == 1
    third = enforcement.settle(
        decision.reservation_id, {"input_tokens": 99, "output_tokens": 99}, now=T0 + 1
    )
    assert third.already_settled and third.cost_cents == first.cost_cents
    assert stored().count() == 1


def test_unknown_and_forged_reservations(engine, world):
    decision = auth(world)
    for bad in ("res_nope", "", None, decision.reservation_id[:-2] + "xx", "x" * 400):
        with pytest.raises(enforcement.EnforcementError):
            enforcement.settle(bad, {"output_tokens": 1}, now=T0)
    assert not UsageRecord.objects.exists()


def test_unsettled_reservations_are_released(engine, world, settings):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 4")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=100
    )
    # Opus 4.5 worst case: 1,000 in x $10/M (1 h cache write) + 1,000 out x $25/M = 3.5 cents
    opus = {"model": "claude-opus-4-5", "input_tokens": 1_000, "max_tokens": 1_000}
    admitted = [auth(world, **opus) for _ in range(28)]
    assert all(d.admitted for d in admitted)
    refused = auth(world, **opus, now=T0 + 1)
    assert (
        refused.status == 400 and "specified API usage limits" in refused.body["error"]["message"]
    )
    assert auth(world, **opus, now=T0 + settings.RESERVATION_SECONDS + 1).admitted
    # Settled after its reservation expired: recorded all the same, and counted.
    late = enforcement.settle(admitted[0].reservation_id, {"output_tokens": 1}, now=T0 + 700)
    assert not late.already_settled and late.cost_cents == Decimal("0.0025")
    assert stored().get().request_id == admitted[0].reservation_id


def test_spend_limits_and_their_answers(engine, world):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=10
    )
    services.workspace_spend_limit_set(
        actor=world["actor"], workspace=world["workspace"], amount_cents=5
    )
    big = {
        "model": "claude-opus-4-5",
        "input_tokens": 2_000,
        "max_tokens": 1_000,
    }  # 4.5 cents worst case
    assert auth(world, **big).admitted
    refused = auth(world, **big)
    assert refused.status == 400
    assert refused.body["error"]["message"].startswith(
        "You have reached your specified workspace API usage limits"
    )
    assert "2026-12-01 at 00:00 UTC" in refused.body["error"]["message"]
    assert "retry-after" not in refused.headers


def test_tier_cap_answers_429_without_retry_after(engine, world):
    services.organization_limits_change(
        actor=world["actor"],
        organization=world["org"],
        tier=UsageTier.objects.get(name="Tier 1"),
        custom_spend_cap_cents=3,
    )
    refused = auth(world, model="claude-opus-4-5", input_tokens=2_000, max_tokens=1_000)
    assert refused.status == 429
    assert refused.body["error"]["details"] == {
        "error_code": "enforced_spend_limit_reached",
        "scope": "organization",
        "limiter": "tier_spend_cap",
        "limit": "3",
        "used": "0",
        "requested": "4.5",
        "unit": "cents",
        "reset": "2026-12-01T00:00:00Z",
    }
    assert "retry-after" not in refused.headers


def test_refusals_are_counted(engine, world):
    for _ in range(52):
        auth(world)
    refusal = RefusalMinute.objects.get()
    assert (refusal.count, refusal.limiter) == (2, RPM)


@pytest.mark.parametrize("change", ["disable", "delete", "archive_workspace", "expire"])
def test_unusable_keys_are_refused_with_401(engine, world, change):
    key = world["key"]
    if change == "disable":
        workspace_services.api_key_disable(actor=world["actor"], key=key)
    elif change == "delete":
        workspace_services.api_key_delete(actor=world["actor"], key=key)
    elif change == "archive_workspace":
        workspace_services.workspace_archive(actor=world["actor"], workspace=world["workspace"])
    else:
        type(key).objects.filter(pk=key.pk).update(expires_at=datetime(2026, 1, 1, tzinfo=UTC))
    decision = auth(world)
    assert decision.status == 401 and decision.body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gpt-9"}, "unknown model"),
        ({"model": ""}, "model name is required"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10**12}, "max_tokens"),
        ({"input_tokens": "12"}, "whole number"),
        ({"input_tokens": 1.5}, "whole number"),
    ],
)
def test_bad_input(engine, world, kwargs, message):
    with pytest.raises(enforcement.EnforcementError, match=message):
        auth(world, **kwargs)


def test_counters_rebuilt_from_the_database(engine, world):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=100
    )
    usage.record(
        api_key=world["key"],
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens={"output_tokens": 66_000},  # 99 cents at $15 per million
        at=datetime.fromtimestamp(T0 - 3600, UTC),
    )
    engine.reset()  # the counter store lost everything
    refused = auth(world, max_tokens=1_000)  # 1.5 cents more would pass the limit
    assert (
        refused.status == 400 and "specified API usage limits" in refused.body["error"]["message"]
    )
    assert auth(world, max_tokens=10).admitted


@hypothesis.settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 4_000),  # input tokens
            st.integers(1, 2_000),  # max_tokens
            st.floats(0, 1),  # share of max_tokens really used
            st.booleans(),  # settle now, or leave it to expire
        ),
        min_size=1,
        max_size=40,
    )
)
def test_recorded_spend_never_exceeds_the_limit(engine, world, steps):
    engine.reset()
    UsageRecord.objects.all().delete()
    for table in (UsageDaily, UsageHour, UsageMinute):
        table.objects.all().delete()
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 4")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=20
    )
    enforcement.clear_caches()
    now = T0
    for input_tokens, max_tokens, used, settle_now in steps:
        now += 0.5
        decision = auth(
            world,
            model="claude-opus-4-5",
            input_tokens=input_tokens,
            max_tokens=max_tokens,
            now=now,
        )
        if decision.admitted and settle_now:
            enforcement.settle(
                decision.reservation_id,
                {
                    "input_tokens": input_tokens // 2,
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": input_tokens - input_tokens // 2
                    },
                    "output_tokens": int(max_tokens * used),
                },
                now=now,
            )
    recorded = stored().aggregate(total=Sum("cost_cents"))["total"] or 0
    assert recorded <= 20


def _in_threads(count: int, work) -> list:
    results, barrier = [], threading.Barrier(count)

    def worker():
        barrier.wait()
        results.append(work())

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_threads_against_a_small_bucket_admit_exactly_its_capacity(engine):
    plan = limiter.CheckPlan(
        (limiter.PlannedBucket("org:sonnet-4:requests_per_minute", 7, limiter.REQUESTS),),
        (limiter.PlannedSpend("org", ()),),
    )
    engine.reconcile("org-x", "2026-11", {"org": 0}, [])

    def work():
        request = limiter.CheckRequest(
            org="org-x",
            plan=plan,
            now=T0,
            month="2026-11",
            previous_month="2026-10",
            reservation_id=f"res_{threading.get_ident()}_{id(object())}",
            expires_at=T0 + 600,
            input_tokens=0,
            output_tokens=1,
            cost=0,
        )
        return engine.check(request).admitted

    assert _in_threads(50, work).count(True) == 7


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads writing to one database need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_through_the_engine(transactional_db, catalog, engine, world):
    services.workspace_rate_limit_set(
        actor=world["actor"],
        workspace=world["workspace"],
        model_group=sonnet(),
        limiter=RPM,
        value=7,
    )

    def work():
        try:
            return auth(world).admitted
        finally:
            connections.close_all()

    assert _in_threads(50, work).count(True) == 7


def test_redis_down_refuses_with_529_or_admits_when_fail_open(world, settings):
    settings.LIMITER_CACHE_SECONDS = 0
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    try:
        decision = auth(world)
        assert decision.status == 529 and decision.body["error"]["type"] == "overloaded_error"
        settings.LIMITER_FAIL_OPEN = True
        admitted = auth(world)
        assert admitted.admitted
        enforcement.settle(
            admitted.reservation_id, {"input_tokens": 10, "output_tokens": 10}, now=T0
        )
        assert UsageRecord.objects.count() == 1
    finally:
        enforcement.use_backend(None)


def test_spend_notification_when_threshold_crossed(
    engine, world, django_capture_on_commit_callbacks
):
    services.spend_notification_add(
        actor=world["actor"],
        organization=world["org"],
        workspace=world["workspace"],
        amount_cents=1,
    )
    decision = auth(world, now=datetime.now(UTC).timestamp())
    with django_capture_on_commit_callbacks(execute=True):
        enforcement.settle(decision.reservation_id, {"input_tokens": 10, "output_tokens": 1_000})
        stored()
    assert len(mail.outbox) == 1
    another = auth(world, now=datetime.now(UTC).timestamp())
    with django_capture_on_commit_callbacks(execute=True):
        enforcement.settle(another.reservation_id, {"input_tokens": 10, "output_tokens": 1_000})
        stored()
    assert len(mail.outbox) == 1  # once per threshold per month


def test_bucket_arithmetic_on_the_clock(engine, world):
    """Without an explicit time the engine reads the clock; travel it to the boundaries."""
    start = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(50):
            assert enforcement.authorize(world["secret"], "claude-sonnet-4-5", 10, 10).admitted
        assert not enforcement.authorize(world["secret"], "claude-sonnet-4-5", 10, 10).admitted
        clock.shift(1.19)  # a request refills every 1.2 s at 50 per minute
        assert not enforcement.authorize(world["secret"], "claude-sonnet-4-5", 10, 10).admitted
        clock.shift(0.02)
        assert enforcement.authorize(world["secret"], "claude-sonnet-4-5", 10, 10).admitted
        clock.shift(86_400)  # a day later: full, and no fuller
        decision = enforcement.authorize(world["secret"], "claude-sonnet-4-5", 10, 10)
        assert decision.headers["anthropic-ratelimit-requests-remaining"] == "49"


def test_every_refusal_names_its_limit_and_the_headers_agree(engine, world):
    services.workspace_rate_limit_set(
        actor=world["actor"],
        workspace=world["workspace"],
        model_group=sonnet(),
        limiter=ITPM,
        value=1_000,
    )
    assert auth(world, input_tokens=900).admitted
    refused = auth(world, input_tokens=300)
    details = refused.body["error"]["details"]
    assert details == {
        "scope": "workspace",
        "limiter": ITPM,
        "model_group": "sonnet-4",
        "limit": 1_000,
        "used": 900,
        "requested": 300,
        "remaining": 100,
        "unit": "input_tokens",
        "reset": "2026-11-10T12:00:54Z",  # 900 tokens at 1,000 a minute: 54 s to full
        "retry_after": 12,  # 200 more tokens: 12 s
    }
    headers = refused.headers
    assert headers["retry-after"] == str(details["retry_after"])
    assert headers["anthropic-ratelimit-input-tokens-limit"] == str(details["limit"])
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == str(details["remaining"])
    assert headers["anthropic-ratelimit-input-tokens-reset"] == details["reset"]
    assert headers["anthropic-ratelimit-tokens-limit"] == str(details["limit"])


def test_a_spend_refusal_names_its_limit(engine, world):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.workspace_spend_limit_set(
        actor=world["actor"], workspace=world["workspace"], amount_cents=5
    )
    assert auth(world, model="claude-opus-4-5", input_tokens=2_000, max_tokens=1_000).admitted
    refused = auth(world, model="claude-opus-4-5", input_tokens=2_000, max_tokens=1_000)
    assert refused.body["error"]["details"] == {
        "scope": "workspace",
        "limiter": "workspace_spend_limit",
        "limit": "5",
        "used": "4.5",
        "requested": "4.5",
        "unit": "cents",
        "reset": "2026-12-01T00:00:00Z",
    }


def test_a_settle_above_its_reservation_is_counted_and_said(engine, world):
    """The record is the truth: counted at once; requests are refused until the month
    resets; the settle answer and the audit log say so."""
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=10
    )
    decision = auth(world, input_tokens=1_000, max_tokens=10)  # 0.615 cents at worst
    settlement = enforcement.settle(
        decision.reservation_id, {"input_tokens": 20_000, "output_tokens": 10_000}, now=T0
    )
    assert settlement.cost_cents == Decimal("21")  # 20k x $3/M + 10k x $15/M
    overage = settlement.to_json()["overage"]
    assert overage == {
        "reserved": "0.615",
        "over_reservation": "20.385",
        "over_limit": "11",  # it took spend from 0.615 (its hold) to 21, 11 above the limit
        "unit": "cents",
        "limits_passed": [
            {
                "scope": "organization",
                "limiter": "organization_spend_limit",
                "limit": "10",
                "used": "21",
                "unit": "cents",
            }
        ],
        "resets_at": "2026-12-01T00:00:00Z",
    }
    assert stored().get().cost_cents == Decimal("21")
    refused = auth(world, input_tokens=1, max_tokens=1, now=T0 + 1)
    assert refused.status == 400 and refused.limiter == "organization_spend_limit"
    event = AuditEvent.objects.get(action="spend_limit.passed")
    assert event.target_id == world["workspace"].public_id
    assert event.after["request_id"] == decision.reservation_id
    assert event.after["over_reservation"] == "20.385"
    within = auth(world, model="claude-haiku-4-5", input_tokens=1, max_tokens=1, now=T0 + 2)
    assert not within.admitted  # every model: spend is the organization's


def _ten_cent_limit(world):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=10
    )


def test_a_late_settle_is_an_overage_only_by_what_it_takes_above_a_limit(engine, world, settings):
    """An expired reservation holds nothing, so its settle counts its whole cost; that is no
    overage while spend stays within the limits, and above them only the part beyond."""
    _ten_cent_limit(world)
    first = auth(world, input_tokens=1_000, max_tokens=100)
    second = auth(world, input_tokens=1_000, max_tokens=100)
    late = T0 + settings.RESERVATION_SECONDS + 60
    assert auth(world, now=late).admitted  # releases the expired holds; holds 0.021 cents
    within = enforcement.settle(
        first.reservation_id, {"input_tokens": 1_000, "output_tokens": 100}, now=late
    )
    assert within.cost_cents == Decimal("0.45") and within.overage is None
    beyond = enforcement.settle(
        second.reservation_id, {"input_tokens": 1_000, "output_tokens": 10_000}, now=late
    )
    assert beyond.cost_cents == Decimal("15.3")
    # Spend went from 0.471 (0.021 held, 0.45 recorded) to 15.771: 5.771 above the limit.
    assert beyond.to_json()["overage"] == {
        "reserved": None,
        "over_reservation": None,
        "over_limit": "5.771",
        "unit": "cents",
        "limits_passed": [
            {
                "scope": "organization",
                "limiter": "organization_spend_limit",
                "limit": "10",
                "used": "15.771",
                "unit": "cents",
            }
        ],
        "resets_at": "2026-12-01T00:00:00Z",
    }
    assert AuditEvent.objects.get(action="spend_limit.passed").after["over_limit"] == "5.771"


def test_a_settle_of_a_reservation_the_store_lost_is_no_overage(engine, world):
    _ten_cent_limit(world)
    decision = auth(world, input_tokens=1_000, max_tokens=100)
    engine.reset()  # the store lost its data, the reservation with it
    settlement = enforcement.settle(
        decision.reservation_id, {"input_tokens": 1_000, "output_tokens": 100}, now=T0
    )
    assert settlement.cost_cents == Decimal("0.45") and settlement.overage is None
    assert stored().get().request_id == decision.reservation_id


class _FailingAfterTheStoreSettles:
    """The counter store, with the database failing right after the store settled (as when
    the COMMIT fails): the settle's transaction rolls back; the store's settle stays."""

    def __init__(self, backend, failures: int = 1) -> None:
        self._backend = backend
        self.failures = failures

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def settle(self, request):
        result = self._backend.settle(request)
        if self.failures:
            self.failures -= 1
            raise OperationalError("the commit failed (injected)")
        return result


def test_a_retry_after_the_commit_failed_answers_as_the_first_settle(engine, world, settings):
    """The store settled, then the database failed: nothing is stored, and the retry is the
    record's first settle, answered with the overage that settle caused, counted once."""
    if settings.USAGE_QUEUE:
        pytest.skip("a queued settle writes to the database only in the worker")
    _ten_cent_limit(world)
    decision = auth(world, input_tokens=1_000, max_tokens=10)  # holds 0.615 cents
    failing = _FailingAfterTheStoreSettles(engine)
    enforcement.use_backend(failing)  # type: ignore[arg-type]
    big = {"input_tokens": 20_000, "output_tokens": 10_000}  # 21 cents
    with pytest.raises(OperationalError):
        enforcement.settle(decision.reservation_id, big, now=T0)
    assert not UsageRecord.objects.exists()
    retry = enforcement.settle(decision.reservation_id, big, now=T0 + 1)
    assert not retry.already_settled and retry.cost_cents == Decimal("21")
    overage = retry.to_json()["overage"]
    assert (overage["reserved"], overage["over_reservation"], overage["over_limit"]) == (
        "0.615",
        "20.385",
        "11",
    )
    assert AuditEvent.objects.filter(action="spend_limit.passed").count() == 1
    assert UsageRecord.objects.get().cost_cents == Decimal("21")
    assert engine.spend(str(world["org"].pk), "2026-11")["org"] == 21 * limiter.MICRO
    again = enforcement.settle(decision.reservation_id, big, now=T0 + 2)
    assert again.already_settled and again.overage is None


def test_a_duplicate_while_the_store_cannot_be_reached_answers_already_settled(
    engine, world, settings
):
    """With USAGE_QUEUE the first settle's record may wait in the unreachable store's queue,
    so a settle the database does not know is stored and answered 529 (retry); its retry,
    and every later duplicate, answers already_settled with the recorded cost."""
    usage_body = {"input_tokens": 10, "output_tokens": 5}
    first = auth(world)
    other = auth(world)
    settled = enforcement.settle(first.reservation_id, usage_body, now=T0)
    working = engine
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    try:
        for decision in (first, other):  # a duplicate, then a first settle
            if settings.USAGE_QUEUE:
                with pytest.raises(enforcement.SettleUnconfirmed) as unconfirmed:
                    enforcement.settle(decision.reservation_id, usage_body, now=T0)
                assert unconfirmed.value.status == 529
                assert unconfirmed.value.settlement.cost_cents == settled.cost_cents
            else:
                enforcement.settle(decision.reservation_id, usage_body, now=T0)
            retry = enforcement.settle(decision.reservation_id, usage_body, now=T0)
            assert retry.already_settled and retry.cost_cents == settled.cost_cents
    finally:
        enforcement.use_backend(working)
    assert sorted(stored().values_list("request_id", flat=True)) == sorted(
        [first.reservation_id, other.reservation_id]
    )


def test_cache_reads_count_toward_input_tokens_only_where_the_group_says(engine, world):
    """Settling gives back the input tokens that do not count: cache reads for most models."""
    services.workspace_rate_limit_set(
        actor=world["actor"],
        workspace=world["workspace"],
        model_group=sonnet(),
        limiter=ITPM,
        value=10_000,
    )
    usage_body = {"input_tokens": 1_000, "cache_read_input_tokens": 9_000, "output_tokens": 1}
    decision = auth(world, input_tokens=10_000)
    enforcement.settle(decision.reservation_id, usage_body, now=T0)
    assert auth(world, input_tokens=9_000).admitted  # the 9,000 cache reads came back
    ModelGroup.objects.filter(slug="sonnet-4").update(cache_reads_count_as_input=True)
    enforcement.clear_caches()
    later = T0 + 120  # full again
    decision = auth(world, input_tokens=10_000, now=later)
    enforcement.settle(decision.reservation_id, usage_body, now=later)
    assert not auth(world, input_tokens=9_000, now=later).admitted


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads writing to one database need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_settles_all_answer_already_settled(
    transactional_db, catalog, engine, world
):
    decision = auth(world)
    results = _in_threads(
        10,
        lambda: _closing_connections(
            lambda: enforcement.settle(
                decision.reservation_id, {"input_tokens": 10, "output_tokens": 5}, now=T0
            )
        ),
    )
    assert sorted(r.already_settled for r in results) == [False] + [True] * 9
    assert {r.cost_cents for r in results} == {Decimal("0.0105")}
    assert stored().count() == 1


def _closing_connections(work):
    try:
        return work()
    finally:
        connections.close_all()


def test_the_asynchronous_twins_check_and_settle_the_same(engine, world):
    for _ in range(49):
        assert auth(world).admitted
    decision = async_to_sync(enforcement.aauthorize)(
        world["secret"], "claude-sonnet-4-5", 10, 10, now=T0
    )
    assert decision.admitted and decision.headers["anthropic-ratelimit-requests-remaining"] == "0"
    refused = async_to_sync(enforcement.aauthorize)(
        world["secret"], "claude-sonnet-4-5", 10, 10, now=T0
    )
    assert refused.status == 429 and refused.body["error"]["details"]["limiter"] == RPM
    settlement = async_to_sync(enforcement.asettle)(
        decision.reservation_id, {"input_tokens": 10, "output_tokens": 5}, now=T0
    )
    again = async_to_sync(enforcement.asettle)(
        decision.reservation_id, {"input_tokens": 10, "output_tokens": 5}, now=T0
    )
    assert not settlement.already_settled and again.already_settled
    assert again.cost_cents == settlement.cost_cents == Decimal("0.0105")
    assert stored().get().request_id == decision.reservation_id
    assert RefusalMinute.objects.get().count == 1


def test_the_asynchronous_twins_load_what_is_not_cached(engine, world):
    enforcement.clear_caches()
    decision = async_to_sync(enforcement.aauthorize)(
        world["secret"], "claude-sonnet-4-5", 10, 10, now=T0
    )
    assert decision.admitted
    enforcement.clear_caches()
    settlement = async_to_sync(enforcement.asettle)(
        decision.reservation_id, {"output_tokens": 5}, now=T0
    )
    assert settlement.cost_cents == Decimal("0.0075")


def test_a_late_settle_is_recorded_and_counted(engine, world, settings):
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=10
    )
    decision = auth(world, input_tokens=1_000, max_tokens=100)
    late = T0 + settings.RESERVATION_SECONDS + 60
    assert auth(world, now=late).admitted  # releases the expired hold
    settlement = enforcement.settle(
        decision.reservation_id, {"input_tokens": 1_000, "output_tokens": 100}, now=late
    )
    assert settlement.cost_cents == Decimal("0.45") and not settlement.already_settled
    assert stored().get(request_id=decision.reservation_id).cost_cents == Decimal("0.45")
    month = "2026-11"
    spend = engine.spend(str(world["org"].pk), month)
    assert spend["org"] >= 450_000  # counted, not only recorded


def test_counters_equal_the_database_after_an_outage(engine, world, settings):
    """Settles while the store cannot be reached go to the database alone; the next call
    that reaches it reconciles the counters."""
    settings.LIMITER_FAIL_OPEN = False
    decisions = [auth(world, input_tokens=1_000, max_tokens=100) for _ in range(3)]
    enforcement.settle(decisions[0].reservation_id, {"input_tokens": 1_000}, now=T0)
    working = engine
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    for decision in decisions[1:]:
        # With USAGE_QUEUE answered SettleUnconfirmed: stored, to be retried.
        with contextlib.suppress(enforcement.SettleUnconfirmed):
            enforcement.settle(decision.reservation_id, {"input_tokens": 500}, now=T0)
    enforcement.use_backend(working)
    assert auth(world, now=T0 + 1).admitted  # reconciles first
    stored()
    org = str(world["org"].pk)
    recorded = usage.to_micro(UsageRecord.objects.aggregate(total=Sum("cost_cents"))["total"])
    # What the authorize just made holds: 10 input tokens at $6/M (a 1-hour cache write at
    # worst) and 10 output at $15/M, in micro-cents.
    held = 10 * 600 + 10 * 1_500
    assert working.spend(org, "2026-11")["org"] == recorded + held


def test_the_limits_page_shows_spend_above_the_limit(personas, client, world):
    admin_client = client(personas.admin)
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=10
    )
    page = reverse("billing:organization_limits")
    assert b'data-testid="spend-over-limit"' not in admin_client.get(page).content
    usage.record(
        api_key=world["key"],
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens={"output_tokens": 10_000},  # 15 cents
    )
    content = admin_client.get(page).content.decode()
    assert 'data-testid="spend-over-limit"' in content and "$0.05 over the limit" in content


def test_the_engine_imports_at_the_top_of_its_modules():
    """No import inside a function: the modules' order is what the import contract says."""
    root = Path(__file__).resolve().parents[2] / "billing"
    modules = [
        *sorted((root / "enforcement").glob("*.py")),
        root / "limiter.py",
        root / "gateway.py",
    ]
    late = [
        f"{path.name}:{node.lineno}"
        for path in modules
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert late == []


def test_a_cluster_that_cannot_be_reached_is_overloaded(world, settings):
    settings.LIMITER_CACHE_SECONDS = 0
    enforcement.use_backend(
        limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2, cluster=True)
    )
    try:
        decision = auth(world)
        assert decision.status == 529 and decision.body["error"]["type"] == "overloaded_error"
    finally:
        enforcement.use_backend(None)


@pytest.mark.parametrize("fail_open", [False, True], ids=["529", "fail-open"])
@pytest.mark.parametrize("twin", ["sync", "async"])
@pytest.mark.parametrize("where", ["single", "cluster"])
def test_a_stalled_store_is_answered_at_once_not_waited_for(
    request, world, settings, redis_servers_started, where, twin, fail_open
):
    """A store that stops answering (SIGSTOP) is LimiterUnavailable after one timeout: 529,
    or admitted unchecked with LIMITER_FAIL_OPEN. Retried the way redis-py retries by
    default, a call to a stalled cluster node waits seconds, and answers once it resumes."""
    settings.LIMITER_CACHE_SECONDS = 60
    settings.LIMITER_FAIL_OPEN = fail_open
    org = str(world["org"].pk)
    if where == "cluster":
        servers = request.getfixturevalue("redis_cluster")
        backend = limiter.RedisBackend(servers.url, cluster=True, timeout=0.2)
        port = int(backend.client.get_node_from_key(limiter.keys(org, "", "")[0]).port)
        node = next(n for n in servers.nodes if n.port == port)
    else:
        node = redis_servers_started()
        backend = limiter.RedisBackend(node.url, timeout=0.2)
    backend.reset()
    enforcement.use_backend(backend)
    answers = []

    def call():
        if twin == "async":
            answers.append(
                async_to_sync(enforcement.aauthorize)(world["secret"], "claude-sonnet-4-5", 1, 1)
            )
        else:
            answers.append(enforcement.authorize(world["secret"], "claude-sonnet-4-5", 1, 1))

    try:
        call()  # connections made, keys and limits cached
        assert answers.pop().admitted
        node.stall()
        try:
            caller = threading.Thread(target=call)
            caller.start()
            caller.join(3)  # fifteen timeouts; the call must not still be waiting
        finally:
            node.resume()
        caller.join()
        (answer,) = answers
        if fail_open:
            assert answer.admitted
        else:
            assert answer.status == 529 and answer.body["error"]["type"] == "overloaded_error"
        enforcement.send_missed_settles()
    finally:
        backend.reset()
        enforcement.use_backend(None)


class _AnswerLostOnce:
    """The counter store, with one check's answer lost on its way: the check is kept, to
    reach the store later (as a command waiting in a stalled Redis's socket does)."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.delayed: list = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def check(self, request):
        if not self.delayed:
            self.delayed.append(request)
            raise limiter.LimiterUnavailable("the answer was lost (injected)")
        return self._backend.check(request)


def test_a_check_that_reaches_the_store_after_it_was_cancelled_changes_nothing(engine, world):
    """A check answered 529 may still run in the store later, and hold a reservation nobody
    will settle; the process cancels it once the store answers. Whichever arrives first,
    no hold is left."""
    org = str(world["org"].pk)
    losing = _AnswerLostOnce(engine)
    enforcement.use_backend(losing)  # type: ignore[arg-type]
    assert auth(world).status == 529
    assert auth(world).admitted  # sends the cancel first, then checks
    assert enforcement.missed_settles_pending() == 0
    held = engine.spend(org, "2026-11")
    (late_check,) = losing.delayed
    with pytest.raises(limiter.LimiterUnavailable):
        engine.check(late_check)
    assert engine.spend(org, "2026-11") == held  # one hold: the admitted request's
    enforcement.use_backend(engine)


def _gateway_post(secret: str, name: str, body: dict):
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
        reverse(f"billing:gateway_{name}"), json.dumps(body), content_type="application/json"
    )


def test_a_token_of_no_organization_serves_every_organization(engine, world, personas):
    """The operator's own gateway, in front of every organization's traffic: staff give its
    token no organization. Reservation ids are still checked to belong together."""
    _token, secret = services.gateway_token_create(name="operator edge")
    other_workspace = WorkspaceFactory(organization=personas.other_org)
    _key, other_secret = workspace_services.api_key_create(
        actor=Actor.system("t"), workspace=other_workspace, name="k"
    )
    usage_body = {"input_tokens": 10, "output_tokens": 5}
    for api_key in (world["secret"], other_secret):
        decision = _gateway_post(
            secret,
            "authorize",
            {
                "api_key": api_key,
                "model": "claude-sonnet-4-5",
                "input_tokens": 10,
                "max_tokens": 10,
            },
        ).json()
        assert decision["admitted"] is True
        settled = _gateway_post(
            secret, "settle", {"reservation_id": decision["reservation_id"], "usage": usage_body}
        )
        assert settled.status_code == 200
    assert {r.organization_id for r in stored().all()} == {world["org"].pk, personas.other_org.pk}


def test_the_settle_endpoint_answers_529_until_it_can_tell_a_repeat(world, settings):
    """With USAGE_QUEUE and Redis unreachable: stored, 529 (retry); the retry is 200."""
    _token, secret = services.gateway_token_create(name="edge", organization=world["org"])
    settings.USAGE_QUEUE = True
    settings.LIMITER_FAIL_OPEN = True  # admitted unchecked, so that there is a settle
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.1))
    try:
        decision = _gateway_post(
            secret,
            "authorize",
            {
                "api_key": world["secret"],
                "model": "claude-sonnet-4-5",
                "input_tokens": 10,
                "max_tokens": 10,
            },
        ).json()
        body = {"reservation_id": decision["reservation_id"], "usage": {"output_tokens": 5}}
        first = _gateway_post(secret, "settle", body)
        assert first.status_code == 529
        assert first.json()["error"]["type"] == "overloaded_error"
        retry = _gateway_post(secret, "settle", body)
        assert retry.status_code == 200 and retry.json()["already_settled"] is True
        assert retry.json()["cost"]["amount"] == "0.0075"
        assert UsageRecord.objects.get().request_id == decision["reservation_id"]
    finally:
        enforcement.use_backend(None)
