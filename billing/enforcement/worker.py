"""What `usage_worker` runs for the engine: storing the usage records settles queued in
Redis, and reconciling spend counters with the database."""

import logging

from accounts.models import Organization
from billing import usage
from billing.enforcement import policy, spend

logger = logging.getLogger(__name__)


def store_queued_usage(*, limit: int = 1_000, rounds: int = 50) -> int:
    """Move the usage records queued by settles into the database, a batch of at most
    `limit` per organization at a time, each acknowledged only once stored. Returns how many
    it stored; after `rounds` batches it returns anyway, so the worker's rollups keep up."""
    counters = policy.backend()
    if not counters.queues_usage:
        return 0
    organizations = [str(pk) for pk in Organization.objects.values_list("pk", flat=True)]
    stored = 0
    for _round in range(rounds):
        if not organizations:
            break
        batches = counters.claim_usage(organizations, limit)  # type: ignore[attr-defined]
        stored_batches = []
        for batch in batches:
            try:
                stored_batches.append((batch, usage.store_queued(batch.records)))
            except Exception:
                # Left claimed, so tried again next time; the other organizations go on.
                logger.exception("Queued usage of organization %s could not be stored.", batch.org)
        counters.ack_usage(  # type: ignore[attr-defined]
            [(batch, [r.request_id for r in records]) for batch, records in stored_batches]
        )
        stored += sum(len(batch.records) for batch, _records in stored_batches)
        for organization_id, workspace_id in {
            (str(r.organization_id), r.workspace_id)
            for _batch, records in stored_batches
            for r in records
        }:
            try:
                spend.notify_if_due(organization_id, workspace_id, {})
            except Exception:
                logger.exception("Spend notifications of %s could not be checked.", organization_id)
        # Until a claim comes back empty: one handed out again may hide newer records.
        organizations = [batch.org for batch, _records in stored_batches]
    return stored


def reconcile_spend() -> int:
    """Reconcile the spend counters of every organization with usage this month. Returns
    how many were reconciled."""
    return spend.reconcile_all()
