"""`joinedup ledger verify|checkpoint|new-key`: check and sign the access ledger."""

from django.core.management.base import BaseCommand, CommandError

from joinedup.sharing import ledger


class Command(BaseCommand):
    help = (
        "Verify the access ledger's hash chain and checkpoints, sign a checkpoint, or make a key."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint", "new-key", "public-key"])

    def handle(self, *args, action: str, **options) -> None:
        if action == "verify":
            result = ledger.verify()
            if result.ok:
                self.stdout.write(
                    f"The ledger is intact: {result.checked} rows in {result.chains} chain(s), "
                    f"{result.checkpoints} signed checkpoints."
                )
                return
            for problem in result.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"The ledger was tampered with: {len(result.problems)} problem(s); "
                f"the first: {result.first}"
            )
        if action == "checkpoint":
            signed = ledger.checkpoint()
            if not signed:
                self.stdout.write("Nothing new to sign.")
            for cp in signed:
                self.stdout.write(
                    f"Signed position {cp.seq} of chain {cp.chain} ({cp.hash}) "
                    f"with key {cp.key_id}."
                )
            return
        if action == "new-key":
            self.stdout.write(ledger.new_key())
            return
        self.stdout.write(ledger.public_key_text(ledger.signing_key().public_key()))
