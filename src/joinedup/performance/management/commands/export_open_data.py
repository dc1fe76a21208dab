"""`joinedup export-open-data --output DIR [--period 12m]`: CSV and a Frictionless package."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from joinedup.performance import kpis
from joinedup.performance.opendata import EXPORTERS, write_open_data


class Command(BaseCommand):
    help = "Write every published performance measure as CSV with a datapackage.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, help="the folder to write into")
        parser.add_argument("--period", default="12m", help="12m, 2025, 2025-Q2 or 2025-04")

    def handle(self, *args, **options) -> None:
        try:
            period = kpis.parse_period(options["period"])
        except kpis.PeriodError as error:
            raise CommandError(str(error)) from None
        folder = Path(options["output"])
        count = write_open_data(folder, period)
        for name, write in EXPORTERS.items():
            count += write(folder / name, period)
        self.stdout.write(
            _("%(count)s rows written to %(folder)s.") % {"count": count, "folder": folder}
        )
