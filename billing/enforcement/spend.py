"""Spend counters kept equal to the database, and the notifications spend makes due.

The counter store is fast but not the truth: usage records are. The counters can drift from
them when the store lost its data, when a settle could not reach it (the record was written
to the database alone), or when a process stopped between the two. `reconcile` sets an
organization's counters of the month to what the database recorded plus what is in flight
(reservations held, records queued and not stored yet). It runs when a check finds counters
missing, after a fallback (`mark_diverged`), and periodically in `usage_worker`.

While it reads, it closes the organization's write gate (`usage.close_write_gate`): every
writer of usage records holds the gate from before it writes until its settle has updated
the counters and committed, so no record is ever half-way between the two and the result
is exact.
"""

import logging
import threading
import time
from datetime import UTC, datetime

from django.db import transaction

from accounts.models import Organization
from billing import services, usage
from billing.enforcement import policy
from billing.limiter import LimiterUnavailable
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

_diverged: set[str] = set()
_diverged_lock = threading.Lock()


def mark_diverged(organization_id: str) -> None:
    """The counters of this organization may differ from the database: reconcile them as
    soon as the store answers again."""
    with _diverged_lock:
        _diverged.add(organization_id)


def diverged() -> bool:
    return bool(_diverged)


def reconcile(
    organization_id: str, *, now: float | None = None, names: tuple[str, ...] = ()
) -> dict[str, int] | None:
    """Set the organization's spend counters of the month from the database (`names` too,
    counters with nothing recorded yet); the counters after it, or None when it had to wait
    (a long queue of records the worker has not stored yet). Raises LimiterUnavailable when
    the store cannot be reached."""
    now = time.time() if now is None else now
    months = policy.months(now)
    start = datetime.fromtimestamp(now, UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    counters = policy.backend()
    with transaction.atomic():
        usage.close_write_gate(organization_id)
        snapshot = counters.snapshot(organization_id)
        spend = usage.month_spend_by_workspace(organization_id, start)
        stored = usage.stored_request_ids(snapshot.hold_ids + snapshot.queued_ids)
        recorded = {f"ws:{workspace}": usage.to_micro(cents) for workspace, cents in spend.items()}
        recorded["org"] = usage.to_micro(sum(spend.values(), start=usage.ZERO))
        for name in names:
            recorded.setdefault(name, 0)
        result = counters.reconcile(organization_id, months.this, recorded, stored)
    if result is None:
        logger.warning(
            "Spend counters of organization %s not reconciled: too many queued records.",
            organization_id,
        )
    return result


def reconcile_diverged(*, now: float | None = None) -> None:
    """Reconcile the organizations this process saw diverge; those the store still cannot
    be reached for stay marked."""
    with _diverged_lock:
        pending = list(_diverged)
        _diverged.clear()
    for organization_id in pending:
        try:
            reconcile(organization_id, now=now)
        except LimiterUnavailable:
            mark_diverged(organization_id)


def reconcile_all(*, now: float | None = None) -> int:
    """Reconcile every organization with usage this month or marked diverged here. Returns
    how many were reconciled."""
    now = time.time() if now is None else now
    start = datetime.fromtimestamp(now, UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    organizations = {str(pk) for pk in usage.organizations_with_usage_since(start)}
    with _diverged_lock:
        organizations |= _diverged
        _diverged.clear()
    done = 0
    for organization_id in sorted(organizations):
        try:
            if reconcile(organization_id, now=now) is not None:
                done += 1
        except LimiterUnavailable:
            mark_diverged(organization_id)
            raise
        except Exception:
            # Tried again next time; the other organizations go on.
            logger.exception("The spend counters of %s could not be reconciled.", organization_id)
            mark_diverged(organization_id)
    return done


def notify_if_due(organization_id: str, workspace_id: int, spend: dict[str, int]) -> None:
    """Run the notification check only when a threshold may have been crossed: the spend
    totals the counters answered say so, or are unknown (empty)."""
    limits = policy.policy(workspace_id)
    workspace_spend = spend.get(f"ws:{workspace_id}")
    workspace_due = bool(limits.workspace_thresholds) and (
        workspace_spend is None or workspace_spend >= limits.workspace_thresholds[0]
    )
    organization_spend = spend.get("org")
    organization_due = bool(limits.organization_thresholds) and (
        organization_spend is None or organization_spend >= limits.organization_thresholds[0]
    )
    if not (workspace_due or organization_due):
        return
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return
    if workspace_due:
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        services.spend_notifications_check(organization=organization, workspace=workspace)
    if organization_due:
        services.spend_notifications_check(organization=organization, workspace=None)
