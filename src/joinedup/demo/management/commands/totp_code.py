"""`joinedup totp-code USERNAME`: the current second-factor code of a demo account.

For the demo only (a visitor has no authenticator app set up for demo staff); refused when
JOINEDUP_SECURE=true, where only the person's own device may produce codes.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current authenticator code of an account (embedded demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        if settings.SECURE:
            raise CommandError("totp-code is refused when JOINEDUP_SECURE=true.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username!r} has no confirmed authenticator.")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
