"""Filters that say performance figures in the reader's language: shares, scores, money."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .. import measures

register = template.Library()


@register.filter
def share(value: float | None, digits: int = 1) -> str:
    """0.8125 → "81.2 %" (or "81,2 %" in French); "—" when there is no figure."""
    if value is None:
        return "—"
    return f"{number_format(round(value * 100, digits), digits)}\u00a0%"


@register.filter
def score(value: float | None) -> str:
    """A 0–100 score, whole."""
    if value is None:
        return "—"
    return number_format(round(value), 0)


@register.filter
def amount(value: float | None, currency: str = "") -> str:
    """Currency units with two decimals, then the currency code."""
    if value is None:
        return "—"
    text = number_format(value, 2, force_grouping=True)
    return f"{text}\u00a0{currency}" if currency and currency != "mixed" else text


@register.filter
def days(value: int | None) -> str:
    if value is None:
        return "—"
    if value >= measures.OVERFLOW:
        return _("over %(days)s") % {"days": measures.HISTOGRAM_DAYS}
    return str(value)


@register.filter
def figure(value) -> str:
    return "—" if value is None else number_format(value, force_grouping=True)


@register.filter
def get_item(mapping: dict | None, key: str):
    """{{ names|get_item:key }}: a dictionary's value in a template."""
    return (mapping or {}).get(key)
