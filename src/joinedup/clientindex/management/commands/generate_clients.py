"""`joinedup generate-clients --people N --agencies K --out DIR`: a synthetic population."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand

from joinedup.clientindex.synthetic import COLUMNS, generate


class Command(BaseCommand):
    help = (
        "Write made-up people into K agencies' client lists (one CSV each) with realistic "
        "noise at fixed rates, and the truth (record → person, noise) in a separate file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--people", type=int, required=True)
        parser.add_argument("--agencies", type=int, default=3)
        parser.add_argument(
            "--agency-keys", nargs="*", default=None, help="Name the agencies (default a1…aK)."
        )
        parser.add_argument("--out", type=Path, default=Path("clients"))
        parser.add_argument("--seed", type=int, default=2026)

    def handle(
        self, *args, people: int, agencies: int, agency_keys, out: Path, seed: int, **options
    ):
        keys = agency_keys or [f"a{i + 1}" for i in range(agencies)]
        population = generate(people, keys, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        for agency, rows in population.lists.items():
            with (out / f"{agency}.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        truth_dir = out / "truth"
        truth_dir.mkdir(exist_ok=True)
        with (truth_dir / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["agency", "record_id", "person", "noise"])
            for (agency, record_id), person in population.truth.items():
                noise = " ".join(population.noise[(agency, record_id)])
                writer.writerow([agency, record_id, person, noise])
        self.stdout.write(
            f"{population.record_count} records of {people} people in {len(keys)} lists "
            f"written to {out}; the truth is in {truth_dir}."
        )
