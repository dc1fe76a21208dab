"""`joinedup serve`: run the production web server (gunicorn) in the foreground."""

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from joinedup.web.server import (
    DEFAULT_BIND,
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    ServerOptions,
    gunicorn_command,
    static_files_missing,
)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Run the web server (gunicorn) on joinedup.wsgi:application. "
        "Other gunicorn settings can be given in GUNICORN_CMD_ARGS."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default=DEFAULT_BIND, help=f"address:port to listen on ({DEFAULT_BIND})"
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=DEFAULT_WORKERS,
            help=f"worker processes, about one per core ({DEFAULT_WORKERS})",
        )
        parser.add_argument(
            "--threads",
            type=_positive,
            default=DEFAULT_THREADS,
            help=f"threads per worker process ({DEFAULT_THREADS})",
        )
        parser.add_argument(
            "--access-log", action="store_true", help="log every request to standard output"
        )

    def handle(
        self,
        *args,
        bind: str,
        workers: int,
        threads: int,
        access_log: bool,
        **options,
    ) -> None:
        if static_files_missing():
            self.stderr.write(
                self.style.WARNING(
                    "Static files have not been collected: run `joinedup collectstatic` first, "
                    "or pages will fail to load their styles."
                )
            )
        command = gunicorn_command(
            ServerOptions(bind=bind, workers=workers, threads=threads, access_log=access_log)
        )
        self.stdout.flush()
        try:
            # Replace this process, so that signals reach gunicorn directly.
            os.execv(command[0], command)  # noqa: S606 (our own fixed argument list)
        except OSError as error:
            raise CommandError(f"Could not start gunicorn: {error}") from None
