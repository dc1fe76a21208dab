"""`joinedup load-federation PATH…`: load federation data files, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from joinedup.federation.loader import FederationRejected, discover, load_federation


class Command(BaseCommand):
    help = "Validate and load federation data files (YAML or JSON; folders are read whole)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")

    def handle(self, *args, paths: list[Path], verbosity: int = 1, **options) -> None:
        files = discover(paths)
        bar = tqdm(total=len(files), unit="file", disable=verbosity < 1, file=self.stderr)
        try:
            result = load_federation(
                paths, progress=lambda name: (bar.set_postfix_str(name), bar.update(1))
            )
        except FederationRejected as rejected:
            bar.close()
            for problem in rejected.problems:
                self.stderr.write(str(problem))
            raise CommandError(str(rejected)) from None
        bar.close()
        summary = ", ".join(
            f"{count} {kind.replace('_', ' ')}" for kind, count in result.counts.items()
        )
        note = " (illustrative)" if result.illustrative else ""
        self.stdout.write(self.style.SUCCESS(f"Loaded {result.name}{note}: {summary}."))
