"""Places: the registry's jurisdictions and service areas drawn in GeoJSON, and what is counted
in each ("Total Place").

`load_places(paths)` makes a place of every jurisdiction of the registry and reads service
areas (and shapes for jurisdictions) from GeoJSON files: all or nothing, every problem named
with its file and feature. `view(place)` gathers everything counted in one place in a fixed
number of queries, whatever the number of allocations, lines or months.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import math
import re
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup import prepared
from joinedup.bundles.models import Offer
from joinedup.care.models import (
    Assessment,
    AssessmentSet,
    Attribute,
    Domain,
    Referral,
    TaxonomyTerm,
)
from joinedup.care.models import Service as DirectoryService
from joinedup.delivery.models import Application, Draft
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service
from joinedup.performance import groups, kpis
from joinedup.performance.models import GroupRollup, Transaction

from . import fiscal
from .explorer import _cents_sum, money
from .models import Allocation, Expenditure, Pilot, Place, PlaceFigure, SpendingRollup

SLUG = re.compile(r"^[-a-z0-9_]{1,80}$")
SHAPES = {"Polygon", "MultiPolygon"}
POSTAL = re.compile(r"^[A-Za-z0-9]{3}$")


class PlacesRefused(ValueError):
    """A GeoJSON file could not be loaded; the message lists every problem."""


def jurisdiction_key(code: str) -> str:
    return code.lower()


def _check_geometry(geometry: Any) -> str | None:
    if not isinstance(geometry, dict) or geometry.get("type") not in SHAPES:
        return _("the geometry must be a Polygon or a MultiPolygon")
    rings = geometry.get("coordinates")
    polygons = rings if geometry["type"] == "MultiPolygon" else [rings]
    try:
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    return _("each ring needs at least four points and must close on itself")
                for lon, lat in ring:
                    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                        return _("a point lies outside longitude −180..180 or latitude −90..90")
    except (TypeError, ValueError):
        return _("the coordinates are not pairs of numbers")
    return None


@dataclass
class Loaded:
    jurisdictions: int = 0
    areas: int = 0
    shapes: int = 0


def load_places(paths: list[Path]) -> Loaded:
    """A place for every jurisdiction of the registry, then the features of each GeoJSON file:
    `kind: area` makes a service area (`key`, `name_en`, `name_fr`, `jurisdiction` it lies in),
    `kind: jurisdiction` gives a jurisdiction its shape. `population` and `synthetic` are
    optional. Loading twice changes nothing; nothing is written if any feature is refused."""
    jurisdictions = {j.code: j for j in Jurisdiction.objects.all()}
    problems: list[str] = []
    features: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problems.append(
                _("%(file)s: not a readable GeoJSON file (%(error)s).")
                % {"file": Path(path).name, "error": error}
            )
            continue
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            problems.append(_("%(file)s: not a FeatureCollection.") % {"file": Path(path).name})
            continue
        for number, feature in enumerate(document.get("features") or [], start=1):
            where = _("%(file)s, feature %(number)s") % {"file": Path(path).name, "number": number}
            properties = (feature or {}).get("properties") or {}
            kind = properties.get("kind")
            code = properties.get("jurisdiction") or ""
            if kind not in Place.Kind.values:
                problems.append(
                    _("%(where)s: kind must be “area” or “jurisdiction”.") % {"where": where}
                )
                continue
            if code not in jurisdictions:
                problems.append(
                    _("%(where)s: no jurisdiction %(code)s in the registry.")
                    % {"where": where, "code": code or "—"}
                )
                continue
            if error := _check_geometry(feature.get("geometry")):
                problems.append(f"{where}: {error}.")
                continue
            if kind == Place.Kind.AREA:
                key = properties.get("key") or ""
                if not SLUG.match(key) or not properties.get("name_en"):
                    problems.append(
                        _(
                            "%(where)s: a service area needs a key (lower-case letters, digits, "
                            "hyphens) and name_en."
                        )
                        % {"where": where}
                    )
                    continue
                if key.upper() in jurisdictions:
                    problems.append(
                        _("%(where)s: %(key)s is the key of a jurisdiction's place.")
                        % {"where": where, "key": key}
                    )
                    continue
            postal = properties.get("postal_codes")
            if postal is not None and (
                not isinstance(postal, list)
                or not all(isinstance(c, str) and POSTAL.match(c) for c in postal)
            ):
                problems.append(
                    _(
                        "%(where)s: postal_codes must be a list of postal areas (three letters "
                        "or digits, such as M1B)."
                    )
                    % {"where": where}
                )
                continue
            population = properties.get("population")
            if population is not None and (
                isinstance(population, bool) or not isinstance(population, int) or population < 0
            ):
                problems.append(
                    _("%(where)s: population must be a whole number.") % {"where": where}
                )
                continue
            features.append((Path(path).name, properties, feature["geometry"]))
    if problems:
        raise PlacesRefused("\n".join(problems))
    loaded = Loaded()
    with transaction.atomic():
        existing = {p.key: p for p in Place.objects.filter(kind=Place.Kind.JURISDICTION)}
        for code, jurisdiction in jurisdictions.items():
            key = jurisdiction_key(code)
            if key in existing:
                place = existing[key]
                if place.names != jurisdiction.names:
                    place.names = jurisdiction.names
                    place.save(update_fields=["names"])
                continue
            Place.objects.create(
                key=key,
                kind=Place.Kind.JURISDICTION,
                jurisdiction=jurisdiction,
                names=jurisdiction.names,
            )
            loaded.jurisdictions += 1
        for source, properties, geometry in features:
            jurisdiction = jurisdictions[properties["jurisdiction"]]
            if properties["kind"] == Place.Kind.JURISDICTION:
                key = jurisdiction_key(jurisdiction.code)
                defaults = {"shape": geometry, "source": source}
                loaded.shapes += 1
            else:
                key = properties["key"]
                names = {"en": properties["name_en"]}
                if properties.get("name_fr"):
                    names["fr"] = properties["name_fr"]
                defaults = {
                    "kind": Place.Kind.AREA,
                    "jurisdiction": jurisdiction,
                    "names": names,
                    "shape": geometry,
                    "source": source,
                    "synthetic": bool(properties.get("synthetic")),
                    "postal_codes": sorted(
                        {c.upper() for c in properties.get("postal_codes") or []}
                    ),
                }
                loaded.areas += 1
            if properties.get("population") is not None:
                defaults["population"] = properties["population"]
            Place.objects.update_or_create(key=key, defaults=defaults)
    return loaded


# --- Everything in this place --------------------------------------------------------------


@dataclass
class YearMoney:
    fiscal_year: int
    label: str
    allocated: str
    executed: str
    phases: list[tuple[str, str]]
    #: The amounts themselves (allocated, then each phase), for exports.
    raw: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class PlaceView:
    place: Place
    currency: str = ""
    years: list[YearMoney] = field(default_factory=list)
    funders: list[list[str]] = field(default_factory=list)
    #: The same, as figures: (funder's key, fiscal year, amount), for the API.
    funded: list[tuple[str, int, Decimal]] = field(default_factory=list)
    services: list[list[str]] = field(default_factory=list)
    figures: dict[str, list[tuple[Any, float]]] = field(default_factory=dict)
    pilots: list[Pilot] = field(default_factory=list)
    compared_in: list[Pilot] = field(default_factory=list)
    traced: bool = False
    #: The months the service, referral and take-up counts cover (first, last).
    window: tuple[datetime.date, datetime.date] | None = None
    #: Per service: volumes, timeliness, satisfaction and cost per transaction (as text).
    performance: list[list[str]] = field(default_factory=list)
    #: Per receiving organisation: referrals sent, accepted, closed with an outcome.
    referrals: list[list[str]] = field(default_factory=list)
    #: Per benefit's service: offers to people found entitled, acted on, take-up.
    take_up: list[list[str]] = field(default_factory=list)
    #: Per fiscal year: money executed in the place, outcomes, cost per outcome.
    cost_per_outcome: list[list[str]] = field(default_factory=list)
    #: The four tables above as figures, for the API and the data package: one dict per row,
    #: a figure resting on too few cases None (as — on the page).
    performance_counts: list[dict[str, Any]] = field(default_factory=list)
    referral_counts: list[dict[str, Any]] = field(default_factory=list)
    take_up_counts: list[dict[str, Any]] = field(default_factory=list)
    cost_counts: list[dict[str, Any]] = field(default_factory=list)
    #: Per life domain with needs found in the screens: the domain, the people, the kinds of
    #: directory service that meet it, the services within reach, and whether it is a gap.
    gaps: list[list[str]] = field(default_factory=list)
    #: The gaps as figures (domain, people or None when hidden, services within reach), for
    #: the API and the data package.
    gap_counts: list[tuple[str, int | None, int]] = field(default_factory=list)
    #: Whether a figure was left out for resting on too few cases.
    suppressed: bool = False
    #: The first month of the place's fiscal year (a jurisdiction's; January otherwise).
    first_month: int = 1


def _in_place(prefix: str) -> Q:
    """The explorer's rule: the allocation's place, or else its recipient's jurisdiction."""
    here = Q(place__path=prefix) | Q(place__path__startswith=prefix + "/")
    theirs = Q(recipient__jurisdiction__path=prefix) | Q(
        recipient__jurisdiction__path__startswith=prefix + "/"
    )
    return here | (Q(place__isnull=True) & theirs)


