"""The counter's guided life event: the portal's own journey (bundles/journey.py), driven
by the agent for the person in front of them.

Choose the life event → the first questions → the person's list of services → the unified
form, prefilled → the preview per agency, where the agent reads each consent out to the
person and ticks those given (recorded as given in person, at the counter, by the agent)
→ submit. The visit records the bundle's applications; legs of other agencies need joint
delivery (counter.submit_bundle_for). Thin: every rule lives in the modules called.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from joinedup.bundles import definitions, journey
from joinedup.bundles.models import BundleDraft
from joinedup.bundles.submission import BundleError
from joinedup.delivery import formdefs as delivery_forms
from joinedup.identity import guards
from joinedup.identity.acting import ActingContext
from joinedup.identity.policy import PolicyDenied

from . import counter, forms, interactions
from .colocation import NotCoLocated
from .interactions import InteractionError
from .models import Interaction


def _draft(
    context: ActingContext, visit_id: int, draft_id
) -> tuple[Interaction, ActingContext, BundleDraft]:
    """The visit, the agent's context for the person (assisted) and the agent's open draft
    for this person: anyone else's is not found."""
    found = interactions.mine_or_404(context, visit_id, Interaction.Channel.COUNTER)
    assisted = counter.assisted_context(context, found.person)
    return found, assisted, journey.load(assisted, draft_id)


def _url(name: str, visit: Interaction, draft: BundleDraft, *args) -> str:
    return reverse(f"channels:{name}", args=[visit.pk, draft.pk, *args])


def _form_url(visit: Interaction, draft: BundleDraft, page: str | None) -> str:
    if page is None:
        return _url("bundle-check", visit, draft)
    return _url("bundle-form", visit, draft, page)


@require_http_methods(["GET", "POST"])
@guards.requires("channels.counter")
def bundle(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, Interaction.Channel.COUNTER)
    form = forms.ChooseBundleForm(request.POST or None, bundles=definitions.active_bundles())
    error, status = "", 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            chosen = definitions.get_bundle(form.cleaned_data["bundle"])
            try:
                draft = counter.start_bundle_draft(context, found, chosen)
            except InteractionError as problem:
                error, status = problem.message, 403
            except PolicyDenied as denied:
                error, status = denied.decision.reason, 403
            else:
                return redirect(_url("bundle-questions", found, draft))
    return render(
        request,
        "channels/bundle.html",
        {"form": form, "visit": found, "error": error},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@guards.requires("channels.counter")
def questions(
    request: HttpRequest, context: ActingContext, visit_id: int, draft_id
) -> HttpResponse:
    found, _assisted, draft = _draft(context, visit_id, draft_id)
    errors: list[delivery_forms.FieldError] = []
    if request.method == "POST":
        errors = journey.save_screening(draft, request.POST)
        if not errors:
            return redirect(_url("bundle-legs", found, draft))
    return render(
        request,
        "channels/bundle_page.html",
        {
            "visit": found,
            "draft": draft,
            "page": journey.screening_page(draft, errors),
            "errors": errors,
            "heading": _("First questions"),
            "step": _("Step 1 of 4"),
            "submit": _("Continue"),
        },
        status=400 if errors else 200,
    )


@guards.requires("channels.counter")
def legs(request: HttpRequest, context: ActingContext, visit_id: int, draft_id) -> HttpResponse:
    found, assisted, draft = _draft(context, visit_id, draft_id)
    plans = journey.plans(assisted, draft)
    definition = journey.form_for(assisted, draft)
    first = journey.next_page(assisted, draft, definition, None)
    return render(
        request,
        "channels/bundle_legs.html",
        {
            "visit": found,
            "draft": draft,
            "included": [p for p in plans if p.included],
            "excluded": [p for p in plans if not p.included],
            "next_url": _form_url(found, draft, first),
            "questions_url": _url("bundle-questions", found, draft),
        },
    )


@require_http_methods(["GET", "POST"])
@guards.requires("channels.counter")
def form_page(
    request: HttpRequest, context: ActingContext, visit_id: int, draft_id, page: str
) -> HttpResponse:
    found, assisted, draft = _draft(context, visit_id, draft_id)
    definition = journey.form_for(assisted, draft)
    if page not in delivery_forms.page_keys(definition):
        raise Http404
    errors: list[delivery_forms.FieldError] = []
    if request.method == "POST":
        errors = journey.save_page(draft, definition, page, request.POST)
        if not errors and not request.POST.get("add") and not request.POST.get("remove"):
            return redirect(
                _form_url(found, draft, journey.next_page(assisted, draft, definition, page))
            )
    model = delivery_forms.build_page(definition, page, draft.answers, errors)
    place = journey.page_place(assisted, draft, definition, page)
    model.number, model.count = place.number, place.count
    return render(
        request,
        "channels/bundle_page.html",
        {
            "visit": found,
            "draft": draft,
            "page": model,
            "errors": errors,
            "heading": model.title or draft.bundle.name,
            "step": _("Step 3 of 4: page %(n)s of %(count)s")
            % {"n": model.number, "count": model.count},
            "submit": _("Save and continue"),
            "form_page": True,
            "prefilled": place.prefilled,
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
@guards.requires("channels.counter")
def check(request: HttpRequest, context: ActingContext, visit_id: int, draft_id) -> HttpResponse:
    found, assisted, draft = _draft(context, visit_id, draft_id)
    problem, status = None, 200
    if request.method == "POST":
        if request.POST.get("drop"):
            journey.drop(draft, request.POST["drop"])
            return redirect(_url("bundle-check", found, draft))
        if request.POST.get("restore"):
            journey.restore(draft, request.POST["restore"])
            return redirect(_url("bundle-check", found, draft))
        try:
            made = counter.submit_draft_for(context, found, draft, request.POST.getlist("consent"))
        except BundleError as error:
            problem, status = error, 400
        except (NotCoLocated, InteractionError) as refusal:
            problem, status = BundleError("refused", refusal.message), 403
        except PolicyDenied as denied:
            problem, status = BundleError("refused", str(denied.decision.reason)), 403
        else:
            messages.success(
                request,
                _("The life event is submitted: reference %(reference)s.")
                % {"reference": made.reference},
            )
            return redirect("channels:visit", visit_id=found.pk)
    return render(
        request,
        "channels/bundle_check.html",
        {
            "visit": found,
            "draft": draft,
            "preview": journey.build_preview(assisted, draft),
            "problem": problem,
            "consented": set(request.POST.getlist("consent")) if problem else set(),
            "questions_url": _url("bundle-questions", found, draft),
        },
        status=status,
    )
