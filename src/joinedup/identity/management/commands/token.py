"""`joinedup token USERNAME`: print a new personal API token for an account.

The value is printed once and never stored: keep it like a password.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from joinedup.identity import tokens


class Command(BaseCommand):
    help = "Create a personal API token for an account and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            action="append",
            choices=tokens.SCOPES,
            help="read (default) and/or write; repeat for both.",
        )
        parser.add_argument("--days", type=int, default=tokens.DEFAULT_DAYS)
        parser.add_argument("--name", default="")

    def handle(self, *args, username: str, scope, days: int, name: str, **options) -> None:
        user_model = get_user_model()
        user = (
            user_model.objects.filter(username=username).first()
            or user_model.objects.filter(email=username.lower()).first()
        )
        if user is None:
            raise CommandError(f"No account is called {username!r}.")
        try:
            _, value = tokens.create_personal_token(
                user, name=name, scopes=scope or ["read"], days=days
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(value)
