"""`joinedup export-directory PATH`: write the directory as an HSDS 3 data package (CSV files
with datapackage.json, and services.json with every service fully nested)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from joinedup.care import directory
from joinedup.care.models import Service
from joinedup.care.packages import export_package


def _nested() -> list[dict]:
    services = directory.attach_terms(list(directory.nested(Service.objects.order_by("id"))))
    return [directory.service_json(s) for s in services]


class Command(BaseCommand):
    help = "Write the directory as an HSDS 3 data package in a folder (created if needed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="The folder to write the package to.")

    def handle(self, *args, path: Path, **options) -> None:
        counts = export_package(path, nested=_nested)
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
