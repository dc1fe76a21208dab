"""`joinedup dispatch-outbox [--loop]`: deliver due outbox events in this process."""

import contextlib

from django.core.management.base import BaseCommand

from joinedup.sharing import dispatch


class Command(BaseCommand):
    help = (
        "Deliver the outbox's due events now; with --loop, keep doing so: at once after each "
        "commit that emitted events (PostgreSQL), otherwise every --interval seconds."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep dispatching until stopped.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between polls when no commit wakes the loop (with --loop).",
        )

    def handle(self, *args, loop: bool, interval: float, **options) -> None:
        def show(report: dispatch.DispatchReport) -> None:
            if report.events or not loop:
                self.stdout.write(
                    f"{report.events} events: {report.delivered} delivered, "
                    f"{report.retrying} to retry, {report.dead} given up."
                )

        if not loop:
            show(dispatch.dispatch_pending())
            return
        with contextlib.suppress(KeyboardInterrupt):
            dispatch.run_dispatcher(poll_seconds=interval, on_report=show)
