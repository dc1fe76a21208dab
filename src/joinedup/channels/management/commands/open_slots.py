"""`joinedup open-slots`: offer appointments at offices, in their opening hours."""

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from joinedup.channels.appointments import BookingError, counter_offices, open_hours
from joinedup.federation.models import Office


class Command(BaseCommand):
    help = (
        "Offer appointment times at offices (all that serve at a counter, or those named) "
        "over the coming days, every N minutes within their opening hours, on working days. "
        "Safe to run again: times already offered keep their bookings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("offices", nargs="*", metavar="OFFICE", help="office keys")
        parser.add_argument("--days", type=int, default=14, help="how many days ahead (14)")
        parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (today)")
        parser.add_argument("--every", type=int, default=30, help="minutes per time (30)")
        parser.add_argument("--capacity", type=int, default=2, help="people per time (2)")

    def handle(self, *args, offices, days, first, every, capacity, **options) -> None:
        try:
            first_day = datetime.date.fromisoformat(first) if first else timezone.localdate()
        except ValueError:
            raise CommandError(_("Write the first day as YYYY-MM-DD.")) from None
        if not 1 <= days <= 366:
            raise CommandError(_("Offer times from 1 to 366 days ahead."))
        chosen = offices_to_open(offices)
        added = 0
        for office in tqdm(chosen, desc=_("Offices"), unit="", disable=options["verbosity"] < 1):
            try:
                added += open_hours(office, first_day, days, every=every, capacity=capacity)
            except BookingError as error:
                raise CommandError(error.message) from None
        self.stdout.write(
            _("%(added)s appointment times added at %(offices)s offices.")
            % {"added": added, "offices": len(chosen)}
        )


def offices_to_open(keys: list[str]) -> list[Office]:
    """The offices named (all must exist), else every office that serves at a counter."""
    if not keys:
        return counter_offices()
    found = {o.key: o for o in Office.objects.filter(key__in=keys).select_related("jurisdiction")}
    missing = sorted(set(keys) - set(found))
    if missing:
        raise CommandError(_("No office has the key: %(keys)s.") % {"keys": ", ".join(missing)})
    return [found[key] for key in keys]
