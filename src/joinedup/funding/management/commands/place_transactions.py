"""`joinedup place-transactions`: give the transactions recorded before places were (performance
migration 0006) where the person lived, from their applications, then rebuild performance's
rollups and the places' figures from them, all in one transaction."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.funding import places
from joinedup.performance.rollups import recompute_rollups


class Command(BaseCommand):
    help = (
        "Place the transactions recorded without a place (from their applications), then "
        "rebuild the rollups and the places' figures."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            done = places.place_past_transactions()
            figures = 0
            if done.placed:
                recompute_rollups()
                figures = places.figures_from_rollups()
        self.stdout.write(
            _(
                "%(placed)s transactions placed, %(left)s left without a place; "
                "%(figures)s figures of places rebuilt."
            )
            % {"placed": done.placed, "left": done.left, "figures": figures}
        )
