"""Template filters that say catalogue facts in the reader's language (see web.presentation)."""

from decimal import Decimal

from django import template

from joinedup import labels
from joinedup.federation.models import Agreement
from joinedup.web import presentation

register = template.Library()


@register.filter
def display(record: object, name: str) -> object:
    """{{ action|display:"status" }}: `action.get_status_display`, translating only the label
    shown (`joinedup.labels`)."""
    return labels.display(record, name)


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    """{{ service.fee_amount|money:service.fee_currency }}"""
    return presentation.format_money(amount, currency or "")


@register.filter
def percent(share: Decimal | None) -> str:
    return presentation.format_percent(share)


@register.filter
def channel_label(value: str) -> str:
    return presentation.channel_label(value)


@register.filter
def opening_hours(hours: dict | None) -> list[tuple[str, str]]:
    return presentation.opening_hours(hours or {})


@register.filter
def name_html(record: object) -> str:
    """{{ service|name_html }}: the name, with lang="…" when it is not in the page's language."""
    return presentation.text_in_its_language(getattr(record, "names", None))


@register.filter
def description_html(record: object) -> str:
    return presentation.text_in_its_language(getattr(record, "descriptions", None))


@register.filter
def agreement_status(agreement: Agreement) -> str:
    """Where an agreement stands today: draft, awaiting signatures, in force, expired…"""
    return str(Agreement.Status(agreement.status).label)


@register.simple_tag
def standard(days: int | None, day_kind: str, target: Decimal | None = None) -> str:
    """{% standard service.standard_days service.standard_day_kind service.standard_target %}"""
    return presentation.format_standard(days, day_kind, target)
