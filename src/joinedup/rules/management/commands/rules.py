"""`joinedup rules test|list|run-population`: run the rule packages' YAML test cases, list
the packages, compute and store the entitlements of everyone at a place for a month."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from joinedup.rules.entitlements import run_population
from joinedup.rules.errors import RulesError
from joinedup.rules.manifests import PACKAGES_DIR
from joinedup.rules.systems import Registry


class Command(BaseCommand):
    help = (
        "Run each rule package's test cases (OpenFisca's YAML format), or list the packages. "
        "A package with a failing case is refused when the platform loads it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["test", "list", "run-population"])
        parser.add_argument(
            "--package", action="append", default=[], help="Only this package (repeatable)."
        )
        parser.add_argument(
            "--directory", type=Path, default=PACKAGES_DIR, help="The folder of the packages."
        )

        parser.add_argument("--jurisdiction", help="run-population: the place (CA-ON).")
        parser.add_argument("--period", help="run-population: the month (2026-07).")
        parser.add_argument(
            "--incomes",
            type=Path,
            help="run-population: a CSV of yearly incomes on consented evidence "
            "(columns person, year, amount).",
        )

    def handle(self, *args, action: str, package: list[str], directory: Path, **options):
        if action == "run-population":
            self.run_population(options)
            return
        registry = Registry(directory)
        chosen = [p for p in registry.packages.values() if not package or p.id in package]
        if unknown := set(package) - {p.id for p in chosen}:
            raise CommandError(f"No such rule package: {', '.join(sorted(unknown))}")
        if action == "list":
            for p in chosen:
                marks = " (illustrative)" if p.illustrative else ""
                base = f", extends {p.extends}" if p.extends else ""
                self.stdout.write(f"{p.id} {p.version}: {p.jurisdiction}{base}{marks}")
            return
        failed = passed = 0
        for p in chosen:
            for result in registry.test(p):
                where = f"{p.id} {p.version} {result.file}: {result.name}"
                if result.passed:
                    passed += 1
                    self.stdout.write(f"passed  {where}")
                else:
                    failed += 1
                    self.stdout.write(f"FAILED  {where}\n        {result.failure}")
        self.stdout.write(f"{passed} passed, {failed} failed in {len(chosen)} package(s).")
        if failed:
            raise CommandError(f"{failed} rule test case(s) failed: those packages are refused.")

    def run_population(self, options) -> None:
        if not options["jurisdiction"] or not options["period"]:
            raise CommandError("run-population needs --jurisdiction and --period.")
        incomes: dict[int, dict[int, float]] = {}
        if options["incomes"]:
            with options["incomes"].open(newline="", encoding="utf-8") as file:
                for row in csv.DictReader(file):
                    try:
                        person, year = int(row["person"]), int(row["year"])
                        incomes.setdefault(person, {})[year] = float(row["amount"])
                    except (KeyError, TypeError, ValueError) as error:
                        raise CommandError(f"Bad income row {row}: {error}") from error
        try:
            report = run_population(options["jurisdiction"].upper(), options["period"], incomes)
        except (RulesError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{report.jurisdiction} {report.period}: {report.people} people in "
            f"{report.families} families ({report.without_income} without income evidence, "
            f"not computed); {report.found} entitlements, {report.new} new, "
            f"{report.updated} updated."
        )
        for benefit, count in sorted(report.by_benefit.items()):
            self.stdout.write(f"  {benefit}: {count}")
