"""Property tests: random sequences of authorizes and settles with faults between and inside
them, on every backend, against a gateway that retries every settle not answered 200.

The faults: the store unreachable for a settle; a check's or a settle's answer lost after it
ran in the store; the database refusing a record, or failing after the store settled (at
COMMIT); the store losing its data (without USAGE_QUEUE: a queue in a Redis that persists
nothing is refused by a system check); the worker dying after it claimed a batch, before or
after storing it, or failing to store it; duplicate, late and over-reported settles.

What must hold, after every step or at the end:

- every answer 200 to a repeat of a settle answered 200 before says `already_settled`, with
  the same cost; a first settle never does (unless an earlier attempt raised);
- every spend refusal names a counter no higher than what was held and settled, and the
  request did not fit;
- every admitted request is stored once, at the cost its answers gave;
- recorded spend is within the limit, but for over-reported settles and what was held when
  the store lost its data;
- the counters, as the engine left them (no reconcile run here), equal the database, and no
  reservation is left holding anything.
"""

import contextlib
from decimal import Decimal

import hypothesis
from django.db import DatabaseError, OperationalError, connection
from django.db.models import Sum
from hypothesis import strategies as st

from billing import enforcement, limiter, services, usage
from billing.enforcement import policy, spend
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
INDEX = st.integers(0, 50)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("authorize"), st.integers(0, 3_000), st.integers(1, 1_500)),
        st.tuples(st.just("settle"), INDEX, st.floats(0, 1), st.booleans()),
        st.tuples(st.just("duplicate"), INDEX),
        st.tuples(st.just("store_unreachable"), INDEX),
        st.tuples(st.just("check_answer_lost"), st.integers(0, 3_000), st.integers(1, 1_500)),
        st.tuples(st.just("settle_answer_lost"), INDEX),
        st.tuples(st.just("database_refuses"), INDEX),
        st.tuples(st.just("commit_fails"), INDEX),
        st.tuples(st.just("store_loses_data")),
        st.tuples(st.just("time_passes"), st.sampled_from([0.5, 30, 700])),
        st.tuples(st.just("worker")),
        st.tuples(st.just("worker_dies"), st.booleans()),
        st.tuples(st.just("worker_cannot_store")),
    ),
    min_size=1,
    max_size=50,
)


def _refusing_records(execute, sql, params, many, context):
    if sql.startswith("INSERT") and UsageRecord._meta.db_table in sql:
        raise OperationalError("the database refuses (injected)")
    return execute(sql, params, many, context)


