"""`joinedup sync-sharing-rules`: rebuild the sharing rules of every data-sharing agreement."""

from django.core.management.base import BaseCommand, CommandError

from joinedup.sharing import sharing_rules


class Command(BaseCommand):
    help = "Derive the machine-checkable sharing rules from the data-sharing agreements."

    def handle(self, *args, **options) -> None:
        written, problems = sharing_rules.sync_all()
        self.stdout.write(f"{written} sharing rules derived from the agreements.")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} agreement(s) have terms that cannot be read.")
