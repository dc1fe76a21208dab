"""Notification channels: e-mail through Django's e-mail backend, text messages through an
SMS provider plugin (a sandbox one ships; a real gateway registers the same way)."""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid

from ..models import SandboxSms


class SendError(Exception):
    """The message could not be handed over (it will be retried)."""


class SmsProvider(ABC):
    key: str = ""

    def check_config(self) -> list[str]:
        return []

    @abstractmethod
    def send(self, to: str, body: str) -> tuple[str, str]:
        """Hand a text message to the gateway; returns (its id, status: sent or delivered)."""


_SMS: dict[str, SmsProvider] = {}


def register_sms(provider: type[SmsProvider]) -> type[SmsProvider]:
    _SMS[provider.key] = provider()
    return provider


def sms_provider() -> SmsProvider:
    load_builtin()
    key = settings.SMS_PROVIDER
    if key not in _SMS:
        raise ImproperlyConfigured(f"unknown SMS provider {key!r}; known: {', '.join(_SMS)}")
    return _SMS[key]


def load_builtin() -> None:
    if "sandbox" not in _SMS:
        register_sms(SandboxSmsProvider)


class SandboxSmsProvider(SmsProvider):
    """Keeps the messages it 'sends' (SandboxSms) and reports them delivered; numbers ending
    in 0000 are unreachable, to exercise retries."""

    key = "sandbox"

    def check_config(self) -> list[str]:
        return (
            ["the sandbox SMS provider sends nothing: do not use it in production"]
            if settings.SECURE
            else []
        )

    def send(self, to: str, body: str) -> tuple[str, str]:
        digits = "".join(ch for ch in to if ch.isdigit())
        if len(digits) < 7:
            raise SendError(f"{to!r} is not a phone number")
        if digits.endswith("0000"):
            raise SendError("the number is unreachable")
        message = SandboxSms.objects.create(
            id="sms_" + secrets.token_hex(10), to=to, body=body[:1600]
        )
        return message.id, "delivered"


def send_email(to: str, subject: str, body: str, language: str) -> str:
    """Send one e-mail through the configured backend; returns its Message-ID."""
    message_id = make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id, "Content-Language": language},
    )
    try:
        sent = message.send(fail_silently=False)
    except Exception as error:  # SMTP, network: whatever the backend raises, retry later
        raise SendError(f"{type(error).__name__}: {error}") from None
    if not sent:
        raise SendError("the e-mail backend did not send the message")
    return message_id
