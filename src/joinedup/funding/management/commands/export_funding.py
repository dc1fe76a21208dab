"""`joinedup export-funding --output DIR [--published]`: the funding package, as loaded."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from joinedup.funding.package import export_package


class Command(BaseCommand):
    help = "Write every funding record as a Fiscal Data Package (CSV and datapackage.json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, help="the folder to write into")
        parser.add_argument(
            "--published", action="store_true", help="only what is published (open data)"
        )

    def handle(self, *args, **options) -> None:
        folder = Path(options["output"])
        counts = export_package(folder, published_only=options["published"])
        total = sum(counts.values())
        self.stdout.write(
            _("%(count)s rows written to %(folder)s.") % {"count": total, "folder": folder}
        )
