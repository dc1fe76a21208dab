from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from joinedup.delivery import versions


class Command(BaseCommand):
    help = "Deploy service versions (form definition + BPMN process) from JSON files or folders."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="files or folders")

    def handle(self, *args, paths, **options):
        try:
            results = versions.load_paths(paths)
        except versions.VersionError as error:
            raise CommandError(str(error)) from None
        for result in results:
            state = "deployed" if result.created else "unchanged"
            self.stdout.write(f"{result.version}: {state}")
