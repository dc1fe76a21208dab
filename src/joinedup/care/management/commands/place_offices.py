"""`joinedup place-offices`: place the registry's offices that have coordinates in the
directory of services (loading a directory package does it too; run it after the registry's
offices change)."""

from django.core.management.base import BaseCommand

from joinedup.care import directory


class Command(BaseCommand):
    help = "Place the registry's offices with coordinates in the directory of services."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"offices placed: {directory.place_offices()}")
