"""`joinedup periodic-tasks [--loop]`: enqueue the periodic jobs that are due."""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from joinedup.sharing import schedule


class Command(BaseCommand):
    help = (
        "Enqueue the periodic background tasks that are due (outbox dispatch, ledger "
        "checkpoint, retention); with --loop, keep doing so. Run it beside the task worker."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between checks (with --loop)."
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        while True:
            close_old_connections()
            names = schedule.run_due()
            if names and options["verbosity"] > 1:
                self.stdout.write("Enqueued: " + ", ".join(names))
            if not loop:
                if options["verbosity"]:
                    self.stdout.write("Enqueued: " + (", ".join(names) or "nothing"))
                return
            time.sleep(interval)
