"""`joinedup rules test|list`: run the rule packages' YAML test cases, list the packages."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from joinedup.rules.manifests import PACKAGES_DIR
from joinedup.rules.systems import Registry


class Command(BaseCommand):
    help = (
        "Run each rule package's test cases (OpenFisca's YAML format), or list the packages. "
        "A package with a failing case is refused when the platform loads it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["test", "list"])
        parser.add_argument(
            "--package", action="append", default=[], help="Only this package (repeatable)."
        )
        parser.add_argument(
            "--directory", type=Path, default=PACKAGES_DIR, help="The folder of the packages."
        )

    def handle(self, *args, action: str, package: list[str], directory: Path, **options):
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
