"""`joinedup ledger verify|checkpoint|new-key|public-key`: check and sign the access ledger."""

from django.core.management.base import BaseCommand, CommandError

from joinedup.sharing import ledger, witness


class Command(BaseCommand):
    help = (
        "Verify the access ledger's hash chain and checkpoints (against witnesses with "
        "--witness), sign a checkpoint, or make a key."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint", "new-key", "public-key"])
        parser.add_argument(
            "--witness",
            nargs="*",
            default=None,
            metavar="WITNESS",
            help=(
                "verify against these witnesses (a directory, or kind:location as in "
                "JOINEDUP_LEDGER_WITNESSES); by default, the configured ones"
            ),
        )
        parser.add_argument(
            "--no-witness",
            action="store_true",
            help="verify the database alone (the chains and their signatures)",
        )

    def handle(
        self, *args, action: str, witness: list[str] | None, no_witness: bool, **options
    ) -> None:
        if action == "verify":
            self.verify(None if no_witness else witness or [])
            return
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

    def verify(self, entries: list[str] | None) -> None:
        """Against `entries` (the configured witnesses when empty; none when None)."""
        places = None
        if entries is not None:
            places = [witness.witness(entry) for entry in entries] or witness.configured()
        result = ledger.verify(witnesses=places)
        if result.ok:
            against = f" Checked against {', '.join(str(p) for p in places)}." if places else ""
            self.stdout.write(
                f"The ledger is intact: {result.checked} rows in {result.chains} chain(s), "
                f"{result.checkpoints} signed checkpoints.{against}"
            )
            return
        for problem in result.problems:
            self.stderr.write(str(problem))
        raise CommandError(
            f"The ledger was tampered with: {len(result.problems)} problem(s); "
            f"the first: {result.first}"
        )
