"""`joinedup load-directory PATH`: load an HSDS 3 data package into the directory, all or
nothing (a bad package is refused whole, one line per problem: file, row, field)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from joinedup.care.packages import PackageRefused, load_package


class Command(BaseCommand):
    help = "Load an HSDS 3 data package (datapackage.json and its CSV files) into the directory."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="The folder of the data package.")

    def handle(self, *args, path: Path, **options) -> None:
        try:
            report = load_package(path)
        except PackageRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"The package was refused ({len(refused.problems)} problems); nothing was loaded."
            ) from None
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count}")
