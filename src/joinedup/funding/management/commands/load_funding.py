"""`joinedup load-funding PATH`: load a funding Fiscal Data Package, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from joinedup.funding.package import PackageRefused, describe_counts, load_package


class Command(BaseCommand):
    help = "Load a funding package (datapackage.json and its CSV files); refused whole if bad."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the package folder (or its datapackage.json)")

    def handle(self, *args, **options) -> None:
        path = Path(options["path"])
        folder = path.parent if path.name == "datapackage.json" else path
        try:
            loaded = load_package(folder)
        except PackageRefused as refused:
            raise CommandError(
                _("The package was refused; nothing was written:\n%(problems)s")
                % {"problems": "\n".join(f"- {p}" for p in refused.problems)}
            ) from None
        counts = describe_counts(loaded.counts)
        self.stdout.write(_("Loaded: %(counts)s.") % {"counts": counts or _("nothing new")})
