"""The benefits screener's page ("What could I get?"): public, stores nothing.

GET shows the questions (prefilled for a signed-in person from what the platform holds);
with answers (`?place=…&income=…`) it answers with every benefit of every level at that
place. A GET form, so the answer can be bookmarked and the back button works.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

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
