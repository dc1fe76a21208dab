"""`joinedup recompute-rollups`: rebuild every rollup from the fact table."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from joinedup.performance.rollups import recompute_rollups


class Command(BaseCommand):
    help = "Rebuild the performance rollups from the transactions (same figures, from scratch)."

    def handle(self, *args, **options) -> None:
        rows = recompute_rollups()
        self.stdout.write(_("%(rows)s daily rollup rows rebuilt.") % {"rows": rows})
