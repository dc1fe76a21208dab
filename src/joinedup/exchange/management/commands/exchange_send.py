"""`joinedup exchange-send NODE KIND FILE --purpose P`: queue a message for another node.

For operators checking a link between two nodes (and for scripts): the body is read from a
JSON file; the message is sealed and queued in the outbox, and `exchange-deliver` posts it.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from joinedup.exchange import sending


class Command(BaseCommand):
    help = "Seal a message for another node and queue it (exchange-deliver posts it)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("node", help="the receiving node's member code")
        parser.add_argument("kind", help="the kind of message (referral, evidence, ...)")
        parser.add_argument("file", help="a JSON file: the body, or {body, subject}")
        parser.add_argument("--purpose", required=True)
        parser.add_argument("--conversation", default=None)

    def handle(self, *args, node, kind, file, purpose, conversation, **options) -> None:
        try:
            data = json.loads(Path(file).read_text())
        except (OSError, ValueError) as error:
            raise CommandError(_("The message file cannot be read as JSON.")) from error
        body, subject = data.get("body", data), data.get("subject")
        try:
            message = sending.send(
                kind, node, body, purpose=purpose, conversation=conversation, subject=subject
            )
        except sending.NoPeer:
            raise CommandError(
                _("No node %(node)s is in force in the trust list.") % {"node": node}
            ) from None
        self.stdout.write(str(message.message_id))
