"""`joinedup exchange-keys show|rotate`: this node's public keys, for the trust list.

Private keys are never printed: `show` writes the public JWK set the governance authority
puts in the trust list; `rotate sig|enc` makes a new active key (the old one keeps opening
messages until it is retired, after the new list has spread).
"""

import json

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from joinedup.exchange import keys
from joinedup.exchange.models import KeyUse


class Command(BaseCommand):
    help = "Show this node's public exchange keys (JWK set), or rotate one of them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["show", "rotate", "retire"])
        parser.add_argument("what", nargs="?", help="rotate: sig or enc; retire: the key id")

    def handle(self, *args, action: str, what: str | None, **options) -> None:
        if action == "rotate":
            if what not in (KeyUse.SIGNING, KeyUse.ENCRYPTION):
                self.stderr.write(_("Say which key to rotate: sig or enc."))
                return
            row = keys.rotate(what)
            self.stdout.write(_("New key %(kid)s is now in use.") % {"kid": row.kid})
            return
        if action == "retire":
            keys.retire(what or "")
            self.stdout.write(_("Key %(kid)s retired.") % {"kid": what})
            return
        self.stdout.write(json.dumps(keys.public_jwks(), indent=2))
