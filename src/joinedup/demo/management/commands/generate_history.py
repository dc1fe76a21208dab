"""`joinedup generate-history --transactions N`: synthetic history with a progress bar.

Runs every registered history generator in order (see `joinedup.demo.history`); each may add
options of its own to this command.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from joinedup.demo.history.run import NothingToGenerate, generate_history, generators


class Command(BaseCommand):
    help = "Write realistic synthetic transactions for the loaded federation, then the rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", type=int, required=True, help="how many to write")
        parser.add_argument("--years", type=int, default=3, help="how far back (default 3)")
        parser.add_argument("--seed", type=int, default=None, help="repeat a run exactly")
        parser.add_argument("--no-surveys", action="store_true", help="no survey answers")
        names = [step.name for step in generators()]
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            choices=names,
            metavar="GENERATOR",
            help="a generator not to run (repeatable): " + ", ".join(names),
        )
        for step in generators():
            if step.arguments is not None:
                step.arguments(parser)

    def handle(self, *args, **options) -> None:
        count = options["transactions"]
        if count <= 0:
            raise CommandError(_("Give a number of transactions above zero."))
        if not 1 <= options["years"] <= 20:
            raise CommandError(_("Give between 1 and 20 years."))
        with tqdm(total=count, unit=" transactions", unit_scale=True, disable=None) as bar:
            try:
                generate_history(
                    count,
                    years=options["years"],
                    seed=options["seed"],
                    progress=bar.update,
                    surveys=not options["no_surveys"],
                    skip=options["skip"],
                    options=options,
                )
            except NothingToGenerate as error:
                raise CommandError(str(error)) from None
        self.stdout.write(_("%(count)s transactions written; rollups rebuilt.") % {"count": count})
