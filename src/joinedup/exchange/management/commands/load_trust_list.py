"""`joinedup load-trust-list FILE`: check and load the federation's signed trust list."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from joinedup.exchange import trustlist


class Command(BaseCommand):
    help = (
        "Load a signed trust list (JWS, flattened JSON): the nodes this node exchanges with, "
        "their addresses and keys. Refused if unsigned, expired, not newer than the loaded "
        "one, or signed by a key that is not a trust anchor."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the signed trust list (JSON)")

    def handle(self, *args, file: str, **options) -> None:
        try:
            loaded = trustlist.load_file(file)
        except trustlist.TrustListRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            _(
                "Trust list %(issuer)s number %(number)s loaded: %(nodes)s nodes, %(keys)s keys, "
                "%(removed)s nodes no longer listed."
            )
            % {
                "issuer": loaded.trust_list.issuer,
                "number": loaded.trust_list.sequence,
                "nodes": loaded.nodes,
                "keys": loaded.keys,
                "removed": loaded.removed,
            }
        )