def _build_entering(a, *, published_only: bool):
    """The allocations into the place (the explorer's rule) entering it from outside: a
    transfer whose source or pool is inside the place was counted when it entered
    (flows.net_total)."""
    chosen = Allocation.objects.filter(_in_place(a.text("prefix")))
    if published_only:
        chosen = chosen.filter(published=True)
    return chosen.exclude(source_id__in=chosen.values("pk")).exclude(
        from_pool_id__in=chosen.filter(into_pool__isnull=False).values("into_pool_id")
    )


def _build_spent(a, *, published_only: bool):
    prefix = a.text("prefix")
    spending = SpendingRollup.objects.filter(
        Q(place_path=prefix) | Q(place_path__startswith=prefix + "/")
    )
    if published_only:
        spending = spending.filter(published=True)
    return (
        spending.values("fiscal_year", "phase")
        .annotate(cents=Sum("cents"))
        .values_list("fiscal_year", "phase", "cents")
        .order_by()
    )


# The place view is read for many places at once (a map, a comparison, an export, the
# benchmark): each of its statements is compiled by the ORM once per database and shape
# (`joinedup.prepared`) and run with the place's values as plain rows.
ALLOCATED = prepared.Statement(
    "places.allocated",
    lambda a, **shape: (
        _build_entering(a, **shape)
        .values("fiscal_year")
        .annotate(cents=_cents_sum())
        .values_list("fiscal_year", "cents")
        .order_by()
    ),
)
FUNDED = prepared.Statement(
    "places.funded",
    lambda a, **shape: (
        _build_entering(a, **shape)
        .values("funder_id", "fiscal_year")
        .annotate(cents=_cents_sum())
        .values_list("funder_id", "fiscal_year", "cents")
        .order_by()
    ),
)
SPENT = prepared.Statement("places.spent", _build_spent)
FUNDERS = prepared.Statement(
    "places.funders",
    lambda a, funders: Agency.objects.filter(pk__in=a.numbers("funders", funders)).values_list(
        "pk", "key", "names"
    ),
)


FISCAL = prepared.Statement(
    "places.fiscal",
    lambda a, codes: Jurisdiction.objects.filter(code__in=a.texts("codes", codes)).values_list(
        "code", "currency", "fiscal_year_first_month"
    ),
)


def _fiscal_terms(jurisdiction: Jurisdiction) -> tuple[str, int]:
    """`Jurisdiction.fiscal_terms` from one compiled read: the currency and first month of
    the fiscal year from the nearest level that sets them."""
    codes = jurisdiction.ancestor_codes
    ancestors = {code: (currency, month) for code, currency, month in FISCAL.rows(codes=codes)}
    ancestors[jurisdiction.code] = (jurisdiction.currency, jurisdiction.fiscal_year_first_month)
    chain = [ancestors[c] for c in reversed(codes) if c in ancestors]
    currency = next((c for c, _m in chain if c), "")
    month = next((m for _c, m in chain if m), 1)
    return currency, month


