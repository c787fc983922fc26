import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from accounts import outbox
from billing import enforcement, services, usage
from billing.limiter import LimiterUnavailable
from workspaces.services import api_key_expiry_notices_send

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Keep reports and counters current: store the usage records queued in Redis "
        "(USAGE_QUEUE), roll usage up every few seconds, retry e-mails that failed, reconcile "
        "the spend counters with the database (RECONCILE_SECONDS), send spend notifications "
        "that are due and the API key expiry notices. Run one beside the web processes when "
        "USAGE_ROLLUP_INLINE is off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between rollups.")
        parser.add_argument("--once", action="store_true", help="Do one round and exit.")

    def handle(self, *args, interval: float, once: bool, **options) -> None:
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        next_reconcile = next_notices = 0.0
        while not stopping:
            # Each step on its own: one that fails is logged and tried again next round.
            self._step("partitions", usage.ensure_partitions)
            self._step("queued usage", self._store_queued)
            self._step("rollups", self._roll_up)
            self._step("e-mails", self._send_emails)
            if time.monotonic() >= next_reconcile:
                self._step("reconciling spend counters", enforcement.reconcile_spend)
                self._step("spend notifications", self._notify_spend)
                next_reconcile = time.monotonic() + settings.RECONCILE_SECONDS
            if time.monotonic() >= next_notices:
                self._step("expiry notices", self._notify_expiry)
                next_notices = time.monotonic() + 3600
            if once:
                return
            time.sleep(interval)

    def _step(self, name: str, work) -> None:
        """Run one step; whatever it raises is logged and the worker goes on with the next
        step and the next round (the step tries again then)."""
        try:
            work()
        except LimiterUnavailable as error:
            self.stderr.write(f"Redis cannot be reached; {name} waits: {error}")
        except DatabaseError:
            logger.exception("The database failed during %s; tried again next round.", name)
        except Exception:
            logger.exception("%s failed; tried again next round.", name.capitalize())

    def _store_queued(self) -> None:
        stored = enforcement.store_queued_usage()
        if stored:
            self.stdout.write(f"Stored {stored:,} queued usage records.")

    def _roll_up(self) -> None:
        rolled = usage.rollup_pending()
        if rolled:
            self.stdout.write(f"Rolled up {rolled:,} usage records.")

    def _send_emails(self) -> None:
        sent = outbox.send_due()
        if sent:
            self.stdout.write(f"Sent {sent} e-mails that had failed before.")

    def _notify_expiry(self) -> None:
        sent = api_key_expiry_notices_send()
        if sent:
            self.stdout.write(f"Sent {sent} API key expiry notices.")

    def _notify_spend(self) -> None:
        sent = services.spend_notifications_send_due()
        if sent:
            self.stdout.write(f"Sent {sent} spend notifications.")
