"""`joinedup link-clients [--train] [--match-weight W] [--review-weight W]`: link the index."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Link the whole client index with the stored Splink model (--train stores a new "
        "model version first). Existing ids are kept; the ids that changed are listed, why."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", action="store_true", help="Train a new model version.")
        parser.add_argument("--match-weight", type=float, default=None)
        parser.add_argument("--review-weight", type=float, default=None)

    def handle(self, *args, train: bool, match_weight, review_weight, **options):
        # Splink loads in this command only, never at web start-up.
        from joinedup.clientindex import runs

        if train or runs.current_model() is None:
            try:
                model = runs.train_model(match_weight=match_weight, review_weight=review_weight)
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"Model v{model.version} trained on {model.records_used} records.")
        run, assignment = runs.link_all()
        self.stdout.write(
            f"{run.records} records, {run.pairs} pairs scored, {run.linked_pairs} linked, "
            f"{run.review_pairs} for review: {run.clusters} people ({run.seconds:.1f} s)."
        )
        moved = [c for c in assignment.changes if c.old_key]
        self.stdout.write(
            f"{len(assignment.new_keys)} new ids; {len(moved)} records changed id; "
            f"{len(assignment.retired)} ids retired."
        )
        for change in moved[:100]:
            self.stdout.write(
                f"record {change.record}: {change.old_key} → {change.new_key} ({change.reason})"
            )
