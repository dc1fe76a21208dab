"""`joinedup demo`: set up the demo federations and run the platform on this machine."""

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from joinedup.demo.launch import demo_urls, describe, prepare_demo, run_processes
from joinedup.federation.loader import FederationRejected


class Command(BaseCommand):
    help = (
        "Migrate, collect static files, load the demo federations and create the demo "
        "accounts, then run the web server and the task worker until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (8000)")
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="prepare everything but start no process",
        )

    def handle(self, *args, port: int, no_serve: bool, **options) -> None:
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}")

        def out(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            sign_ins = prepare_demo(out)
        except FederationRejected as rejected:
            for problem in rejected.problems:
                self.stderr.write(str(problem))
            raise CommandError(str(rejected)) from None
        if no_serve:
            out(describe(demo_urls(port), sign_ins, port))
            return
        code = run_processes(port, out, sign_ins)
        if code:
            sys.exit(code)
