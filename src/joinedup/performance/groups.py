"""Client groups as data: the dimensions a transaction is counted in, how it is placed in each
when it is recorded, and publication of a measure by group with secondary suppression.

A transaction keeps, beside its service and channel, one value per dimension — an age band,
the language it was served in, whether the place is rural or urban, whether someone acted
for the client under a mandate, whether accessibility needs were declared, the size of the
business, whether the person is a newcomer (arrived in the last five years) — derived from
the application and the facts the applicant chose to give on their profile when it is
recorded. Nothing that identifies the
person is kept: a band, never a birth date; a kind of place, never an address. A blank
value means "not known or not applicable" and is a group of its own, so that the groups of
a dimension always add up to the total.

Publication hides any cell resting on fewer than `JOINEDUP_PERFORMANCE_MIN_COUNT` cases
(primary suppression). Because the total of the dimension is published too, one hidden cell
could be recovered by subtracting the others from it; so when a measure has exactly one cell
hidden, the next smallest is hidden as well (secondary, or complementary, suppression).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from joinedup.identity.models import StaffMembership

from .kpis import Figures
from .models import PlaceArea

#: The dimensions, in the order pages offer them, with their names.
DIMENSIONS = {
    "age_band": _("Age band"),
    "language": _("Language of service"),
    "area": _("Rural or urban place"),
    "mandate": _("Served under a mandate"),
    "accessibility": _("Accessibility needs declared"),
    "newcomer": _("Newcomers"),
    "business_size": _("Business size"),
}
UNKNOWN = _("Not known or not applicable")
#: The words for each dimension's values (a language is named by its own catalogue).
VALUES = {
    "age_band": {
        "under_18": _("Under 18"),
        "18_24": _("18 to 24"),
        "25_44": _("25 to 44"),
        "45_64": _("45 to 64"),
        "65_plus": _("65 and over"),
    },
    "language": {"en": _("English"), "fr": _("French")},
    "area": {"urban": _("Urban"), "rural": _("Rural")},
    "mandate": {"self": _("The client themself"), "mandate": _("Someone acting for the client")},
    "accessibility": {"declared": _("Needs declared"), "none": _("None declared")},
    "newcomer": {
        "newcomer": _("Arrived in the last five years"),
        "settled": _("Arrived five years ago or more"),
    },
    "business_size": {
        "micro": _("Micro (1 to 4 employees)"),
        "small": _("Small (5 to 99)"),
        "medium": _("Medium (100 to 499)"),
        "large": _("Large (500 and more)"),
    },
}
#: Age bands: (lowest age, value), highest first.
AGE_BANDS = ((65, "65_plus"), (45, "45_64"), (25, "25_44"), (18, "18_24"), (0, "under_18"))


def label(dimension: str, value: str) -> str:
    """A group's name in the reader's language."""
    if not value:
        return str(UNKNOWN)
    return str(VALUES.get(dimension, {}).get(value, value))


def order_of(dimension: str, values) -> list[str]:
    """Values in their natural order (youngest first, smallest business first …), those
    without a name after, "not known" last."""
    return sorted(values, key=lambda value: rank(dimension, value))


def rank(dimension: str, value: str) -> tuple:
    """A value's place in its dimension's natural order (a sort key)."""
    known = list(VALUES.get(dimension, {}))
    if not value:
        return (2, 0, "")
    return (0, known.index(value), "") if value in known else (1, 0, value)


def ordered(dimension: str, cells: Sequence[Figures]) -> list[Figures]:
    """Cells keyed by "group", in the dimension's natural order."""
    by_value = {cell.key["group"]: cell for cell in cells}
    return [by_value[value] for value in order_of(dimension, by_value)]


def age_band(birth_date: datetime.date | None, on: datetime.date) -> str:
    """The band of the age reached on a day (blank without a birth date)."""
    if birth_date is None:
        return ""
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return next(value for lowest, value in AGE_BANDS if age >= lowest)


#: A newcomer arrived in the country fewer than this many years before the request.
NEWCOMER_YEARS = 5


def newcomer(arrival: datetime.date | None, on: datetime.date) -> str:
    """ "newcomer" when the person arrived in the country less than five years before the
    day, "settled" when earlier, blank without an arrival date (or one after the day)."""
    if arrival is None or arrival > on:
        return ""
    try:
        threshold = on.replace(year=on.year - NEWCOMER_YEARS)
    except ValueError:  # 29 February
        threshold = on.replace(year=on.year - NEWCOMER_YEARS, day=28)
    return "newcomer" if arrival > threshold else "settled"


def place_area_of(place) -> tuple[str, str]:
    """The place area that classifies the place — its own `PlaceArea`, else its nearest
    ancestor's — as (its jurisdiction code, rural or urban); blanks when none does."""
    if place is None:
        return "", ""
    codes = (place.path or place.code).split("/")
    found = dict(
        PlaceArea.objects.filter(jurisdiction__in=codes).values_list("jurisdiction", "area")
    )
    code = next((code for code in reversed(codes) if code in found), "")
    return code, found.get(code, "")


def postal_area(postal_code: str) -> str:
    """The coarse postal area of a postal code: its first three letters and digits, upper
    case (a forward sortation area in Canada, a postcode district in Australia); blank when
    the code is shorter."""
    cleaned = "".join(ch for ch in (postal_code or "") if ch.isalnum()).upper()
    return cleaned[:3] if len(cleaned) >= 3 else ""


