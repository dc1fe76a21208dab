"""The preview before submitting: per agency, exactly which data goes where, and on what terms.

For each leg the person keeps, the unified answers are mapped to the leg's own form, checked
against it, and shown as that agency will receive them, question by question, beside the
consent text of the leg. Nothing here writes: the same computation runs again, in one
transaction, when the person submits (`submission.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from joinedup import kept
from joinedup.delivery import formdefs as forms
from joinedup.delivery.models import ServiceVersion
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service
from joinedup.federation.routing import RoutingError, remember_routes, route_for
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing.models import DataCategory

from . import definitions, mapping, screening
from .models import Bundle


@dataclass
class LegPreview:
    """One leg as the person sees it before submitting."""

    key: str
    leg: dict
    service: Service
    version: ServiceVersion
    data: dict[str, Any]
    rows: list[tuple[str, str]]
    errors: list[forms.FieldError]
    agency: Agency | None
    place: Jurisdiction | None
    required: bool
    consent_text: str
    categories: list[str]
    route_problem: str = ""
    offering: Offering | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.agency is not None


@dataclass
class AgencyPreview:
    agency: Agency
    legs: list[LegPreview] = field(default_factory=list)

    @property
    def jurisdiction(self) -> Jurisdiction | None:
        return self.agency.jurisdiction


@dataclass
class Preview:
    plans: list[screening.LegPlan]
    legs: list[LegPreview]
    dropped: list[screening.LegPlan]
    place: Jurisdiction | None
    #: The data categories known to the database (read for their names): the consents'
    #: check of their categories asks these instead of reading them again.
    categories: set[str] = field(default_factory=set)

    @property
    def agencies(self) -> list[AgencyPreview]:
        grouped: dict[int, AgencyPreview] = {}
        for leg in self.legs:
            if leg.agency is None:
                continue
            grouped.setdefault(leg.agency.pk, AgencyPreview(leg.agency)).legs.append(leg)
        return list(grouped.values())

    @property
    def errors(self) -> list[tuple[LegPreview, forms.FieldError]]:
        return [(leg, error) for leg in self.legs for error in leg.errors]

    @property
    def jurisdictions(self) -> set[str]:
        return {
            leg.agency.jurisdiction.code
            for leg in self.legs
            if leg.agency is not None and leg.agency.jurisdiction_id
        }


def category_names(keys: Iterable[str], known: Mapping[str, str] | None = None) -> list[str]:
    keys = list(keys)
    names = known if known is not None else _category_names(keys)
    return [str(names.get(key, key)) for key in keys]


#: Every data category, kept per process (`joinedup.kept`): each preview and acceptance
#: names them; the names are picked in the language of each request from the rows kept.
CATEGORIES = kept.Kept("preview.categories", (DataCategory,))


def _category_names(keys: Iterable[str] | None = None) -> dict[str, str]:
    every = CATEGORIES.get("all", lambda: tuple(DataCategory.objects.all()))
    wanted = None if keys is None else set(keys)
    return {c.key: c.name for c in every if wanted is None or c.key in wanted}


def leg_errors(
    bundle: Bundle, leg: Mapping[str, Any], service: Service, errors: list[forms.FieldError]
) -> list[forms.FieldError]:
    """A leg's form errors said in the unified form's words (the question the person saw)."""
    unified = bundle.definition["form"]
    said = []
    for error in errors:
        top = error.path.split(".")[0]
        sources = mapping.sources_of(leg["mapping"], top)
        if error.code == "required" and sources:
            message = _("%(service)s needs “%(question)s”.") % {
                "service": service.name,
                "question": forms.label_of(unified, sources[0]),
            }
            path = sources[0]
        else:
            message = f"{service.name}: {error.message}"
            path = sources[0] if sources else error.path
        said.append(forms.FieldError(path, message, error.code))
    return said


def build(
    context: ActingContext,
    subject: Person,
    bundle: Bundle,
    screening_answers: Mapping[str, Any],
    answers: Mapping[str, Any],
    dropped: Iterable[str] = (),
    *,
    plans: list[screening.LegPlan] | None = None,
    summaries: bool = True,
) -> Preview:
    """The legs kept, each with its data, its agency and its errors; and those dropped.
    `summaries=False`: without each leg's answers in words (`rows`), which a page shows and
    the acceptance's checks do not need."""
    dropped = set(dropped)
    plans = (
        plans if plans is not None else screening.plan(bundle, context, subject, screening_answers)
    )
    place = screening.place_for(bundle, subject, screening_answers)
    address = subject.current_address()
    home = address.jurisdiction if address is not None else None
    names = _category_names()
    data_source = mapping.source(answers, screening_answers, screening.place_facts(place))
    legs: list[LegPreview] = []
    left_out: list[screening.LegPlan] = []
    kept = []
    # The places the legs name (a birth's place is often where the parents live): each
    # read once, and not at all when it is the bundle's place or the person's home.
    places = {j.code: j for j in (place, home) if j is not None}
    for plan in plans:
        if not plan.included:
            continue
        if plan.key in dropped and not plan.required:
            left_out.append(plan)
            continue
        raw = mapping.apply(plan.leg["mapping"], data_source)
        cleaned, errors = forms.validate(plan.version.form, raw)
        where = screening.leg_place(plan.version, subject, cleaned, place, home, places)
        kept.append((plan, cleaned, errors, where))
    # Every leg routed in one query (inside the caller's `routing.remembered()`).
    remember_routes((plan.service, where) for plan, _c, _e, where in kept if where is not None)
    for plan, cleaned, errors, where in kept:
        agency, offering, problem = None, None, ""
        if where is not None:
            try:
                offering = route_for(plan.service, where, explain=False).offering
                agency = offering.agency
            except RoutingError as error:
                problem = error.message
        else:
            problem = _("We need to know where you live to send this to the right agency.")
        consent = plan.leg["consent"]
        legs.append(
            LegPreview(
                key=plan.key,
                leg=plan.leg,
                service=plan.service,
                version=plan.version,
                data=cleaned,
                rows=(
                    [(q, a) for _page, q, a in forms.summary(plan.version.form, cleaned)]
                    if summaries
                    else []
                ),
                errors=leg_errors(bundle, plan.leg, plan.service, errors),
                agency=agency,
                place=where,
                required=plan.required,
                consent_text=pick(consent["text"]),
                categories=category_names(consent["categories"], names),
                route_problem=problem,
                offering=offering,
            )
        )
    return Preview(plans=plans, legs=legs, dropped=left_out, place=place, categories=set(names))


def kept_leg_keys(plans: list[screening.LegPlan], dropped: Iterable[str] = ()) -> list[str]:
    dropped = set(dropped)
    return [p.key for p in plans if p.included and (p.required or p.key not in dropped)]


def unified_errors(
    bundle: Bundle, leg_keys: Iterable[str], answers: Mapping[str, Any]
) -> tuple[dict[str, Any], list[forms.FieldError]]:
    """The unified answers checked against the form cut to the legs kept."""
    return forms.validate(definitions.unified_form(bundle, leg_keys), answers)
