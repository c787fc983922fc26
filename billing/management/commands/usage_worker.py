import signal
import time

from django.core.management.base import BaseCommand, CommandParser

from billing import enforcement, usage
from billing.limiter import LimiterUnavailable
from workspaces.services import api_key_expiry_notices_send


class Command(BaseCommand):
    help = (
        "Keep reports current: store the usage records queued in Redis (USAGE_QUEUE), roll "
        "usage up every few seconds, and send the API key expiry notices hourly. Run one beside "
        "the web processes when USAGE_ROLLUP_INLINE is off."
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
        next_notices = 0.0
        while not stopping:
            usage.ensure_partitions()
            try:
                stored = enforcement.store_queued_usage()
            except LimiterUnavailable as error:
                self.stderr.write(f"Redis cannot be reached; queued usage waits: {error}")
            else:
                if stored:
                    self.stdout.write(f"Stored {stored:,} queued usage records.")
            rolled = usage.rollup_pending()
            if rolled:
                self.stdout.write(f"Rolled up {rolled:,} usage records.")
            if time.monotonic() >= next_notices:
                sent = api_key_expiry_notices_send()
                if sent:
                    self.stdout.write(f"Sent {sent} API key expiry notices.")
                next_notices = time.monotonic() + 3600
            if once:
                return
            time.sleep(interval)
