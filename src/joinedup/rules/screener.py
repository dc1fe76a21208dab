"""The benefits screener: "What could I get?" from a few answers (where the household lives,
how many adults, the children's ages, last year's family income), computed with the rule
packages of every level at that place.

The answers become an OpenFisca situation (`situation_of`) and every benefit there is
computed for the month (`screen`), with the estimated amount per month and per year, why
(the parameters that set it, in plain words) and the catalogue's service to apply for it.
Nothing is stored: the page works for anonymous visitors.

A signed-in person starts from what the platform already holds (`known_answers`): where
they live, their partner, their children's ages. Their own record is read through the data
gate (their own data: no ledger entry); each child's birth date is read through the gate as
well, so reading it under a mandate lands in the child's access ledger. Income is not held
by the platform: it is always asked.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.localization import pick
from joinedup.federation.models import Jurisdiction, Service
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, Relationship
from joinedup.sharing import gate

from .errors import SituationError
from .explain import Explanation, Line, explain, law_line
from .manifests import discover

PURPOSE = "benefits-screener"
MAX_CHILDREN = 6
MAX_INCOME = Decimal("10000000")


@dataclass
class Answers:
    """What the screener asks, read and checked."""

    place: str = ""
    adults: int = 1
    children: list[int] = field(default_factory=list)
    income: Decimal | None = None
    period: str = ""


@dataclass
class ScreenedBenefit:
    variable: str
    name: str
    level: str
    jurisdiction: str
    per_month: float
    per_year: float
    service_key: str | None
    service_name: str
    #: Whether the catalogue has the service, so that the page can link to it.
    in_catalogue: bool
    why: list[Line]
    sources: list[dict[str, str]]
    illustrative: bool
    #: For the person: what they told us and the law's figures, in their language.
    explanation: Explanation | None = None


@dataclass
class Screening:
    place_name: str
    period: str
    currency: str
    benefits: list[ScreenedBenefit]
    refused: list[str]

    @property
    def total_per_month(self) -> float:
        return round(sum(b.per_month for b in self.benefits), 2)

    @property
    def total_per_year(self) -> float:
        return round(sum(b.per_year for b in self.benefits), 2)


def current_period() -> str:
    return timezone.localdate().strftime("%Y-%m")


def places() -> list[tuple[str, str]]:
    """The places the screener knows rules for: each federation with a rule package, its
    provinces or states, and every place a package is written for (a city), by name."""
    packages = discover().values()
    roots = {p.jurisdiction for p in packages if p.entities}
    own = {p.jurisdiction for p in packages}
    found = Jurisdiction.objects.filter(code__in=roots | own) | Jurisdiction.objects.filter(
        parent__code__in=roots
    )
    return sorted(((j.code, j.name) for j in found), key=lambda item: (item[0][:2], item[1]))


def _number(raw: Any, name: str, errors: dict[str, str], *, low: int, high: int) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        errors[name] = _("Enter a whole number.")
        return None
    if not low <= value <= high:
        errors[name] = _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}
        return None
    return value


def read_answers(data: Any, *, known_places: set[str]) -> tuple[Answers, dict[str, str]]:
    """The screener's answers from a form (a QueryDict or a dict), and what is wrong with
    them, by question."""
    errors: dict[str, str] = {}
    answers = Answers()
    answers.place = str(data.get("place") or "").strip().upper()
    if not answers.place:
        errors["place"] = _("Choose where you live.")
    elif answers.place not in known_places:
        errors["place"] = _("Choose a place from the list.")
    adults = _number(data.get("adults"), "adults", errors, low=1, high=2)
    answers.adults = adults or 1
    for index in range(1, MAX_CHILDREN + 1):
        age = _number(data.get(f"child_{index}"), f"child_{index}", errors, low=0, high=25)
        if age is not None:
            answers.children.append(age)
    raw_income = str(data.get("income") or "").replace(",", "").replace(" ", "").strip()
    if not raw_income:
        errors["income"] = _("Enter your family's income for last year (0 if none).")
    else:
        try:
            answers.income = Decimal(raw_income)
        except InvalidOperation:
            errors["income"] = _("Enter an amount in numbers, like 45000.")
        else:
            if not Decimal(0) <= answers.income <= MAX_INCOME:
                errors["income"] = _("Enter an amount from 0 to 10,000,000.")
                answers.income = None
    period = str(data.get("period") or "").strip() or current_period()
    try:
        datetime.date.fromisoformat(period + "-01")
    except ValueError:
        errors["period"] = _("Give the month as YYYY-MM.")
        period = current_period()
    answers.period = period
    return answers, errors


def situation_of(answers: Answers, income_variable: str) -> dict[str, Any]:
    """The answers as OpenFisca's situation: one family, its adults and children, their ages
    at the month, and the family's income for each year a benefit may read (the benefit
    year of the month, the year before and this one)."""
    year = int(answers.period[:4])
    persons: dict[str, Any] = {}
    for index in range(answers.adults):
        persons[f"adult_{index + 1}"] = {"age": {answers.period: 35}}
    for index, age in enumerate(answers.children):
        persons[f"child_{index + 1}"] = {"age": {answers.period: age}}
    income = float(answers.income or 0)
    return {
        "persons": persons,
        "families": {
            "family": {
                "parents": [f"adult_{i + 1}" for i in range(answers.adults)],
                "children": [f"child_{i + 1}" for i in range(len(answers.children))],
                income_variable: {str(y): income for y in (year - 2, year - 1, year)},
            }
        },
    }


def currency_at(codes: list[str]) -> str:
    """The currency of the place (the lowest level of the path that names one)."""
    return _currency(codes)


def _currency(codes: list[str]) -> str:
    found = dict(Jurisdiction.objects.filter(code__in=codes).values_list("code", "currency"))
    for code in reversed(codes):
        if found.get(code):
            return found[code]
    return ""


def _why(calculation, key: str, currency: str, language: str) -> list[Line]:
    """The full trace for staff: each amount, threshold or rate of the law the amount read,
    described in the reader's language (the parameter file's `description`, or its
    `metadata.description_fr` in French), with its value and the date it took effect; the
    page says the value by locale (`rules/includes/value.html`)."""
    lines: list[Line] = []
    seen: set[str] = set()
    pending = [key]
    while pending:
        step_key = pending.pop(0)
        if step_key in seen or step_key not in calculation.trace:
            continue
        seen.add(step_key)
        step = calculation.trace[step_key]
        lines.extend(
            law_line(parameter, currency, language) for parameter in step.get("parameters") or []
        )
        pending.extend(step.get("depends_on") or [])
    return lines


def screen(answers: Answers, language: str = "en") -> Screening:
    """Every benefit of every level at the place for the household, for the month.

    Raises SituationError (unknown place, or a situation the rules cannot compute)."""
    # OpenFisca loads on the first computation, never when the web process starts.
    from .calculate import calculate
    from .places import jurisdictions_at

    codes = jurisdictions_at(answers.place)
    packages = discover()
    root = next((p for p in packages.values() if p.entities and p.jurisdiction == codes[0]), None)
    if root is None or not root.family_income:
        raise SituationError(_("There are no rules for this place yet."))
    result = calculate(
        situation_of(answers, root.family_income),
        jurisdictions=codes,
        period=answers.period,
        language=language,
    )
    services = {
        s.key: s
        for s in Service.objects.filter(key__in=[b.service for b in result.benefits if b.service])
    }
    levels = dict(Jurisdiction.objects.filter(code__in=codes).values_list("code", "level"))
    names = {
        code: pick(names, language)
        for code, names in Jurisdiction.objects.filter(code__in=codes).values_list("code", "names")
    }
    level_names = dict(Jurisdiction.Level.choices)
    currency = _currency(codes)
    benefits = []
    for benefit in result.benefits:
        if benefit.per_month <= 0:
            continue
        service = services.get(benefit.service or "")
        benefits.append(
            ScreenedBenefit(
                variable=benefit.variable,
                name=benefit.name,
                level=str(level_names.get(levels.get(benefit.jurisdiction), "")),
                jurisdiction=names.get(benefit.jurisdiction, benefit.jurisdiction),
                per_month=benefit.per_month,
                per_year=benefit.per_year,
                service_key=benefit.service,
                service_name=pick(service.names, language) if service is not None else "",
                in_catalogue=service is not None,
                why=_why(result, benefit.trace, currency, language),
                sources=benefit.sources,
                illustrative=any(p.illustrative for p in result.packages),
                explanation=explain(
                    result.trace,
                    benefit.trace,
                    result.situation,
                    root.family_income,
                    currency,
                    language,
                    benefit.id if benefit.entity == "families" else None,
                ),
            )
        )
    return Screening(
        place_name=names.get(codes[-1], codes[-1]),
        period=answers.period,
        currency=currency,
        benefits=benefits,
        refused=list(result.refused),
    )


def _age_on(birth: datetime.date, day: datetime.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def known_answers(context: ActingContext, period: str) -> dict[str, Any]:
    """The screener's answers the platform already holds for the person acted for: where
    they live, whether a partner lives with them, their children's ages. Read through the
    data gate; what it refuses is simply asked."""
    if context.is_anonymous or context.subject_id is None:
        return {}
    subject = Person.objects.filter(pk=context.subject_id).first()
    if subject is None:
        return {}
    try:
        own = gate.disclose(context, subject, ["address", "relationships"], PURPOSE).fields
    except gate.DisclosureRefused:
        return {}
    known: dict[str, Any] = {}
    address = own.get("address") or {}
    if address.get("jurisdiction"):
        known["place"] = address["jurisdiction"]
    relationships = own.get("relationships") or []
    if any(r["kind"] == Relationship.Kind.SPOUSE_OF for r in relationships):
        known["adults"] = 2
    day = datetime.date.fromisoformat(period + "-01")
    children = [
        r["person_id"]
        for r in relationships
        if r["kind"] in (Relationship.Kind.PARENT_OF, Relationship.Kind.GUARDIAN_OF)
    ]
    ages = []
    for child in Person.objects.filter(pk__in=children).order_by("birth_date", "pk"):
        try:
            born = gate.disclose(context, child, ["birth_date"], PURPOSE).fields.get("birth_date")
        except gate.DisclosureRefused:
            continue
        if born:
            age = _age_on(datetime.date.fromisoformat(born), day)
            if 0 <= age < 18:
                ages.append(age)
    for index, age in enumerate(ages[:MAX_CHILDREN]):
        known[f"child_{index + 1}"] = age
    return known
