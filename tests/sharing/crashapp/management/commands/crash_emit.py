from django.core.management.base import BaseCommand
from django.db import transaction

from joinedup.sharing import outbox

from ...handlers import TYPE


class Command(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument("count", type=int)

    def handle(self, *args, count: int, **options) -> None:
        with transaction.atomic():
            for n in range(count):
                outbox.emit(TYPE, subject=f"item/{n}", data={"n": n})
