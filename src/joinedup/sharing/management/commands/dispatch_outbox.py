"""`joinedup dispatch-outbox [--loop]`: deliver due outbox events in this process."""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from joinedup.sharing import dispatch


class Command(BaseCommand):
    help = "Deliver the outbox's due events now; with --loop, keep doing so."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep polling until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls (with --loop)."
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        worker_id = dispatch.new_worker_id()
        while True:
            close_old_connections()
            report = dispatch.dispatch_pending(worker_id=worker_id)
            if report.events or not loop:
                self.stdout.write(
                    f"{report.events} events: {report.delivered} delivered, "
                    f"{report.retrying} to retry, {report.dead} given up."
                )
            if not loop:
                return
            time.sleep(interval)