class FaultyStore:
    """The engine's backend, with faults armed for its next call: an answer lost after the
    call ran in the store, or the database failing right after the store settled (as a
    failed COMMIT does: the settle's transaction rolls back)."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.lose_answer: str | None = None  # "check" or "settle"
        self.fail_after_settle = False

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def check(self, request):
        result = self.backend.check(request)
        if self.lose_answer == "check":
            self.lose_answer = None
            raise limiter.LimiterUnavailable("the answer was lost (injected)")
        return result

    def settle(self, request):
        result = self.backend.settle(request)
        if self.lose_answer == "settle":
            self.lose_answer = None
            raise limiter.LimiterUnavailable("the answer was lost (injected)")
        if self.fail_after_settle:
            self.fail_after_settle = False
            raise OperationalError("the commit failed (injected)")
        return result


def _micro(cents: str | Decimal) -> int:
    return usage.to_micro(Decimal(cents))


@hypothesis.settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(steps=steps)
# A settle repeated after another settle missed the store: the store catches up as of the
# caller's time, not the wall clock's, or it forgets answers the caller still relies on.
@hypothesis.example(
    steps=[
        ("authorize", 0, 1),
        ("authorize", 0, 1),
        ("settle", 1, 0.0, False),
        ("store_unreachable", 0),
        ("settle", 1, 0.0, False),
    ]
)
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
    store = FaultyStore(engine)
    enforcement.use_backend(store)  # type: ignore[arg-type]
    unreachable = limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.05)
    queued = settings.USAGE_QUEUE and engine.queues_usage
    org = str(world["org"].pk)
    model = policy.model_by_name(MODEL)
    assert model is not None
    now = T0
    admitted: list[tuple[str, int, int]] = []  # (id, input tokens, max_tokens)
    settled: dict[str, Decimal] = {}  # answered 200: the cost
    attempted: set[str] = set()  # settled or tried (an attempt that raised may have stored)
    worst: dict[str, int] = {}  # what each admitted request holds at most, micro-cents
    released: dict[str, int] = {}  # settled and caught up with the store: its cost
    waiting: list[str] = []  # settled, while the process has missed settles to send
    lost_checks: list[int] = []  # checks run in the store, answered 529, not cancelled yet
    lost_worst = 0  # what was held when the store lost its data
    over_reported = False
    bodies: dict[int, dict] = {}  # a gateway retries a settle with the same usage

    def caught_up() -> None:
        """Holds are released once settled and the process sent the store what it missed."""
        if enforcement.missed_settles_pending() == 0:
            for rid in waiting:
                released[rid] = usage.to_micro(settled[rid])
            waiting.clear()
            lost_checks.clear()

    def usage_for(index: int, share: float = 0.5, more: bool = False) -> dict:
        if index not in bodies:
            _id, input_tokens, max_tokens = admitted[index]
            output = int(max_tokens * share) + (max_tokens if more else 0)
            bodies[index] = {
                "input_tokens": input_tokens // 2,
                "cache_creation": {"ephemeral_1h_input_tokens": input_tokens - input_tokens // 2},
                "output_tokens": output,
            }
        return bodies[index]

    def held(index: int) -> int:
        """The most the counters can hold for an admitted request: its cost once released;
        before, its worst case, or what an attempt may have counted (reported above it)."""
        reservation_id = admitted[index][0]
        if reservation_id in released:
            return released[reservation_id]
        if index not in bodies:
            return worst[reservation_id]
        tokens = enforcement.usage_from_messages_api(bodies[index]).tokens
        cost = usage.to_micro(usage.cost_cents(model.model, tokens))
        return max(worst[reservation_id], cost)

    def settle(index: int) -> None:
        """One settle as a gateway sends it: answered 200, or raising (the gateway retries
        later). A store that cannot be reached, with USAGE_QUEUE, answers 529 for a settle
        the database did not know: retried at once, answered already_settled."""
        reservation_id = admitted[index][0]
        before = reservation_id in attempted
        attempted.add(reservation_id)
        try:
            settlement = enforcement.settle(reservation_id, usage_for(index), now=now)
        except enforcement.SettleUnconfirmed:
            before = True  # that attempt stored the record
            settlement = enforcement.settle(reservation_id, usage_for(index), now=now)
            assert settlement.already_settled
        if reservation_id in settled:
            assert settlement.already_settled
            assert settlement.cost_cents == settled[reservation_id]
        else:
            assert before or not settlement.already_settled
            settled[reservation_id] = settlement.cost_cents
            waiting.append(reservation_id)
        caught_up()

    def authorize(input_tokens: int, max_tokens: int) -> None:
        decision = auth(
            world, model=MODEL, input_tokens=input_tokens, max_tokens=max_tokens, now=now
        )
        caught_up()
        if decision.admitted:
            admitted.append((decision.reservation_id, input_tokens, max_tokens))
            worst[decision.reservation_id] = model.worst_case_micro(input_tokens, max_tokens)
            return
        if decision.status == 529:
            return
        assert decision.status in (400, 429)
        details = decision.body["error"]["details"]
        if details["unit"] != "cents":
            return
        could_hold = sum(held(index) for index in range(len(admitted))) + sum(lost_checks)
        assert _micro(details["used"]) <= could_hold
        assert _micro(details["used"]) + _micro(details["requested"]) > _micro(details["limit"])

    for step in steps:
        hypothesis.note(f"{step} with {len(admitted)} admitted, {len(settled)} settled")
        kind = step[0]
        if kind == "authorize":
            authorize(step[1], step[2])
            continue
        if kind == "check_answer_lost":
            store.lose_answer = "check"
            decision = auth(world, model=MODEL, input_tokens=step[1], max_tokens=step[2], now=now)
            if store.lose_answer is None:  # it ran in the store, and was answered 529
                assert decision.status == 529
                lost_checks.append(model.worst_case_micro(step[1], step[2]))
            store.lose_answer = None
            continue
        if kind in ("time_passes", "worker", "worker_dies", "worker_cannot_store"):
            if kind == "time_passes":
                now += step[1]
            elif queued and kind == "worker":
                enforcement.store_queued_usage()
            elif queued and kind == "worker_dies":
                # Killed after claiming a batch, before or after storing it: never acknowledged.
                for batch in engine.claim_usage([org], 1_000):
                    if step[1]:
                        usage.store_queued(batch.records)
            elif queued and kind == "worker_cannot_store":
                with connection.execute_wrapper(_refusing_records):
                    enforcement.store_queued_usage()
            continue
        if kind == "store_loses_data":
            if queued:
                continue  # refused: a queue needs a Redis that persists (billing.E001)
            lost_worst += sum(worst[rid] for rid, _i, _m in admitted if rid not in settled)
            engine.reset()
            continue
        if not admitted:
            continue
        index = step[1] % len(admitted)
        reservation_id = admitted[index][0]
        if kind == "settle":
            if reservation_id not in attempted:
                usage_for(index, step[2], step[3])
                over_reported |= step[3]
            settle(index)
        elif kind == "duplicate":
            if reservation_id in settled:
                settle(index)
        elif kind == "store_unreachable":
            enforcement.use_backend(unreachable)
            try:
                settle(index)
            finally:
                enforcement.use_backend(store)  # type: ignore[arg-type]
        elif kind == "settle_answer_lost":
            store.lose_answer = "settle"
            with contextlib.suppress(limiter.LimiterUnavailable):
                settle(index)
            store.lose_answer = None
        elif kind == "database_refuses":
            with (
                connection.execute_wrapper(_refusing_records),
                contextlib.suppress(DatabaseError),
            ):
                settle(index)
        elif kind == "commit_fails":
            store.fail_after_settle = not queued  # a queued settle writes nothing to the database
            with contextlib.suppress(DatabaseError):
                settle(index)
            store.fail_after_settle = False

    # The gateway settles what is left (the settles that failed too), and keeps serving: its
    # next request first sends the store what it missed and reconciles what diverged.
    for index in range(len(admitted)):
        if admitted[index][0] not in settled:
            settle(index)
    assert enforcement.send_missed_settles(now=now)
    spend.reconcile_diverged(now=now)
    while queued and enforcement.store_queued_usage():
        pass
    records = UsageRecord.objects.all()
    stored = list(records.values_list("request_id", flat=True))
    assert sorted(stored) == sorted(settled) == sorted(a[0] for a in admitted)
    assert dict(records.values_list("request_id", "cost_cents")) == settled
    recorded = records.aggregate(total=Sum("cost_cents"))["total"] or Decimal(0)
    if not over_reported:
        assert usage.to_micro(recorded) <= LIMIT_CENTS * limiter.MICRO + lost_worst
    counters = engine.spend(org, "2026-11")
    expected = {
        "org": usage.to_micro(recorded),
        f"ws:{world['workspace'].pk}": usage.to_micro(recorded),
    }
    # Missing counters (the store lost them, and no check came since) are rebuilt by the next.
    assert counters in ({}, expected)
    assert engine.snapshot(org).hold_ids == []
    enforcement.use_backend(engine)
