"""Creating notifications and sending them, with delivery status and retries.

`notify(...)` records one notification per channel the person can be reached on, once per
triggering event (the outbox event's id dedupes it), and enqueues its sending after the
commit. A failed send is retried with growing delays by the periodic job until
JOINEDUP_NOTIFICATION_MAX_ATTEMPTS, then marked failed; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from joinedup import copying
from joinedup.identity.models import ContactPoint, Person, User

from ..models import Application, Notification
from . import channels, templates

logger = logging.getLogger(__name__)


def addresses(person: Person) -> list[tuple[str, str]]:
    """(channel, address) the person can be reached on: their e-mail, their mobile."""
    found: list[tuple[str, str]] = []
    email = (
        person.contact_points.filter(kind=ContactPoint.Kind.EMAIL).order_by("-preferred").first()
    )
    if email is not None:
        found.append((Notification.Channel.EMAIL, email.value))
    else:
        account = _account(person)
        if account is not None and account.email:
            found.append((Notification.Channel.EMAIL, account.email))
    mobile = (
        person.contact_points.filter(kind=ContactPoint.Kind.MOBILE).order_by("-preferred").first()
    )
    if mobile is not None:
        found.append((Notification.Channel.SMS, mobile.value))
    return found


def _account(person: Person):
    return User.objects.filter(person=person).first()


def notify(
    person: Person,
    event: str,
    dedupe_key: str,
    variables: dict[str, Any],
    application: Application | None = None,
) -> list[Notification]:
    """Record and queue the notifications of one event for one person (idempotent)."""
    language = person.preferred_language or "en"
    version = application.version if application is not None else None
    message = templates.render(version, event, language, variables)
    created = []
    for channel, address in addresses(person):
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    application=application,
                    person=person,
                    event=event,
                    dedupe_key=dedupe_key[:100],
                    channel=channel,
                    recipient=address,
                    language=language,
                    subject=message.subject if channel == Notification.Channel.EMAIL else "",
                    body=message.body if channel == Notification.Channel.EMAIL else _short(message),
                )
        except IntegrityError:
            continue  # already recorded for this event
        transaction.on_commit(lambda pk=notification.pk: send_notification.enqueue(pk))
        created.append(notification)
    return created


def notify_many(
    items: list[tuple[int, str, str, str, dict[str, Any]]],
    *,
    new_keys: bool = False,
    listing: Mapping[str, str] | None = None,
) -> int:
    """Record the notifications of many (person id, the person's language, event, dedupe
    key, variables) at once, as `notify` does one by one (the same channels and addresses,
    idempotent by key): the contact points and accounts read in two queries, the messages
    rendered in one pass per event (`templates.render_many`), the rows written in one COPY
    (`joinedup.copying`). They are sent by the periodic job (`send_due`, every 30 s), not
    one task each. Returns the number of rows given to the insert (those already recorded
    are skipped by it, unless `new_keys` says that no key was ever used — an offer just
    made — when the pass that skips them is left out). `listing` names events whose
    text message is the subject and the lines of one of their variables (a list, as of
    several offers at once: each with its link), not the body's last line."""
    people = {person for person, *_rest in items}
    emails: dict[int, str] = {}
    mobiles: dict[int, str] = {}
    points = (
        copying.among(
            ContactPoint.objects.filter(
                kind__in=[ContactPoint.Kind.EMAIL, ContactPoint.Kind.MOBILE]
            ),
            "person",
            people,
        )
        .order_by("person_id", "-preferred", "pk")
        .values_list("person_id", "kind", "value")
    )
    for person_id, kind, value in points:
        (emails if kind == ContactPoint.Kind.EMAIL else mobiles).setdefault(person_id, value)
    accounts: dict[int, str] = {}
    for person_id, email in (
        copying.among(User.objects.all(), "person", people)
        .order_by("pk")
        .values_list("person_id", "email")
    ):
        if email:
            accounts.setdefault(person_id, email)
    by_event: dict[str, list[int]] = {}
    for index, (_person, _language, event, _key, _variables) in enumerate(items):
        by_event.setdefault(event, []).append(index)
    messages: list[templates.Message | None] = [None] * len(items)
    for event, indexes in by_event.items():
        rendered = templates.render_many(
            None,
            event,
            ((items[i][1] or "en", items[i][4]) for i in indexes),
        )
        for index, message in zip(indexes, rendered, strict=True):
            messages[index] = message
    now = timezone.now()
    rows = []
    listing = listing or {}
    for (person, language, event, dedupe_key, variables), message in zip(
        items, messages, strict=True
    ):
        language = language or "en"
        email = emails.get(person) or accounts.get(person)
        if email:
            rows.append(
                (
                    person,
                    event,
                    dedupe_key[:100],
                    Notification.Channel.EMAIL.value,
                    email,
                    language,
                    message.subject,
                    message.body,
                    now,
                    now,
                )
            )
        if person in mobiles:
            rows.append(
                (
                    person,
                    event,
                    dedupe_key[:100],
                    Notification.Channel.SMS.value,
                    mobiles[person],
                    language,
                    "",
                    _short(message, variables.get(listing[event], ""))
                    if event in listing
                    else _short(message),
                    now,
                    now,
                )
            )
    copying.write(
        Notification,
        [*_COLUMNS, "status", "attempts", "last_error", "provider_id"],
        [(*row, Notification.Status.QUEUED.value, 0, "", "") for row in rows],
        ignore_conflicts=not new_keys,
    )
    return len(rows)


