"""The benefits screener's page ("What could I get?"): public, stores nothing.

GET shows the questions (prefilled for a signed-in person from what the platform holds);
with answers (`?place=…&income=…`) it answers with every benefit of every level at that
place. A GET form, so the answer can be bookmarked and the back button works.

The what-if page, for analysts: the law with some of its figures changed, run on a synthetic
population beside the law in force (`whatif`); it stores nothing either.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup.identity import guards
from joinedup.identity.acting import ActingContext

from . import screener
from .errors import PackageRefused, SituationError


@guards.public
def screener_page(request: HttpRequest, context: ActingContext) -> HttpResponse:
    places = screener.places()
    asked = "place" in request.GET or "income" in request.GET
    known = {} if asked else screener.known_answers(context, screener.current_period())
    values = dict(request.GET.items()) if asked else {k: str(v) for k, v in known.items()}
    errors: dict[str, str] = {}
    result = None
    problem = ""
    status = 200
    if asked:
        answers, errors = screener.read_answers(request.GET, known_places={c for c, _n in places})
        if errors:
            status = 400
        else:
            try:
                result = screener.screen(answers, (get_language() or "en")[:2])
            except SituationError as error:
                problem, status = str(error), 422
            except PackageRefused as error:
                problem, status = str(error), 503
    return render(
        request,
        "rules/screener.html",
        {
            "places": places,
            "values": values,
            "prefilled": sorted(known),
            "children": [
                (i, f"child_{i}", values.get(f"child_{i}", ""))
                for i in range(1, screener.MAX_CHILDREN + 1)
            ],
            "errors": errors,
            "result": result,
            "problem": problem,
            "signed_in": not context.is_anonymous,
            "section": "screener",
        },
        status=status,
    )


#: The form's fields of the law's figures: `figure:<dotted name>`.
FIGURE = "figure:"


@guards.requires("rules.what_if")
def what_if_page(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """What-if for an analyst: pick a place and a month, change figures of the law, and see
    the effect on a synthetic population beside the law in force. A GET form: it stores
    nothing, so the answer can be bookmarked and shared."""
    places = screener.places()
    known = {code for code, _name in places}
    place = request.GET.get("place", "").strip()
    period = request.GET.get("period", "").strip() or screener.current_period()
    families = request.GET.get("families", "").strip() or "10000"
    errors: dict[str, str] = {}
    problem = ""
    figures: list = []
    outcome = None
    currency = ""
    if place and place not in known:
        errors["place"] = _("Choose a place from the list.")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        errors["period"] = _("Enter a month as YYYY-MM, e.g. 2026-07.")
    if place and not errors:
        # Imported here: OpenFisca loads on the first computation, never at web start-up.
        from . import whatif
        from .places import jurisdictions_at

        language = (get_language() or "en")[:2]
        codes = jurisdictions_at(place)
        try:
            figures = whatif.figures(codes, period, language)
            if "run" in request.GET:
                raw = {k[len(FIGURE) :]: v for k, v in request.GET.items() if k.startswith(FIGURE)}
                size = int(families) if families.isdigit() else 0
                changes = whatif.read_changes(raw, figures)
                outcome = whatif.run(codes, period, changes, size, language)
                currency = screener.currency_at(codes)
        except whatif.WhatIfError as error:
            if error.field:
                errors[error.field] = error.message
            else:
                problem = error.message
        except (SituationError, PackageRefused) as error:
            problem = str(error)
    status = 400 if errors or problem else 200
    entered = {k[len(FIGURE) :]: v for k, v in request.GET.items() if k.startswith(FIGURE)}
    anchors = {f.name: f"figure-{index}" for index, f in enumerate(figures, start=1)}
    error_links = [(anchors.get(name) or f"id_{name}", message) for name, message in errors.items()]
    return render(
        request,
        "rules/what_if.html",
        {
            "places": places,
            "place": place,
            "period": period,
            "families": families,
            "sizes": _sizes(),
            "figures": [
                (f, entered.get(f.name, _plain(f.value)), errors.get(f.name, "")) for f in figures
            ],
            "errors": errors,
            "error_links": error_links,
            "problem": problem,
            "outcome": outcome,
            "currency": currency,
        },
        status=status,
    )


def _sizes() -> tuple[int, ...]:
    from .whatif import SIZES

    return SIZES


def _plain(value: float) -> str:
    """A figure as the form shows it: no trailing zeros, a point as decimal separator."""
    return f"{value:.6f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
