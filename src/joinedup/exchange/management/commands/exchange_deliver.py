"""`joinedup exchange-deliver [--loop]`: post this node's due outgoing messages."""

import contextlib

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from joinedup.exchange import sending


class Command(BaseCommand):
    help = (
        "Deliver the exchange outbox's due messages to the other nodes now; with --loop, keep "
        "doing so every --interval seconds when nothing is due."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep delivering until stopped.")
        parser.add_argument(
            "--interval",
            type=float,
            default=sending.IDLE_SECONDS,
            help="Seconds to wait when nothing is due (a message queued meanwhile waits that "
            "long at most).",
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        def show(report: sending.Report) -> None:
            if report.attempted or not loop:
                self.stdout.write(
                    _("%(delivered)s delivered, %(retrying)s to retry, %(failed)s given up.")
                    % {
                        "delivered": report.delivered,
                        "retrying": report.retrying,
                        "failed": report.failed,
                    }
                )
                self.stdout.flush()

        if not loop:
            show(sending.deliver_due())
            return
        with contextlib.suppress(KeyboardInterrupt):
            sending.run(interval=interval, on_report=show)