def residence(application) -> tuple[str, str]:
    """Where the applicant lives, at the finest level known: (the jurisdiction code of their
    residential address on the day it was received, else of the application's place; the
    postal area of that address). A business's request is placed by the application's place
    only."""
    person = application.applicant
    address = None
    if person is not None and not application.applicant_business_id:
        address = person.current_address(application.submitted_at.date())
    code = ""
    if address is not None and address.jurisdiction_id is not None:
        code = address.jurisdiction.code
    if not code and application.place is not None:
        code = application.place.code
    return code, postal_area(address.postal_code) if address is not None else ""


def area_of(place) -> str:
    """Rural or urban from the place's own classification, else the nearest ancestor's."""
    return place_area_of(place)[1]


def office_of(application) -> str:
    """The office of the staff member who recorded the application, when their membership
    names exactly one office (a counter or a phone centre); blank otherwise."""
    if application.submitted_by_id is None:
        return ""
    keys = list(
        StaffMembership.objects.filter(
            user_id=application.submitted_by_id, agency_id=application.agency_id
        ).values_list("offices__key", flat=True)[:2]
    )
    return keys[0] if len(keys) == 1 and keys[0] else ""


def derive(application) -> dict[str, str]:
    """The office, the place area and the group values of an application's transaction.

    The accessibility needs and the arrival date are those the applicant chose to give on
    their profile, the size the business's representative gave; only the band is kept."""
    person = application.applicant
    business = application.applicant_business if application.applicant_business_id else None
    received = application.submitted_at.date()
    acting = application.acting_person_id
    place_area, area = place_area_of(application.place)
    place, postal = residence(application)
    return {
        "office": office_of(application),
        "place_area": place_area,
        "place": place,
        "postal_area": postal,
        "age_band": age_band(person.birth_date if person else None, received),
        "language": (application.language or "")[:8],
        "area": area,
        "mandate": "mandate" if acting and acting != application.applicant_id else "self",
        "accessibility": person.accessibility_needs if person else "",
        "newcomer": newcomer(person.arrival_date if person else None, received),
        "business_size": business.size if business else "",
    }


#: Each published measure and the count it rests on (the base its suppression reads).
BASES = {
    "started": lambda f: f.started,
    "completions": lambda f: f.completions,
    "completion_rate": lambda f: f.ended,
    "digital_take_up": lambda f: f.completions,
    "within_standard": lambda f: f.with_standard,
    "median_days": lambda f: f.decided,
    "p90_days": lambda f: f.decided,
    "p95_days": lambda f: f.decided,
    "cost_per_transaction": lambda f: f.completions,
    "digital_cost_per_transaction": lambda f: f.digital_completions,
    "satisfaction": lambda f: f.responses,
    "trust": lambda f: f.responses,
    "response_rate": lambda f: f.invited,
    "responses": lambda f: f.responses,
}


#: The shares whose value times their cases gives back a published count: where the count
#: is hidden, the share is hidden too (completion rate × transactions ended = completions).
REVEALS = {"completion_rate": ("completions",)}


def publish_cells(cells: Sequence[Figures], min_count: int | None = None) -> list[dict[str, Any]]:
    """The published record of each group of one dimension, with primary and secondary
    suppression per measure: no measure ever has exactly one cell hidden among cells that
    have cases, so none can be recovered from the published total."""
    minimum = settings.PERFORMANCE_MIN_COUNT if min_count is None else min_count
    records = [cell.published(minimum) for cell in cells]
    hidden_of: dict[str, set[int]] = {}
    for measure, base in BASES.items():
        counts = [base(cell) for cell in cells]
        hidden = {i for i, n in enumerate(counts) if 0 < n < minimum}
        for count in REVEALS.get(measure, ()):
            # A share shown with its cases (the pages show both) gives back its numerator.
            hidden |= hidden_of.get(count, set())
        if len(hidden) == 1:
            shown = sorted((n, i) for i, n in enumerate(counts) if n > 0 and i not in hidden)
            if shown:
                hidden.add(shown[0][1])
        hidden_of[measure] = hidden
        for i in hidden:
            if records[i].get(measure) is not None:
                records[i][measure] = None
                records[i]["suppressed"].append(measure)
    return records


def publish_by_group(
    cells: Sequence[Figures], dimension: str, min_count: int | None = None
) -> list[dict[str, Any]]:
    """Cells keyed by "group" and other keys (a service, a jurisdiction, a month …),
    published with `publish_cells` applied within each combination of the other keys — the
    groups whose sum is that combination's published total — each record naming its group's
    value (`group`) and its name in the reader's language (`group_name`). The records come
    sorted by the other keys, then the groups in their natural order."""
    cells = sorted(
        cells,
        key=lambda cell: (
            tuple(str(v) for k, v in cell.key.items() if k != "group"),
            rank(dimension, cell.key["group"]),
        ),
    )
    partitions: dict[tuple, list[int]] = {}
    for index, cell in enumerate(cells):
        rest = tuple((name, value) for name, value in cell.key.items() if name != "group")
        partitions.setdefault(rest, []).append(index)
    records: list[dict[str, Any]] = [{} for _cell in cells]
    for indexes in partitions.values():
        published = publish_cells([cells[i] for i in indexes], min_count)
        for index, record in zip(indexes, published, strict=True):
            record["group_name"] = label(dimension, cells[index].key["group"])
            records[index] = record
    return records
