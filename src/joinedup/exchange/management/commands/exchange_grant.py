"""`joinedup exchange-grant PROVIDER SERVICE NODE [--until DATE] [--revoke]`: let another
node ask one of this node's agencies for one of its services, or end that access."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.exchange import grants


class Command(BaseCommand):
    help = (
        "Grant (or with --revoke, end) another node's access to one service of one of this "
        "node's agencies. Publishing a service grants nothing: messages that ask for a "
        "service are refused without a grant in force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", help="this node's agency that provides the service (key)")
        parser.add_argument("service", help="the service (catalogue key)")
        parser.add_argument(
            "node", help="the client node's member code, as the trust list names it"
        )
        parser.add_argument("--until", help="the last day of the grant (YYYY-MM-DD)")
        parser.add_argument("--revoke", action="store_true", help="end the grant now")

    def handle(self, *args, provider, service, node, until, revoke, **options) -> None:
        if revoke:
            count = grants.revoke(provider, service, node)
            if not count:
                raise CommandError(_("There is no grant in force to revoke."))
            self.stdout.write(_("The grant is revoked."))
            return
        valid_to = None
        if until:
            try:
                day = datetime.date.fromisoformat(until)
            except ValueError:
                raise CommandError(_("Give the last day as YYYY-MM-DD.")) from None
            valid_to = timezone.make_aware(
                datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
            )
        try:
            grants.grant(provider, service, node, valid_to=valid_to)
        except grants.GrantError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(_("Access granted."))
