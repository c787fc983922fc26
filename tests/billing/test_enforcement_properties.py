"""Property tests: random sequences of authorizes and settles, with faults between them (the
store unreachable for a settle, the store losing its data, the database refusing a record,
duplicate and late settles, settles reporting more than they reserved), on every backend.
What must hold at the end is what the fault suite checks after each fault."""

import contextlib
from decimal import Decimal

import hypothesis
from django.db import OperationalError, connection
from django.db.models import Sum
from hypothesis import strategies as st

from billing import enforcement, limiter, services, usage
from billing.models import (
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageRecord,
    UsageTier,
    UsageWorkspaceDay,
)
from tests.billing.conftest import T0, auth

LIMIT_CENTS = 25
MODEL = "claude-opus-4-5"  # 1-hour cache writes at $10/M, output at $25/M

steps = st.lists(
    st.one_of(
        st.tuples(st.just("authorize"), st.integers(0, 3_000), st.integers(1, 1_500)),
        st.tuples(st.just("settle"), st.integers(0, 50), st.floats(0, 1), st.booleans()),
        st.tuples(st.just("duplicate"), st.integers(0, 50)),
        st.tuples(st.just("store_unreachable"), st.integers(0, 50)),
        st.tuples(st.just("database_refuses"), st.integers(0, 50)),
        st.tuples(st.just("store_loses_data")),
        st.tuples(st.just("time_passes"), st.sampled_from([0.5, 30, 700])),
        st.tuples(st.just("worker")),
    ),
    min_size=1,
    max_size=40,
)


def _refusing_records(execute, sql, params, many, context):
    if sql.startswith("INSERT") and UsageRecord._meta.db_table in sql:
        raise OperationalError("the database refuses (injected)")
    return execute(sql, params, many, context)


@hypothesis.settings(
    max_examples=15,
    deadline=None,
    # A failure is shown as found: shrinking sequences against Redis takes minutes.
    phases=(hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate),
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(steps=steps)
def test_settles_record_once_and_spend_stays_within_the_limit(engine, world, settings, steps):
    engine.reset()
    for table in (UsageRecord, UsageDaily, UsageHour, UsageMinute, UsageWorkspaceDay):
        table.objects.all().delete()
    services.organization_limits_change(
        actor=world["actor"], organization=world["org"], tier=UsageTier.objects.get(name="Tier 4")
    )
    services.organization_spend_limit_set(
        actor=world["actor"], organization=world["org"], amount_cents=LIMIT_CENTS
    )
    enforcement.clear_caches()
    unreachable = limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.05)
    now = T0
    admitted: list[tuple[str, int, int]] = []  # (id, input tokens, max_tokens)
    settled: dict[str, Decimal] = {}
    lost_worst = Decimal(0)  # worst cases held when the store lost its data
    over_reported = False

    bodies: dict[int, dict] = {}  # a gateway retries a settle with the same usage

    def usage_for(index: int, share: float, more: bool) -> dict:
        if index in bodies:
            return bodies[index]
        _id, input_tokens, max_tokens = admitted[index]
        output = int(max_tokens * share) + (max_tokens if more else 0)
        bodies[index] = {
            "input_tokens": input_tokens // 2,
            "cache_creation": {"ephemeral_1h_input_tokens": input_tokens - input_tokens // 2},
            "output_tokens": output,
        }
        return bodies[index]

    def settle(index: int, body: dict, *, store_unreachable: bool = False) -> None:
        reservation_id = admitted[index][0]
        # Known limit: while the store cannot be reached, a settle whose first one still
        # waits in its queue cannot be told from a first one (stored once all the same).
        queued_unseen = (
            store_unreachable
            and settings.USAGE_QUEUE
            and not UsageRecord.objects.filter(request_id=reservation_id).exists()
        )
        settlement = enforcement.settle(reservation_id, body, now=now)
        if reservation_id in settled:
            assert settlement.already_settled or queued_unseen
            assert settlement.cost_cents == settled[reservation_id]
        else:
            assert not settlement.already_settled
            settled[reservation_id] = settlement.cost_cents

    for step in steps:
        hypothesis.note(f"{step} with {len(admitted)} admitted, {len(settled)} settled")
        kind = step[0]
        if kind == "authorize":
            decision = auth(world, model=MODEL, input_tokens=step[1], max_tokens=step[2], now=now)
            if decision.admitted:
                admitted.append((decision.reservation_id, step[1], step[2]))
            else:
                assert decision.status in (400, 429)
        elif not admitted and kind in (
            "settle",
            "duplicate",
            "store_unreachable",
            "database_refuses",
        ):
            continue
        elif kind == "settle":
            index = step[1] % len(admitted)
            over_reported |= step[3] and admitted[index][0] not in settled
            settle(index, usage_for(index, step[2], step[3]))
        elif kind == "duplicate":
            index = step[1] % len(admitted)
            if admitted[index][0] in settled:
                settle(index, usage_for(index, 0.5, False))
        elif kind == "store_unreachable":
            index = step[1] % len(admitted)
            enforcement.use_backend(unreachable)
            try:
                settle(index, usage_for(index, 0.5, False), store_unreachable=True)
            finally:
                enforcement.use_backend(engine)
        elif kind == "database_refuses":
            index = step[1] % len(admitted)
            with (
                connection.execute_wrapper(_refusing_records),
                contextlib.suppress(OperationalError),
            ):
                settle(index, usage_for(index, 0.5, False))
        elif kind == "store_loses_data":
            if settings.USAGE_QUEUE:
                # Queued records would go with the data: that combination is refused by a
                # system check (a queue needs a Redis that persists); here the worker
                # stores them first, as it does every few seconds.
                enforcement.store_queued_usage()
            for reservation_id, input_tokens, max_tokens in admitted:
                if reservation_id not in settled:
                    lost_worst += enforcement.policy.model_by_name(MODEL).worst_case_micro(
                        input_tokens, max_tokens
                    ) / Decimal(limiter.MICRO)
            engine.reset()
        elif kind == "time_passes":
            now += step[1]
        elif kind == "worker":
            enforcement.store_queued_usage()
    # The gateway settles what is left (the settles that failed too).
    for index in range(len(admitted)):
        if admitted[index][0] not in settled:
            settle(index, usage_for(index, 0.5, False))
    enforcement.store_queued_usage()
    stored = list(UsageRecord.objects.values_list("request_id", flat=True))
    assert sorted(stored) == sorted(settled) == sorted(a[0] for a in admitted)
    recorded = UsageRecord.objects.aggregate(total=Sum("cost_cents"))["total"] or Decimal(0)
    assert {r.request_id: r.cost_cents for r in UsageRecord.objects.all()} == settled
    if not over_reported:
        assert recorded <= LIMIT_CENTS + lost_worst
    org = str(world["org"].pk)
    counters = enforcement.reconcile(org, now=now)
    assert counters is not None and counters["org"] == usage.to_micro(recorded)
