"""`joinedup import-clients AGENCY FILE.csv|parquet [--partial] [--link]`: load a client list."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from joinedup.clientindex.loading import LoadRefused, load, read_file
from joinedup.federation.models import Agency


class Command(BaseCommand):
    help = (
        "Load an agency's client list (CSV with a header row, or Parquet) into the client "
        "index. All or nothing unless --partial; errors are listed by line and field."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("agency", help="The agency's key.")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--partial", action="store_true", help="Keep the good rows when some are bad."
        )
        parser.add_argument(
            "--link",
            action="store_true",
            help="Link the new records with the stored model right after the load.",
        )

    def handle(self, *args, agency: str, file: Path, partial: bool, link: bool, **options):
        found = Agency.objects.filter(key=agency).first()
        if found is None:
            raise CommandError(f"No agency has the key {agency}.")
        if not file.exists():
            raise CommandError(f"No such file: {file}")
        bar = tqdm(unit="row", disable=options["verbosity"] < 1, file=self.stderr)
        try:
            outcome = load(
                found,
                read_file(file),
                channel="file",
                name=file.name,
                partial=partial,
                progress=bar.update,
            )
        except LoadRefused as refused:
            bar.close()
            for error in refused.errors[:200]:
                self.stderr.write(f"line {error.line}, {error.field}: {error.message}")
            raise CommandError(
                f"Nothing was loaded: {len(refused.errors)} errors "
                "(use --partial to keep the good rows)."
            ) from None
        bar.close()
        for error in outcome.errors[:200]:
            self.stderr.write(f"line {error.line}, {error.field}: {error.message}")
        record = outcome.load
        self.stdout.write(
            f"{record.received} rows: {record.created} added, {record.updated} changed, "
            f"{record.unchanged} already known, {record.rejected} refused."
        )
        if link and outcome.touched:
            # Splink loads only when a link is asked for.
            from joinedup.clientindex.runs import link_new

            run = link_new(outcome.touched)
            if run is None:
                self.stdout.write("No model is stored yet: run link-clients --train first.")
            else:
                self.stdout.write(f"Linked {run.records} records in {run.seconds:.1f} s.")