def view(place: Place, *, published_only: bool = True) -> PlaceView:
    """What is counted in the place: money allocated into it (each transfer once) and spent
    there by fiscal year and phase, who funds it, the services offered there and who delivers
    them, its monthly figures and the pilots it takes part in. A fixed number of queries."""
    result = PlaceView(place=place)
    jurisdiction = place.jurisdiction
    language = get_language()
    if place.kind == Place.Kind.JURISDICTION and jurisdiction is not None:
        result.traced = True
        result.currency, first_month = _fiscal_terms(jurisdiction)
        result.first_month = first_month
        prefix = jurisdiction.path
        money_shape = {"published_only": published_only}
        allocated = {
            year: Decimal(cents or 0) / 100
            for year, cents in ALLOCATED.rows(shape=money_shape, prefix=prefix)
        }
        phases: dict[int, dict[str, Decimal]] = defaultdict(dict)
        for year, phase, cents in SPENT.rows(shape=money_shape, prefix=prefix):
            phases[year][phase] = Decimal(cents or 0) / 100
        for year in sorted(set(allocated) | set(phases), reverse=True):
            here = phases.get(year, {})
            result.years.append(
                YearMoney(
                    fiscal_year=year,
                    label=fiscal.label(year, first_month),
                    allocated=money(allocated.get(year, Decimal(0)), result.currency),
                    executed=money(
                        here.get(Expenditure.Phase.EXECUTED, Decimal(0)), result.currency
                    ),
                    phases=[
                        (label, money(here.get(value, Decimal(0)), result.currency))
                        for value, label in Expenditure.Phase.choices
                    ],
                    raw={
                        "allocated": allocated.get(year, Decimal(0)).quantize(fiscal.CENT),
                        **{
                            value: here.get(value, Decimal(0)).quantize(fiscal.CENT)
                            for value in Expenditure.Phase.values
                        },
                    },
                )
            )
        by_funder = FUNDED.rows(shape=money_shape, prefix=prefix)
        agencies = {
            pk: (key, _name(names, language))
            for pk, key, names in (
                FUNDERS.rows(funders=sorted({row[0] for row in by_funder})) if by_funder else []
            )
        }
        for funder, year, cents in sorted(by_funder, key=lambda r: (-r[1], agencies[r[0]][1])):
            amount = Decimal(cents or 0) / 100
            result.funded.append((agencies[funder][0], year, amount.quantize(fiscal.CENT)))
            result.funders.append(
                [
                    agencies[funder][1],
                    fiscal.label(year, first_month),
                    money(amount, result.currency),
                ]
            )
    if jurisdiction is not None:
        # A service offered for a wider area (the province, the country) is offered here too.
        codes = jurisdiction.ancestor_codes
        result.services = [
            [_name(service, language), _name(agency, language), _name(area, language)]
            for service, agency, area in _rows("offerings", len(codes), codes)
        ]
    if jurisdiction is not None and place.kind == Place.Kind.JURISDICTION:
        _measured(result, jurisdiction)
    elif place.postal_codes:
        _measured_area(result, place)
    if jurisdiction is not None:
        _gaps(result, place, jurisdiction)
    figures = result.figures
    for measure, period, value in _rows("figures", 1, [place.pk]):
        points = figures.get(measure)
        if points is None:
            points = figures[measure] = []
        points.append((_date(period), value))
    # The pilots the place is in, and those it is compared in: one query, whatever there is.
    for pilot in Pilot.objects.raw(_compiled(connection.vendor, "pilots", 1), [place.pk] * 2):
        (result.pilots if pilot.role else result.compared_in).append(pilot)
    return result


# The place view is read for many places at once (a map, a comparison, an export, the
# benchmark): its three plain reads are compiled by the ORM once per database and shape, then
# run with the place's values, so that most of the time goes to the database, not to building
# the same query again. The rows come back as the database gives them (see _name, _date).


@functools.cache
def _compiled(vendor: str, kind: str, size: int) -> str:
    if kind == "offerings":
        query = (
            Offering.objects.filter(area__code__in=[f"code{i}" for i in range(size)])
            .order_by("service__key", "area__path")
            .values_list("service__names", "agency__names", "area__names")
        )
    elif kind == "figures":
        query = (
            PlaceFigure.objects.filter(place_id=0)
            .order_by("measure", "period")
            .values_list("measure", "period", "value")
        )
    else:
        quote = connection.ops.quote_name
        pilot = quote(Pilot._meta.db_table)
        treated = quote(Pilot.treated.through._meta.db_table)
        compared = quote(Pilot.comparison.through._meta.db_table)
        return (
            f"SELECT p.*, 1 AS role FROM {pilot} p JOIN {treated} t ON t.pilot_id = p.id "  # noqa: S608
            "WHERE t.place_id = %s "
            f"UNION ALL SELECT p.*, 0 AS role FROM {pilot} p JOIN {compared} c "
            f"ON c.pilot_id = p.id WHERE c.place_id = %s ORDER BY {quote('key')}"
        )
    sql, _params = query.query.sql_with_params()
    return sql


def _rows(kind: str, size: int, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_compiled(connection.vendor, kind, size), params)
        return cursor.fetchall()


@functools.lru_cache(maxsize=8192)
def _picked(raw: str, language: str | None) -> str:
    return pick(json.loads(raw), language)


def _name(value: Any, language: str | None) -> str:
    """A name in the reader's language from a `names` column as the database gives it: JSON
    text (decoded once per distinct text: the same agencies and areas recur from place to
    place) or an already decoded mapping."""
    return _picked(value, language) if isinstance(value, str) else pick(value, language)


def _date(value: Any) -> datetime.date:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


# --- Services, referrals, take-up and cost per outcome in the place --------------------------

#: The months counted: the twelve up to and including the current one.
WINDOW_MONTHS = 12


