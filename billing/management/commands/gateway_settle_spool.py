from django.core.management.base import BaseCommand

from billing.messages_api import settling


class Command(BaseCommand):
    help = (
        "Show the gateway's settles that wait in the spool (GATEWAY_SETTLE_SPOOL_DIR) and "
        "those the engine refused; with --drain, record the waiting ones now. A running "
        "gateway drains the spool by itself."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--drain", action="store_true", help="Settle every waiting entry now.")

    def handle(self, *args, drain: bool = False, **options) -> None:
        waiting = settling.spooled()
        word = "settle waits" if len(waiting) == 1 else "settles wait"
        self.stdout.write(f"{len(waiting)} {word} in the spool {settling.spool_dir()}.")
        refused = settling.rejected()
        if refused:
            self.stdout.write(
                f"{len(refused)} refused by the engine, kept in {settling.spool_dir() / 'rejected'}."
            )
        if drain and waiting:
            done, left = settling.drain_now()
            self.stdout.write(f"Drained: {done} recorded, {left} left.")
