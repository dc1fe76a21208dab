import base64

from django.core.management.base import BaseCommand, CommandError

from joinedup.delivery import documents


class Command(BaseCommand):
    help = "Document signing keys: `new` prints a new key; `current` prints the key id in use."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["new", "current", "public-key"])

    def handle(self, *args, action, **options):
        if action == "new":
            self.stdout.write(documents.new_key())
        elif action == "current":
            _private, kid = documents.signing_key()
            self.stdout.write(kid)
        else:
            private, kid = documents.signing_key()
            self.stdout.write(base64.b64encode(private.public_key().public_bytes_raw()).decode())
        if action not in {"new", "current", "public-key"}:
            raise CommandError("unknown action")
