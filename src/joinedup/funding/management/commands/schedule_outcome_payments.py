"""`joinedup schedule-outcome-payments [--today YYYY-MM-DD]`: each ended period's payment
under every outcome-based agreement, computed from the indicator and routed to the funder."""

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from joinedup.funding import outcomes


class Command(BaseCommand):
    help = "Compute the outcome payments of every ended period, for the funders to approve."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="the day to compute as of (YYYY-MM-DD)")

    def handle(self, *args, **options) -> None:
        try:
            today = (
                datetime.date.fromisoformat(options["today"])
                if options["today"]
                else datetime.date.today()
            )
        except ValueError:
            raise CommandError(_("Give the day as YYYY-MM-DD.")) from None
        done = outcomes.schedule(today)
        self.stdout.write(
            _("%(computed)s payments computed for approval; %(waiting)s periods wait for a value.")
            % {"computed": len(done.computed), "waiting": len(done.waiting)}
        )
