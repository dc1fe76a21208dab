"""`joinedup rebuild-funding-rollup`: recompute the explorer's rollup from the expenditure lines.

Run it after loading lines in bulk outside the rules (COPY, a restored dump): the rollup is
kept on every write that goes through the app, but a bulk load bypasses it.
"""

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from joinedup.funding import rollup


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
        self.stdout.write(_("%(count)s rollup rows rebuilt.") % {"count": count})