#: What `notify_many` writes of each notification (the rest are the model's defaults).
_COLUMNS = (
    "person_id",
    "event",
    "dedupe_key",
    "channel",
    "recipient",
    "language",
    "subject",
    "body",
    "next_attempt_at",
    "created_at",
)


def _short(message: templates.Message, listed: str | None = None) -> str:
    """A text message: the subject and the last line (the link); or, given a list (one
    line per item, as of several offers with their links), the subject and its lines."""
    if listed is not None:
        items = " ".join(line for line in listed.splitlines() if line.strip())
        return f"{message.subject} {items}".strip()[:480]
    lines = [line for line in message.body.splitlines() if line.strip()]
    return f"{message.subject} {lines[-1] if lines else ''}".strip()[:480]


def backoff(attempts: int) -> timedelta:
    return timedelta(
        seconds=min(3600, settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    )


def send(notification_id: int) -> str:
    """One attempt to send a queued notification; returns its status afterwards."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status != Notification.Status.QUEUED:
            return notification.status
        notification.attempts += 1
        try:
            if notification.channel == Notification.Channel.EMAIL:
                notification.provider_id = channels.send_email(
                    notification.recipient,
                    notification.subject,
                    notification.body,
                    notification.language,
                )
                notification.status = Notification.Status.SENT
            else:
                provider_id, status = channels.sms_provider().send(
                    notification.recipient, notification.body
                )
                notification.provider_id = provider_id
                notification.status = (
                    Notification.Status.DELIVERED
                    if status == "delivered"
                    else Notification.Status.SENT
                )
                if status == "delivered":
                    notification.delivered_at = timezone.now()
            notification.sent_at = timezone.now()
            notification.last_error = ""
        except channels.SendError as error:
            notification.last_error = str(error)[:1000]
            if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                notification.status = Notification.Status.FAILED
                logger.warning("notification %s failed for good: %s", notification.pk, error)
            else:
                notification.next_attempt_at = timezone.now() + backoff(notification.attempts)
        notification.save()
        return notification.status


def delivery_report(provider_id: str, status: str) -> Notification | None:
    """A gateway's delivery report: delivered or failed."""
    notification = Notification.objects.filter(provider_id=provider_id).first()
    if notification is None:
        return None
    if status == "delivered":
        notification.status = Notification.Status.DELIVERED
        notification.delivered_at = timezone.now()
    elif status == "failed":
        notification.status = Notification.Status.FAILED
    notification.save(update_fields=["status", "delivered_at"])
    return notification


def send_due(limit: int = 200) -> int:
    """Send (or retry) every queued notification whose attempt is due."""
    due = list(
        Notification.objects.filter(
            status=Notification.Status.QUEUED, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        send(pk)
    return len(due)


@task()
def send_notification(notification_id: int) -> str:
    return send(notification_id)
