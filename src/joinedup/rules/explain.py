"""The explanation of an amount for the person it is about, in plain words, from the trace:
what they told us that the amount came from (the children's ages, the family's income of a
year) and each amount, threshold or rate of the law it read, with the date it took effect.

Staff see the full trace (`screener._why`, decision support); the person sees this. The
words are the reader's language (English or French: each parameter file gives its
`description` and, in its metadata, `description_fr`); numbers stay numbers, with a unit,
so that the page formats them for the reader (money in the place's currency, a percentage,
years).

A rate that depends on the number of children is a node with one parameter per case
(`one_child`, `two_children`, `three_children`, `four_or_more_children`); the formula reads
them all, so only the one for the family's number of children is shown.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .errors import RulesError
from .manifests import discover
from .places import jurisdictions_at

#: A parameter for a number of children, by the last part of its name.
BY_CHILDREN = {"one_child": 1, "two_children": 2, "three_children": 3, "four_or_more_children": 4}


@dataclass(frozen=True)
class Line:
    """One fact of the explanation: what it is, its value and unit (money, percent, years,
    text) and, for the law, since when it is in force."""

    label: str
    value: Any
    unit: str = "text"
    currency: str = ""
    since: datetime.date | None = None


@dataclass
class Explanation:
    inputs: list[Line] = field(default_factory=list)
    law: list[Line] = field(default_factory=list)


def _steps(trace: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    """The steps an amount was computed from, itself first, each once."""
    seen: list[str] = []
    pending = [key]
    while pending:
        step_key = pending.pop(0)
        if step_key in seen or step_key not in trace:
            continue
        seen.append(step_key)
        pending.extend(trace[step_key].get("depends_on") or [])
    return [(k, trace[k]) for k in seen]


def _children(situation: dict[str, Any], family: str | None) -> list[str]:
    families = situation.get("families") or {}
    chosen = families.get(family) if family else next(iter(families.values()), None)
    return list((chosen or {}).get("children") or [])


def explain(
    trace: dict[str, Any],
    key: str,
    situation: dict[str, Any],
    income_variable: str | None,
    currency: str,
    language: str,
    family: str | None = None,
) -> Explanation:
    """The plain explanation of the amount of the trace's step `key` (one family's)."""
    explanation = Explanation()
    children = _children(situation, family)
    steps = _steps(trace, key)
    for step_key, step in steps:
        if step.get("kind") != "input":
            continue
        name, _sep, period = step_key.partition("<")
        period = period.rstrip(">")
        values = step.get("values") or {}
        if name == "age" and children:
            ages = [values[c] for c in children if c in values]
            if ages:
                explanation.inputs.append(
                    Line(_("The children's ages"), ", ".join(str(a) for a in ages))
                )
        elif name == "birth_date" and children:
            births = [values[c] for c in children if c in values]
            if births:
                explanation.inputs.append(Line(_("The children's birth dates"), ", ".join(births)))
        elif name == income_variable:
            amount = values.get(family) if family else next(iter(values.values()), None)
            if amount is not None:
                explanation.inputs.append(
                    Line(
                        _("The family's income in %(year)s") % {"year": period},
                        amount,
                        "money",
                        currency,
                    )
                )
    count = len(children)
    seen: set[str] = set()
    for _key, step in steps:
        for parameter in step.get("parameters") or []:
            name = parameter.get("name") or ""
            wanted = BY_CHILDREN.get(name.rsplit(".", 1)[-1])
            if name in seen or (wanted is not None and wanted != min(count, 4)):
                continue
            seen.add(name)
            explanation.law.append(law_line(parameter, currency, language))
    return explanation


def law_line(parameter: dict[str, Any], currency: str, language: str) -> Line:
    """One figure of the law as a trace records it, described in the reader's language, with
    its unit (an amount, a rate, years) so that the page says it by locale, and its date."""
    unit = str(parameter.get("unit") or "")
    kind, money = "text", ""
    if unit.startswith("currency-"):
        kind, money = "money", unit.removeprefix("currency-")
    elif unit == "/1":
        kind = "percent"
    elif unit == "year":
        kind = "years"
    descriptions = parameter.get("descriptions") or {}
    since = parameter.get("in_force_since")
    return Line(
        descriptions.get(language) or parameter.get("description") or parameter.get("name") or "",
        parameter.get("value"),
        kind,
        money or currency,
        datetime.date.fromisoformat(since) if since else None,
    )


def for_entitlement(entitlement, currency: str, language: str) -> Explanation | None:
    """The plain explanation of an entitlement a population run stored, recomputed from what
    its trace kept (the place, the children's ages at the month, the parents' incomes), with
    the law of its month; None when the trace lacks them (runs before ages were kept) or the
    rules no longer compute it."""
    # OpenFisca loads on the first computation, never when the web process starts.
    from .calculate import calculate

    trace = entitlement.trace or {}
    ages = trace.get("children_ages")
    members = trace.get("members") or []
    if ages is None or not members or not trace.get("place"):
        return None
    try:
        codes = jurisdictions_at(trace["place"])
    except RulesError:
        return None
    root = next((p for p in discover().values() if p.entities and p.jurisdiction == codes[0]), None)
    if root is None or not root.family_income:
        return None
    parents = [str(p) for p, role in members if role == "parent"]
    incomes = trace.get("incomes") or {}
    years: dict[str, float] = {}
    for person in parents:
        for year, amount in (incomes.get(person) or {}).items():
            years[str(year)] = years.get(str(year), 0.0) + float(amount)
    period = entitlement.period
    persons: dict[str, Any] = {f"parent_{p}": {"age": {period: 40}} for p in parents}
    children = [f"child_{i + 1}" for i, age in enumerate(ages) if age is not None]
    for name, age in zip(children, [a for a in ages if a is not None], strict=True):
        persons[name] = {"age": {period: age}}
    situation = {
        "persons": persons,
        "families": {
            "family": {
                "parents": list(persons)[: len(parents)],
                "children": children,
                root.family_income: years,
            }
        },
    }
    try:
        result = calculate(situation, jurisdictions=codes, period=period, language=language)
    except RulesError:
        return None
    benefit = next((b for b in result.benefits if b.variable == entitlement.benefit), None)
    if benefit is None:
        return None
    return explain(
        result.trace,
        benefit.trace,
        result.situation,
        root.family_income,
        currency,
        language,
        benefit.id if benefit.entity == "families" else None,
    )
