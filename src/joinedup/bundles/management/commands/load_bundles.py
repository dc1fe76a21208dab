"""`joinedup load-bundles PATH…`: load life-event bundles from data files, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from joinedup.bundles.loader import BundlesRejected, load_bundles


class Command(BaseCommand):
    help = "Validate and load life-event bundles (YAML or JSON; folders are read whole)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")

    def handle(self, *args, paths: list[Path], **options) -> None:
        try:
            result = load_bundles(paths)
        except BundlesRejected as rejected:
            for problem in rejected.problems:
                self.stderr.write(str(problem))
            raise CommandError(str(rejected)) from None
        summary = ", ".join(f"{count} {kind}" for kind, count in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Bundles from {len(result.files)} files: {summary}."))
