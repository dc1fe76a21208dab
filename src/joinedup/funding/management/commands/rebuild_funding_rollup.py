"""`joinedup rebuild-funding-rollup`: recompute the explorer's rollup from the expenditure lines.

Run it after loading lines in bulk outside the rules (COPY, a restored dump): the rollup is
kept on every write that goes through the app, but a bulk load bypasses it.
"""

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils.translation import gettext as _

from joinedup.funding import rollup
from joinedup.funding.models import Allocation, SpendingRollup


class Command(BaseCommand):
    help = "Recompute the funding explorer's rollup from every expenditure line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="only compare the rollup with the lines"
        )

    def handle(self, *args, **options) -> None:
        if options["check"]:
            found = rollup.differences()
            for line in found[:20]:
                self.stdout.write(line)
            if found:
                raise SystemExit(
                    _("%(count)s rollup rows differ from the lines.") % {"count": len(found)}
                )
            self.stdout.write(_("The rollup equals the lines."))
            return
        count = rollup.rebuild()
        connection = connections[SpendingRollup.objects.db]
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # The rebuilt rows' pages marked all-visible and the place paths' statistics
            # fresh: the explorer's reads of the rollup are then index-only, and the planner
            # knows how many allocations a place has (autovacuum would, later).
            with connection.cursor() as cursor:
                for model in (Allocation, SpendingRollup):
                    cursor.execute(
                        f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}"
                    )
        self.stdout.write(_("%(count)s rollup rows rebuilt.") % {"count": count})
