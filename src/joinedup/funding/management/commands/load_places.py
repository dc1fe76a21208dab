"""`joinedup load-places [FILE.geojson ...]`: a place for every jurisdiction of the registry,
and the service areas (and jurisdictions' shapes) of the GeoJSON files given."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from joinedup.funding import places


class Command(BaseCommand):
    help = "Make places of the registry's jurisdictions and load service areas from GeoJSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path, help="GeoJSON FeatureCollections")
        parser.add_argument(
            "--figures",
            action="store_true",
            help="also compute the jurisdictions' monthly figures from performance's rollups",
        )

    def handle(self, *args, **options) -> None:
        try:
            loaded = places.load_places(options["files"])
        except places.PlacesRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            _(
                "%(jurisdictions)s jurisdictions made places, %(areas)s service areas and "
                "%(shapes)s shapes loaded."
            )
            % {
                "jurisdictions": loaded.jurisdictions,
                "areas": loaded.areas,
                "shapes": loaded.shapes,
            }
        )
        if options["figures"]:
            count = places.figures_from_rollups()
            self.stdout.write(
                _("%(count)s monthly figures computed from the rollups.") % {"count": count}
            )
