"""`joinedup rotate-identifier-keys`: re-encrypt every identifier under the current key.

Rotation: put a new key first in JOINEDUP_IDENTIFIER_KEYS (keep the old ones after it), run
this command, then remove the old keys. `--new-key` prints a fresh key to start with.
"""

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from joinedup.identity import encryption
from joinedup.identity.client_registry import rotate_identifier_keys


class Command(BaseCommand):
    help = "Re-encrypt every personal identifier under the first key of JOINEDUP_IDENTIFIER_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key", action="store_true", help="Print a new key and stop.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, new_key: bool, batch_size: int, no_progress: bool, **options):
        if new_key:
            self.stdout.write(encryption.new_key())
            return

        def progress(rows, total):
            return tqdm(
                rows,
                total=total,
                unit="identifier",
                desc="Re-encrypting",
                file=self.stderr._out,
                disable=no_progress,
            )

        examined, rewritten = rotate_identifier_keys(progress=progress, batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"{examined} identifiers examined, {rewritten} re-encrypted under the current key."
            )
        )
