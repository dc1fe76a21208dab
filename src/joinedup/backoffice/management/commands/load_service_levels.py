"""`joinedup load-service-levels FILE...`: the service levels, prices and forecast volumes of
shared-service agreements, and the shared services' versions deployed."""

from django.core.management.base import BaseCommand, CommandError

from joinedup.backoffice.loader import LevelsRejected, load_levels


class Command(BaseCommand):
    help = "Load service levels of shared-service agreements from YAML files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+")

    def handle(self, *args, **options) -> None:
        for path in options["paths"]:
            try:
                count = load_levels(path)
            except (LevelsRejected, OSError) as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{path}: {count} service levels")
