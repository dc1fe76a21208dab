"""How catalogue facts read to a person in their language: money, standards, channels, hours.

The registry stores facts (18.50 CAD, 15 business days, 0.900); a page must say them the way
a reader of English or French in Canada expects ("$18.50" and "18,50 $"). Kept apart from
the templates so the wording is tested once and used everywhere.
"""

from decimal import Decimal

from django.utils.dates import WEEKDAYS
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from joinedup.federation.localization import FALLBACK_LANGUAGE, pick
from joinedup.federation.models import WEEKDAYS as WEEKDAY_KEYS
from joinedup.federation.models import Channel, Service

NBSP = "\u00a0"

# Symbol and where it goes, as written in Canada: English puts the symbol first, French after.
CURRENCY_SYMBOLS = {
    "CAD": "$",
    "USD": "US$",
    "EUR": "€",
    "GBP": "£",
    "CHF": "CHF",
}


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def format_money(amount: Decimal | int | float | None, currency: str = "") -> str:
    """A fee as a reader expects it: "$18.50" in English, "18,50 $" in French; 0 is free."""
    if amount is None:
        return ""
    amount = Decimal(str(amount))
    if amount == 0:
        return _("Free")
    number = number_format(amount, decimal_pos=2, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    if _language() == "fr":
        if currency.upper() == "USD":
            return f"{number}{NBSP}${NBSP}US"
        return f"{number}{NBSP}{symbol}".strip()
    if symbol == currency.upper() and symbol:
        return f"{symbol}{NBSP}{number}"
    return f"{symbol}{number}"


def format_percent(share: Decimal | float | None) -> str:
    """A share (0.9) as a percentage: "90%" in English, "90 %" in French."""
    if share is None:
        return ""
    percent = (Decimal(str(share)) * 100).normalize()
    decimals = max(0, -percent.as_tuple().exponent)
    number = number_format(percent, decimal_pos=decimals)
    return f"{number}{NBSP}%" if _language() == "fr" else f"{number}%"


def format_days(days: int, day_kind: str) -> str:
    """ "15 business days" or "20 calendar days", singular or plural as the number needs."""
    if day_kind == Service.DayKind.CALENDAR:
        return ngettext("%(days)s calendar day", "%(days)s calendar days", days) % {"days": days}
    return ngettext("%(days)s business day", "%(days)s business days", days) % {"days": days}


def format_standard(days: int | None, day_kind: str, target: Decimal | None = None) -> str:
    """The service standard in one phrase: "15 business days, target 90%"."""
    if days is None:
        return _("No service standard is set")
    text = format_days(days, day_kind)
    if target is None:
        return text
    return _("%(days)s, target %(share)s") % {"days": text, "share": format_percent(target)}


def channel_label(value: str) -> str:
    """The name of a channel ("In person" for counter); an unknown value is shown as is."""
    try:
        return str(Channel(value).label)
    except ValueError:
        return value


def opening_hours(hours: dict) -> list[tuple[str, str]]:
    """Opening hours as (weekday name, "08:30–16:00") pairs, open days only, Monday first."""
    lines = []
    for index, day in enumerate(WEEKDAY_KEYS):
        ranges = hours.get(day) or []
        if ranges:
            lines.append((str(WEEKDAYS[index]), ", ".join(f"{a}–{b}" for a, b in ranges)))
    return lines


def picked_language(texts: dict | None) -> str:
    """The language `localization.pick` takes its text from, for the active language."""
    if not texts:
        return ""
    language = _language()
    if texts.get(language):
        return language
    if texts.get(FALLBACK_LANGUAGE):
        return FALLBACK_LANGUAGE
    return next((code for code, text in texts.items() if text), "")


def text_in_its_language(texts: dict | None) -> SafeString:
    """Registry text for the page, marked with its own language when the reader's is missing.

    A French page showing an agreement titled only in English says so (lang="en"), so screen
    readers pronounce it right (WCAG 3.1.2, language of parts).
    """
    text = pick(texts)
    language = picked_language(texts)
    if text and language and language != _language():
        return format_html('<span lang="{}">{}</span>', language, text)
    return conditional_escape(text)