def _window(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    last = today.replace(day=1)
    index = last.year * 12 + last.month - 1 - (WINDOW_MONTHS - 1)
    return datetime.date(index // 12, index % 12 + 1, 1), last


def window() -> tuple[datetime.date, datetime.date]:
    """The months a place's service counts cover by default: the twelve up to this one."""
    return _window(timezone.localdate())


def _count(n: int) -> str:
    return number_format(n, 0, use_l10n=True, force_grouping=True)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{number_format(round(value * 100), 0, use_l10n=True)} %"


def _score(value: float | None) -> str:
    return "—" if value is None else number_format(round(value, 1), 1, use_l10n=True)


def _days(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86_400_000_000  # SQLite answers microseconds


#: The measures the place's service table shows (the others are worked out only to tell
#: whether one would be hidden).
SHOWN = frozenset(
    {"completions", "within_standard", "satisfaction", "responses", "cost_per_transaction"}
)


def _service_rows(result: PlaceView, figures: list[kpis.Figures], minimum: int) -> bool:
    """The place's performance table, one row per service (suppressed as published pages
    are); whether a figure was hidden."""
    hidden = False
    keys = sorted({f.key["service_key"] for f in figures})
    language = get_language()
    names = {
        key: _name(raw, language) for key, raw in (SERVICE_NAMES.rows(keys=keys) if keys else [])
    }
    for figure in sorted(figures, key=lambda f: names.get(f.key["service_key"], "")):
        shown = figure.published(minimum, only=SHOWN)
        hidden = hidden or bool(shown["suppressed"])
        cost = shown["cost_per_transaction"]
        if cost is not None and shown["currency"] == kpis.MIXED:
            cost_text = _("several currencies")
        else:
            cost_text = money(None if cost is None else Decimal(str(cost)), shown["currency"] or "")
        result.performance_counts.append(
            {
                "service": figure.key["service_key"],
                "completions": shown["completions"],
                "within_standard": shown["within_standard"],
                "satisfaction": shown["satisfaction"],
                "responses": shown["responses"],
                "cost_per_transaction": cost,
                "currency": "" if shown["currency"] == kpis.MIXED else shown["currency"] or "",
            }
        )
        result.performance.append(
            [
                names.get(figure.key["service_key"]) or _("A service no longer in the catalogue"),
                "—" if shown["completions"] is None else _count(shown["completions"]),
                _share(shown["within_standard"]),
                _score(shown["satisfaction"]),
                "—" if shown["responses"] is None else _count(shown["responses"]),
                cost_text,
            ]
        )
    return hidden


SERVICE_NAMES = prepared.Statement(
    "places.service_names",
    lambda a, keys: Service.objects.filter(key__in=a.texts("keys", keys)).values_list(
        "key", "names"
    ),
)


@dataclass
class Residents:
    """The published figures of the people living in a place over some months, one row per
    finer place their transactions record (a jurisdiction inside it, or a service area's
    postal area), and the total; small cells hidden with secondary suppression."""

    place: Place
    first: datetime.date
    last: datetime.date
    #: "place" (rows are jurisdictions by code) or "postal_area" (rows are postal areas).
    dimension: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)


def residents(place: Place, first: datetime.date, last: datetime.date) -> Residents:
    """The figures of the people living in the place, month `first` to month `last`: for a
    jurisdiction, one row per jurisdiction inside it that transactions recorded as where the
    person lives; for a service area, one row per postal area of it. Published as the
    groups are (`groups.publish_cells`: a measure never has exactly one cell hidden, so none
    can be recovered from the total). A fixed number of queries, whatever the data."""
    if place.kind == Place.Kind.JURISDICTION and place.jurisdiction is not None:
        prefix = place.jurisdiction.path
        inside = Jurisdiction.objects.filter(Q(path=prefix) | Q(path__startswith=prefix + "/"))
        names = {j.code: j.name for j in inside.only("code", "names")}
        dimension, values = "place", sorted(names)
    else:
        names, dimension, values = {}, "postal_area", list(place.postal_codes or [])
    period = kpis.Period("residents", first, last)
    cells = kpis.compute(period, ("group",), dimension=dimension, values=values) if values else []
    result = Residents(place=place, first=first, last=last, dimension=dimension)
    for cell, record in zip(cells, groups.publish_cells(cells), strict=True):
        value = cell.key["group"]
        record["name"] = names.get(value, value)
        result.rows.append(record)
    # The total of every row, summed by the rollups themselves (costs, answers, turnaround).
    totals = kpis.compute(period, (), dimension=dimension, values=values) if values else []
    result.total = (totals[0] if totals else kpis.Figures(key={})).published()
    return result


def _measured_area(result: PlaceView, place: Place) -> None:
    """A service area's services measured by performance, from the transactions of people
    living in its postal areas (money, referrals and take-up are recorded by jurisdiction)."""
    first, last = _window(timezone.localdate())
    result.window = (first, last)
    figures = kpis.compute(
        kpis.Period("place", first, last),
        ("service_key",),
        dimension="postal_area",
        values=place.postal_codes,
    )
    result.suppressed = _service_rows(result, figures, settings.PERFORMANCE_MIN_COUNT)


def _inside(prefix: str) -> Q:
    return Q(path=prefix) | Q(path__startswith=prefix + "/")


def _build_referred(a, *, zone: str):
    Status = Referral.Status
    inside = Jurisdiction.objects.filter(_inside(a.text("prefix")))
    return (
        Referral.objects.filter(
            place__in=inside, sent_at__date__gte=a.day("first"), sent_at__date__lt=a.day("end")
        )
        .values("service__organization__name")
        .annotate(
            sent=Count("pk"),
            accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
            ended=Count("pk", filter=Q(status__in=[Status.CLOSED, Status.DECLINED])),
            closed=Count("pk", filter=Q(status=Status.CLOSED) & ~Q(outcome="")),
            helped=Count("pk", filter=Q(outcome=Referral.Outcome.GOT_HELP)),
            to_accept=Avg(F("accepted_at") - F("sent_at")),
        )
        .values_list(
            "service__organization__name",
            "sent",
            "accepted",
            "ended",
            "closed",
            "helped",
            "to_accept",
        )
        .order_by("service__organization__name")
    )


#: The codes of the jurisdiction of a path and of every one under it.
INSIDE = prepared.Statement(
    "places.inside",
    lambda a: Jurisdiction.objects.filter(_inside(a.text("prefix"))).values_list("code"),
)
TAKE_UP = prepared.Statement(
    "places.take_up",
    lambda a, codes: (
        Offer.objects.filter(
            trigger=Offer.Trigger.ENTITLEMENT_FOUND,
            place__in=a.texts("codes", codes),
            period__gte=a.text("first"),
            period__lte=a.text("last"),
        )
        .values("service__key", "service__names")
        .annotate(
            offers=Count("pk"),
            acted_on=Count("pk", filter=Q(status=Offer.Status.ACCEPTED)),
        )
        .values_list("service__key", "service__names", "offers", "acted_on")
        .order_by("service__key")
    ),
)
#: Referrals of people living in the place, per receiving organisation; the day a referral
#: was sent is read in the current time zone (part of the statement's shape).
REFERRED = prepared.Statement("places.referred", _build_referred)


def _measured(result: PlaceView, jurisdiction: Jurisdiction) -> None:
    """The place's services measured by performance (volumes, timeliness, satisfaction, cost
    per transaction), the referrals of people living there and how they closed, the take-up of
    benefits offered to the people the rules found entitled, and the cost per outcome. Every
    figure resting on fewer cases than the publication minimum is shown as —, as on every
    published page. A fixed number of queries: each table is one grouped query."""
    minimum = settings.PERFORMANCE_MIN_COUNT
    prefix = jurisdiction.path
    codes = [code for (code,) in INSIDE.rows(prefix=prefix)]
    first, last = _window(timezone.localdate())
    result.window = (first, last)
    language = get_language()
    # By where the people live (the transaction's place), not by who delivered the service.
    figures = kpis.compute(
        kpis.Period("place", first, last), ("service_key",), dimension="place", values=codes
    )
    hidden = _service_rows(result, figures, minimum)
    for key, names, offered, acted_on in TAKE_UP.rows(
        codes=codes, first=f"{first:%Y-%m}", last=f"{last:%Y-%m}"
    ):
        rate = acted_on / offered if offered else None
        few = offered < minimum
        hidden = hidden or few
        result.take_up_counts.append(
            {
                "service": key,
                "offered": None if few else offered,
                "acted_on": None if few else acted_on,
                "take_up": None if few else rate,
            }
        )
        result.take_up.append(
            [
                (_name(names, language) if names is not None else "")
                or _("A service no longer in the catalogue"),
                "—" if few else _count(offered),
                "—" if few else _count(acted_on),
                "—" if few else _share(rate),
            ]
        )
    referred = REFERRED.rows(
        shape={"zone": timezone.get_current_timezone_name()},
        prefix=prefix,
        first=first,
        end=_next(last),
    )
    for organization, sent, accepted, ended, closed, helped, to_accept in referred:
        few = sent < minimum
        few_ended = few or ended < minimum
        hidden = hidden or few or few_ended
        days = _days(to_accept)
        result.referral_counts.append(
            {
                "organization": organization,
                "sent": None if few else sent,
                "accepted": None if few else accepted,
                "days_to_accept": None if few or days is None else round(days, 1),
                "closed": None if few_ended else closed / ended,
                "helped": None if few_ended else helped / ended,
            }
        )
        result.referrals.append(
            [
                organization,
                "—" if few else _count(sent),
                "—" if few else _count(accepted),
                "—" if few or days is None else number_format(round(days, 1), 1, use_l10n=True),
                "—" if few_ended else _share(closed / ended),
                "—" if few_ended else _share(helped / ended),
            ]
        )
    if result.traced:
        hidden = _cost_per_outcome(result, codes, minimum) or hidden
    result.suppressed = hidden


#: The kinds of directory service (top-level taxonomy terms, by code) that meet a need of each
#: life domain of the screens. A term's narrower terms count too. A domain no term meets
#: (none today) would be a gap wherever it is found.
MEETS: dict[str, tuple[str, ...]] = {
    Domain.HOUSING: ("housing", "shelter"),
    Domain.INCOME: ("income",),
    Domain.FOOD: ("food",),
    Domain.HEALTH: ("mental-health", "addiction"),
    Domain.SAFETY: ("shelter", "legal"),
    Domain.EMPLOYMENT: ("employment",),
    Domain.EDUCATION: ("employment", "child-care"),
    Domain.LEGAL: ("legal",),
    Domain.SOCIAL: ("seniors", "child-care"),
}

#: A screen's answer at or under this score (1 in crisis, 2 vulnerable) is a need found.
NEED_SCORE = 2


def _screened(a, where: Q | None = None):
    """Assessments taken in the window, with the home address the person lived at on the
    day of the assessment (`where` applies to that same address: one filter, one join)."""
    at_home = Q(
        case__person__addresses__kind="residential",
        case__person__addresses__valid_from__lte=F("taken_on"),
    ) & (
        Q(case__person__addresses__valid_to__isnull=True)
        | Q(case__person__addresses__valid_to__gte=F("taken_on"))
    )
    if where is not None:
        at_home &= where
    return Assessment.objects.filter(
        at_home, taken_on__gte=a.day("first"), taken_on__lt=a.day("end")
    ).order_by()


SCREENED_AREA = prepared.Statement(
    "places.screened_area",
    lambda a: _screened(a).values_list(
        "case__person_id",
        "question_set_id",
        "answers",
        "case__person__addresses__postal_code",
    ),
)


def _build_screened_inside(a):
    prefix = a.text("prefix")
    inside = Q(case__person__addresses__jurisdiction__path=prefix) | Q(
        case__person__addresses__jurisdiction__path__startswith=prefix + "/"
    )
    return _screened(a).filter(inside).values_list("case__person_id", "question_set_id", "answers")


SCREENED_INSIDE = prepared.Statement("places.screened_inside", _build_screened_inside)
QUESTIONS = prepared.Statement(
    "places.questions",
    lambda a, sets: AssessmentSet.objects.filter(pk__in=a.numbers("sets", sets)).values_list(
        "pk", "questions"
    ),
)


def _gaps(result: PlaceView, place: Place, jurisdiction: Jurisdiction) -> None:
    """Needs found in the human-services screens of people living in the place, in the
    window, per life domain, and the directory's active services within reach of the place
    that meet them: a domain with needs and no such service is a gap.

    A person counts once per domain when any assessment taken in the window answered a
    question of that domain at 2 (vulnerable) or 1 (in crisis); they live in the place when
    their home address on the day of the assessment lies in it (a jurisdiction: in it or under
    it; a service area: in one of its postal areas). Only counts leave this function, each
    hidden under the publication minimum. A service is within reach when its service area is
    the place, a place under it or a wider one containing it, or when it has a location in the
    place. Four queries whatever the data."""
    minimum = settings.PERFORMANCE_MIN_COUNT
    first, last = result.window or _window(timezone.localdate())
    prefix = jurisdiction.path
    area = place.kind == Place.Kind.AREA
    if area:
        if not place.postal_codes:
            return
        postal = set(place.postal_codes)
        rows = [
            row[:3]
            for row in SCREENED_AREA.rows(first=first, end=_next(last))
            if groups.postal_area(row[3]) in postal
        ]
    else:
        rows = SCREENED_INSIDE.rows(first=first, end=_next(last), prefix=prefix)
    sets = sorted({row[1] for row in rows})
    domains_of = {
        pk: {q.get("key"): q.get("domain") for q in prepared.as_json(questions) or []}
        for pk, questions in (QUESTIONS.rows(sets=sets) if sets else [])
    }
    rows = [
        (person, question_set, prepared.as_json(answers)) for person, question_set, answers in rows
    ]
    people: dict[str, set[Any]] = defaultdict(set)
    for person, question_set, answers in rows:
        domains = domains_of.get(question_set, {})
        for key, score in (answers or {}).items():
            domain = domains.get(key)
            if domain and isinstance(score, int | float) and score <= NEED_SCORE:
                people[domain].add(person)
    if not people:
        return
    codes = jurisdiction.ancestor_codes
    reach = Q(service_areas__jurisdiction__code__in=codes) | Q(
        service_areas__jurisdiction__path__startswith=prefix + "/"
    )
    if area:
        postal_prefixes = Q()
        for code in place.postal_codes:
            postal_prefixes |= Q(at_locations__location__postal_code__istartswith=code)
        reach |= postal_prefixes
    else:
        reach |= Q(at_locations__location__jurisdiction__path=prefix) | Q(
            at_locations__location__jurisdiction__path__startswith=prefix + "/"
        )
    reaching = DirectoryService.objects.filter(reach, status=DirectoryService.Status.ACTIVE)
    met: dict[str, set[Any]] = defaultdict(set)
    for service, code, broader in (
        Attribute.objects.filter(link_entity="service", link_id__in=reaching.values("id"))
        .filter(taxonomy_term__isnull=False)
        .values_list("link_id", "taxonomy_term__code", "taxonomy_term__parent__code")
        .distinct()
    ):
        for term in (code, broader):
            if term:
                met[term].add(service)
    wanted = {term for domain in people for term in MEETS.get(domain, ())}
    names = {
        code: (name, translations)
        for code, name, translations in TaxonomyTerm.objects.filter(
            code__in=wanted, parent__isnull=True
        ).values_list("code", "name", "translations")
    }
    language = (get_language() or "en").split("-")[0]
    labels = dict(Domain.choices)
    found = []
    for domain, persons in people.items():
        terms = MEETS.get(domain, ())
        services = set().union(*(met.get(term, set()) for term in terms)) if terms else set()
        count = len(persons)
        found.append((bool(services), str(labels.get(domain, domain)), domain, count, services))
    for has_service, label, domain, count, services in sorted(found, key=lambda f: f[:2]):
        few = count < minimum
        result.suppressed = result.suppressed or few
        kinds = [
            (names[term][1] or {}).get(language, {}).get("name") or names[term][0]
            for term in MEETS.get(domain, ())
            if term in names
        ]
        result.gap_counts.append((domain, None if few else count, len(services)))
        result.gaps.append(
            [
                label,
                "—" if few else _count(count),
                ", ".join(kinds) or _("None in the directory"),
                _count(len(services)),
                _("No service within reach") if not has_service else _("No gap"),
            ]
        )


def _next(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


COMPLETED_BY_MONTH = prepared.Statement(
    "places.completed_by_month",
    lambda a, codes: (
        GroupRollup.objects.filter(dimension="place", value__in=a.texts("codes", codes))
        .values("month")
        .annotate(completed=Sum("completed"))
        .values_list("month", "completed")
        .order_by()
    ),
)


def _cost_per_outcome(result: PlaceView, codes: list[str], minimum: int) -> bool:
    """Per fiscal year with money executed in the place: that money ÷ the transactions
    completed there that year (the person got the service; those found not eligible are not
    outcomes). Outcome-counting indicators are kept per program, not per place, so the
    platform's own completions are the place's outcomes. Answers whether one was hidden."""
    first_month = result.first_month
    outcomes: dict[int, int] = defaultdict(int)
    for month, completed in COMPLETED_BY_MONTH.rows(codes=codes) if codes else []:
        outcomes[fiscal.fiscal_year_of(prepared.as_date(month), first_month)] += int(completed or 0)
    hidden = False
    for year in result.years:
        executed = year.raw.get(Expenditure.Phase.EXECUTED, Decimal(0))
        if not executed:
            continue
        count = outcomes.get(year.fiscal_year, 0)
        few = count < minimum
        hidden = hidden or few
        result.cost_counts.append(
            {
                "fiscal_year": year.fiscal_year,
                "executed": executed,
                "outcomes": None if few else count,
                "cost_per_outcome": None if few else (executed / count).quantize(fiscal.CENT),
            }
        )
        result.cost_per_outcome.append(
            [
                year.label,
                year.executed,
                "—" if few else _count(count),
                "—" if few else money(executed / count, result.currency),
            ]
        )
    return hidden


# --- The map -------------------------------------------------------------------------------

#: Five classes from light to dark (USWDS blues), each with the text colour it needs.
CLASSES = ("#e7f2f5", "#99deea", "#00bde3", "#0081a1", "#07648d")


@dataclass
class MapArea:
    place: Place
    path: str
    fill: str
    value: float | None


def months_of(measure: str) -> list[datetime.date]:
    """The months with figures of the measure, the newest first (one query)."""
    return list(
        PlaceFigure.objects.filter(measure=measure)
        .order_by("-period")
        .values_list("period", flat=True)
        .distinct()
    )


def values_at(measure: str, month: datetime.date) -> dict[int, float]:
    """Each place's value of the measure in the month (one query)."""
    return dict(
        PlaceFigure.objects.filter(measure=measure, period=month).values_list("place_id", "value")
    )


def latest_values(measure: str) -> tuple[Any, dict[int, float]]:
    """The month with the most recent figures of the measure, and each place's value then."""
    rows = PlaceFigure.objects.filter(measure=measure)
    last = rows.order_by("-period").values_list("period", flat=True).first()
    if last is None:
        return None, {}
    return last, dict(rows.filter(period=last).values_list("place_id", "value"))


def choropleth(
    shaped: list[Place], values: dict[int, float], width: int = 640
) -> tuple[list[MapArea], int, list[tuple[str, str]]]:
    """SVG paths of the places' shapes (equirectangular, scaled by the cosine of the mean
    latitude), each filled by the class of its value (quintiles); the height, and the legend."""
    polygons: list[tuple[Place, list[list[list[float]]]]] = []
    for place in shaped:
        shape = place.shape or {}
        rings = shape.get("coordinates") or []
        if shape.get("type") == "Polygon":
            polygons.append((place, rings))
        elif shape.get("type") == "MultiPolygon":
            polygons.append((place, [ring for polygon in rings for ring in polygon]))
    points = [pt for _p, rings in polygons for ring in rings for pt in ring]
    if not points:
        return [], 0, []
    lons = [float(p[0]) for p in points]
    lats = [float(p[1]) for p in points]
    scale_x = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * scale_x, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    unit = (width - 20) / span_x
    height = int(span_y * unit) + 20
    known = sorted(v for v in values.values() if v is not None)
    cuts = [known[int(len(known) * q / 5)] for q in range(1, 5)] if known else []
    legend = []
    if known:
        bounds = [known[0], *cuts, known[-1]]
        legend = [
            (CLASSES[i], f"{bounds[i]:.1f} – {bounds[i + 1]:.1f}") for i in range(len(CLASSES))
        ]
    areas = []
    for place, rings in polygons:
        d = " ".join(
            "M "
            + " L ".join(
                f"{10 + (float(x) - min(lons)) * scale_x * unit:.1f},"
                f"{10 + (max(lats) - float(y)) * unit:.1f}"
                for x, y in ring
            )
            + " Z"
            for ring in rings
        )
        value = values.get(place.pk)
        fill = "#dfe1e2"
        if value is not None and cuts:
            fill = CLASSES[sum(1 for c in cuts if value >= c)]
        areas.append(MapArea(place=place, path=d, fill=fill, value=value))
    return areas, height, legend


def neighbourhood(place: Place) -> list[Place]:
    """The shaped places to draw around a place: itself, the places inside it (the
    jurisdictions under it and its service areas), and its neighbours (the places directly
    under the same jurisdiction, or the other service areas of the same one). One query."""
    jurisdiction = place.jurisdiction
    if jurisdiction is None:
        return [place] if place.shape else []
    near = Q(pk=place.pk)
    if place.kind == Place.Kind.JURISDICTION:
        near |= Q(jurisdiction__parent_id=jurisdiction.pk, kind=Place.Kind.JURISDICTION)
        near |= Q(jurisdiction_id=jurisdiction.pk, kind=Place.Kind.AREA)
        if jurisdiction.parent_id is not None:
            near |= Q(jurisdiction__parent_id=jurisdiction.parent_id, kind=Place.Kind.JURISDICTION)
    else:
        near |= Q(jurisdiction_id=jurisdiction.pk)
    return [
        p
        for p in Place.objects.filter(near).select_related("jurisdiction").order_by("key")
        if p.shape
    ]


# --- Export and comparison -----------------------------------------------------------------


#: The data package's tables of figures (PlaceView's `*_counts`), their columns and types.
PERFORMANCE_COLUMNS = [
    "service",
    "completions",
    "within_standard",
    "satisfaction",
    "responses",
    "cost_per_transaction",
    "currency",
]
REFERRAL_COLUMNS = ["organization", "sent", "accepted", "days_to_accept", "closed", "helped"]
TAKE_UP_COLUMNS = ["service", "offered", "acted_on", "take_up"]
COST_COLUMNS = ["fiscal_year", "executed", "outcomes", "cost_per_outcome"]
FIGURE_TYPES = {
    **dict.fromkeys(
        ["completions", "responses", "sent", "accepted", "offered", "acted_on", "outcomes"],
        "integer",
    ),
    **dict.fromkeys(
        [
            "within_standard",
            "satisfaction",
            "cost_per_transaction",
            "days_to_accept",
            "closed",
            "helped",
            "take_up",
            "executed",
            "cost_per_outcome",
        ],
        "number",
    ),
}


def _figure_table(
    columns: list[str], rows: list[dict[str, Any]]
) -> tuple[list[str], list[list[Any]]]:
    """A table of figures for the package: a figure hidden for resting on too few cases is
    an empty cell, never written."""
    return columns, [["" if row[c] is None else row[c] for c in columns] for row in rows]


def data_package(counted: PlaceView) -> bytes:
    """A place's counts as a zipped Frictionless data package: `datapackage.json` with
    `money.csv` (by fiscal year: allocated and each phase), `services.csv`,
    `figures.csv` (measure, month, value), `gaps.csv` (life domain, people with the need,
    services within reach, gap), and the services' figures, referrals, take-up and cost per
    outcome (`performance.csv`, `referrals.csv`, `take_up.csv`, `cost_per_outcome.csv`) — a
    figure too small to publish left empty — to start the redesign conversation."""
    place = counted.place
    tables = {
        "money": (
            ["fiscal_year", "currency", "allocated", *Expenditure.Phase.values],
            [
                [y.fiscal_year, counted.currency, y.raw["allocated"]]
                + [y.raw[phase] for phase in Expenditure.Phase.values]
                for y in counted.years
            ],
        ),
        "services": (["service", "delivered_by", "offered_for"], counted.services),
        "figures": (
            ["measure", "month", "value"],
            [
                [measure, period.strftime("%Y-%m"), value]
                for measure, points in counted.figures.items()
                for period, value in points
            ],
        ),
        "gaps": (
            ["domain", "people", "services_within_reach", "gap"],
            [
                [domain, "" if people is None else people, within_reach, within_reach == 0]
                for domain, people, within_reach in counted.gap_counts
            ],
        ),
        **{
            name: _figure_table(columns, rows)
            for name, columns, rows in (
                ("performance", PERFORMANCE_COLUMNS, counted.performance_counts),
                ("referrals", REFERRAL_COLUMNS, counted.referral_counts),
                ("take_up", TAKE_UP_COLUMNS, counted.take_up_counts),
                ("cost_per_outcome", COST_COLUMNS, counted.cost_counts),
            )
        },
    }
    types = {
        **FIGURE_TYPES,
        "fiscal_year": "integer",
        "people": "integer",
        "services_within_reach": "integer",
        "gap": "boolean",
        "allocated": "number",
        "value": "number",
        **dict.fromkeys(Expenditure.Phase.values, "number"),
    }
    descriptor = {
        "profile": "tabular-data-package",
        "name": f"place-{place.key}",
        "title": place.name,
        "description": (
            "Synthetic place: made for demonstrations and tests." if place.synthetic else ""
        ),
        "resources": [
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "schema": {
                    "fields": [{"name": c, "type": types.get(c, "string")} for c in columns]
                },
            }
            for name, (columns, _rows) in tables.items()
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", json.dumps(descriptor, indent=2, ensure_ascii=False))
        for name, (columns, rows) in tables.items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
            archive.writestr(f"{name}.csv", text.getvalue())
    return buffer.getvalue()


def _latest(points: list[tuple[Any, float]] | None) -> str:
    if not points:
        return "—"
    period, value = points[-1]
    return f"{number_format(round(value, 1), 1, use_l10n=True)} ({period:%Y-%m})"


def comparison_rows(left: PlaceView, right: PlaceView) -> list[list[str]]:
    """Two places side by side: population, money of the latest fiscal year each has,
    services offered, pilots, and the latest value of each measure."""

    def latest_year(view: PlaceView) -> YearMoney | None:
        return view.years[0] if view.years else None

    def show(value: Any) -> str:
        return "—" if value in (None, "") else str(value)

    rows = [
        [
            _("Population"),
            show(left.place.population and number_format(left.place.population, 0, True, True)),
            show(right.place.population and number_format(right.place.population, 0, True, True)),
        ],
    ]
    a, b = latest_year(left), latest_year(right)
    rows.append([_("Latest fiscal year with funding"), show(a and a.label), show(b and b.label)])
    rows.append([_("Allocated that year"), show(a and a.allocated), show(b and b.allocated)])
    rows.append([_("Spent that year"), show(a and a.executed), show(b and b.executed)])
    rows.append([_("Services offered"), str(len(left.services)), str(len(right.services))])
    rows.append(
        [
            _("Pilots taking part in"),
            str(len(left.pilots)),
            str(len(right.pilots)),
        ]
    )
    labels = dict(PlaceFigure.Measure.choices)
    for measure in PlaceFigure.Measure.values:
        ours, theirs = left.figures.get(measure), right.figures.get(measure)
        if not ours and not theirs:
            continue
        rows.append(
            [
                _("%(measure)s, latest month") % {"measure": labels[measure]},
                _latest(ours),
                _latest(theirs),
            ]
        )
    return rows


# --- Figures from the platform's own measures ----------------------------------------------


def figures_from_rollups() -> int:
    """Monthly figures of every place from performance's rollups by where people live:
    completed transactions and the share within the service standard of the people living in
    a jurisdiction (its own residents and those of every jurisdiction under it), or in a
    service area's postal areas. Replaces the non-synthetic figures of those two measures;
    returns how many were written. Two aggregate queries over the rollups."""
    paths = dict(Jurisdiction.objects.values_list("code", "path"))
    by_place_code = dict(
        Place.objects.filter(kind=Place.Kind.JURISDICTION, jurisdiction__isnull=False).values_list(
            "jurisdiction__code", "pk"
        )
    )
    by_postal: dict[str, list[int]] = defaultdict(list)
    for place_id, postal_codes in Place.objects.filter(kind=Place.Kind.AREA).values_list(
        "pk", "postal_codes"
    ):
        for code in postal_codes or []:
            by_postal[code].append(place_id)
    totals: dict[tuple[int, Any], list[int]] = defaultdict(lambda: [0, 0, 0])

    def summed(dimension: str):
        return (
            GroupRollup.objects.filter(dimension=dimension)
            .exclude(value="")
            .values("value", "month")
            .annotate(
                completed=Sum("completed"),
                with_standard=Sum("with_standard"),
                met=Sum("met_standard"),
            )
            .order_by()
        )

    def add(place_id: int, row: dict) -> None:
        cell = totals[(place_id, row["month"])]
        cell[0] += row["completed"] or 0
        cell[1] += row["with_standard"] or 0
        cell[2] += row["met"] or 0

    for row in summed("place"):
        for code in (paths.get(row["value"]) or "").split("/"):
            if (place_id := by_place_code.get(code)) is not None:
                add(place_id, row)
    if by_postal:
        for row in summed("postal_area"):
            for place_id in by_postal.get(row["value"], ()):
                add(place_id, row)
    figures = []
    for (place_id, month), (completed, with_standard, met) in totals.items():
        figures.append(
            PlaceFigure(
                place_id=place_id,
                measure=PlaceFigure.Measure.COMPLETED,
                period=month,
                value=float(completed),
            )
        )
        if with_standard:
            figures.append(
                PlaceFigure(
                    place_id=place_id,
                    measure=PlaceFigure.Measure.WITHIN_STANDARD,
                    period=month,
                    value=met / with_standard * 100,
                )
            )
    measures = [PlaceFigure.Measure.COMPLETED, PlaceFigure.Measure.WITHIN_STANDARD]
    with transaction.atomic():
        PlaceFigure.objects.filter(synthetic=False, measure__in=measures).delete()
        PlaceFigure.objects.bulk_create(figures, batch_size=2000)
    return len(figures)


# --- Placing the transactions recorded before places were -----------------------------------


@dataclass
class Placed:
    #: Transactions given a place (or a postal area) now.
    placed: int = 0
    #: Transactions still without a place: no application or draft to read it from, or no
    #: address and no place on it.
    left: int = 0


def _uuids(idents: dict[str, int]) -> list[uuid.UUID]:
    found = []
    for ident in idents:
        try:
            found.append(uuid.UUID(ident))
        except ValueError:
            continue
    return found


def place_past_transactions(batch: int = 500) -> Placed:
    """Give the transactions recorded before performance migration 0006 (blank `place`) where
    the person lived, read from their application as it is read when one is recorded today
    (`groups.residence`: the applicant's home address on the day it was received, else the
    application's place; its postal area), or, for an abandoned draft, the home address of
    the person on the day they began it. Idempotent: only blank places are read. The rollups
    are not touched here (see the `place-transactions` command)."""
    result = Placed()
    pending = list(
        Transaction.objects.filter(place="")
        .exclude(source__startswith="history:")
        .order_by("pk")
        .values_list("pk", "source")
    )
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        kinds: dict[str, dict[str, int]] = {"application": {}, "draft": {}}
        for pk, source in chunk:
            kind, _sep, ident = source.partition(":")
            if kind in kinds:
                kinds[kind][ident] = pk
        where: dict[int, tuple[str, str]] = {}
        applications = Application.objects.select_related(
            "applicant", "place", "applicant_business"
        ).defer("process_state", "data")
        for application in applications.filter(pk__in=_uuids(kinds["application"])):
            where[kinds["application"][str(application.pk)]] = groups.residence(application)
        for draft in Draft.objects.select_related("applicant").filter(
            pk__in=_uuids(kinds["draft"])
        ):
            address = draft.applicant.current_address(draft.created_at.date())
            if address is not None:
                code = address.jurisdiction.code if address.jurisdiction_id else ""
                where[kinds["draft"][str(draft.pk)]] = (
                    code,
                    groups.postal_area(address.postal_code),
                )
        changed = []
        for pk, (code, postal) in where.items():
            if code or postal:
                changed.append(Transaction(pk=pk, place=code, postal_area=postal))
        Transaction.objects.bulk_update(changed, ["place", "postal_area"])
        result.placed += len(changed)
        result.left += len(chunk) - len(changed)
    return result
