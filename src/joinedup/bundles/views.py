"""The citizen portal's pages: life events (list, start, the journey, the status of a
bundle), offers, and "My services". Thin: each asks the policy (declared with the
decorators) and calls `journey`, `offers`, `portal` or `submission`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from joinedup.delivery import clock, queues
from joinedup.delivery import formdefs as forms
from joinedup.federation.localization import pick
from joinedup.federation.models import Service
from joinedup.identity import acting, guards, policy
from joinedup.identity.acting import ActingContext, ActingError
from joinedup.identity.models import User
from joinedup.rules import explain as rules_explain
from joinedup.rules.models import Entitlement
from joinedup.sharing import consent as sharing_consent
from joinedup.sharing import presentation as sharing_presentation
from joinedup.sharing.models import ConsentRecord

from . import crossing, definitions, journey, offers, portal, submission
from .models import Bundle, Offer


def _bundle(key: str) -> Bundle:
    bundle = definitions.get_bundle(key)
    if bundle is None:
        raise Http404(_("There is no such life event."))
    return bundle


# --- Life events -----------------------------------------------------------------------------


@guards.public
def bundle_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return render(
        request,
        "bundles/list.html",
        {"bundles": definitions.active_bundles(), "section": "life-events"},
    )


@guards.public
def bundle_start(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    bundle = _bundle(key)
    return render(
        request,
        "bundles/start.html",
        {
            "bundle": bundle,
            "legs": [offers_leg_row(leg) for leg in bundle.legs],
            "signed_in": not context.is_anonymous,
            "section": "life-events",
        },
    )


def offers_leg_row(leg: dict) -> dict:
    service = Service.objects.filter(key=leg["service"]).first()
    return {
        "key": leg["key"],
        "service": service,
        "why": pick(leg.get("why") or {}),
        "conditional": bool(leg.get("when")),
    }


@require_POST
@guards.requires("bundles.apply")
def bundle_begin(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    draft = journey.start(context, _bundle(key))
    return redirect("bundles:questions", draft.pk)


@require_http_methods(["GET", "POST"])
@guards.requires("bundles.apply")
def questions(request: HttpRequest, context: ActingContext, draft_id) -> HttpResponse:
    draft = journey.load(context, draft_id)
    errors: list[forms.FieldError] = []
    if request.method == "POST":
        errors = journey.save_screening(draft, request.POST)
        if not errors:
            return redirect("bundles:services", draft.pk)
    return render(
        request,
        "bundles/questions.html",
        {"draft": draft, "page": journey.screening_page(draft, errors), "errors": errors},
        status=400 if errors else 200,
    )


@guards.requires("bundles.apply")
def services(request: HttpRequest, context: ActingContext, draft_id) -> HttpResponse:
    draft = journey.load(context, draft_id)
    plans = journey.plans(context, draft)
    definition = journey.form_for(context, draft)
    first = journey.next_page(context, draft, definition, None)
    return render(
        request,
        "bundles/services.html",
        {
            "draft": draft,
            "included": [p for p in plans if p.included],
            "excluded": [p for p in plans if not p.included],
            "agencies": len({p.agency.pk for p in plans if p.included and p.agency}),
            "next_url": _form_url(draft, first),
        },
    )


def _form_url(draft, page: str | None) -> str:
    if page is None:
        return reverse("bundles:check", args=[draft.pk])
    return reverse("bundles:form", args=[draft.pk, page])


@require_http_methods(["GET", "POST"])
@guards.requires("bundles.apply")
def form_page(request: HttpRequest, context: ActingContext, draft_id, page: str) -> HttpResponse:
    draft = journey.load(context, draft_id)
    definition = journey.form_for(context, draft)
    keys = forms.page_keys(definition)
    if page not in keys:
        raise Http404
    errors: list[forms.FieldError] = []
    if request.method == "POST":
        errors = journey.save_page(draft, definition, page, request.POST)
        if not errors and not request.POST.get("add") and not request.POST.get("remove"):
            if request.POST.get("back_to_check"):
                return redirect("bundles:check", draft.pk)
            return redirect(_form_url(draft, journey.next_page(context, draft, definition, page)))
    model = forms.build_page(definition, page, draft.answers, errors)
    place = journey.page_place(context, draft, definition, page)
    model.number, model.count = place.number, place.count
    return render(
        request,
        "bundles/form_page.html",
        {
            "draft": draft,
            "page": model,
            "prefilled": place.prefilled,
            "errors": errors,
            "back_to_check": request.GET.get("check") == "1" or request.POST.get("back_to_check"),
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
@guards.requires("bundles.apply")
def check(request: HttpRequest, context: ActingContext, draft_id) -> HttpResponse:
    draft = journey.load(context, draft_id)
    problem = None
    if request.method == "POST":
        if request.POST.get("drop"):
            journey.drop(draft, request.POST["drop"])
            return redirect("bundles:check", draft.pk)
        if request.POST.get("restore"):
            journey.restore(draft, request.POST["restore"])
            return redirect("bundles:check", draft.pk)
        try:
            made = journey.submit(context, draft, request.POST.getlist("consent"))
        except submission.BundleError as error:
            problem = error
        else:
            messages.success(
                request,
                _("Sent. Each agency has your application; your reference is %(ref)s.")
                % {"ref": made.reference},
            )
            return redirect("bundles:submission", made.pk)
    found = journey.build_preview(context, draft)
    definition = journey.form_for(context, draft)
    return render(
        request,
        "bundles/check.html",
        {
            "draft": draft,
            "preview": found,
            "problem": problem,
            "consented": set(request.POST.getlist("consent")) if problem else set(),
            "unified_rows": [
                (question, answer, journey.page_of_field(definition, name))
                for name, (question, answer) in _unified_rows(definition, draft.answers)
            ],
        },
        status=400 if problem else 200,
    )


def _unified_rows(definition: dict, answers: dict) -> list[tuple[str, tuple[str, str]]]:
    rows = []
    properties = forms.schema_of(definition).get("properties") or {}
    for page in forms.pages_of(definition):
        for name in page.get("fields", []):
            if name in answers and answers[name] not in ("", None, [], {}):
                text = forms._as_text(definition, name, properties[name], answers[name])
                rows.append((name, (forms.label_of(definition, name), text)))
    return rows


@guards.requires("bundles.view", lambda submission_id: portal.load_submission(submission_id))
def submission_status(
    request: HttpRequest, context: ActingContext, found, submission_id
) -> HttpResponse:
    legs = submission.legs_of(found)
    code, label = submission.status_of(legs)
    template = (
        "bundles/includes/legs.html" if request.headers.get("HX-Request") else "bundles/status.html"
    )
    return render(
        request,
        template,
        {
            "submission": found,
            "rows": [
                (leg, clock.state(leg.application), queues.applicant_task(leg.application))
                if leg.application_id
                else (leg, None, None)
                for leg in legs
            ],
            "status": code,
            "status_label": label,
            "starting": any(not leg.application_id and not leg.elsewhere for leg in legs),
            "due_date": submission.due_date_of(legs),
            "agencies": len({leg.agency_id for leg in legs}),
            "jurisdictions": len({leg.agency.jurisdiction_id for leg in legs}),
        },
    )


@require_http_methods(["GET", "POST"])
@guards.requires(
    "bundles.view", lambda submission_id, leg_id: portal.load_submission(submission_id)
)
def leg_answer(
    request: HttpRequest, context: ActingContext, found, submission_id, leg_id
) -> HttpResponse:
    """The person answers, here at home, a request for information that the agency of a leg
    hosted on another government's system made (bundles/crossing.py)."""
    leg = get_object_or_404(
        found.legs.select_related("service", "agency").exclude(elsewhere_node=""), pk=leg_id
    )
    error = ""
    if request.method == "POST":
        policy.require(context, "bundles.apply", found)
        try:
            crossing.answer_question(leg, request.POST.get("answer", ""))
        except crossing.AnswerRefused as refused:
            error = refused.message
        else:
            messages.success(request, _("Your answer is sent. The agency will go on."))
            return redirect("bundles:submission", submission_id=found.pk)
    elif not leg.elsewhere_question:
        raise Http404
    return render(
        request,
        "bundles/leg_answer.html",
        {"submission": found, "leg": leg, "error": error, "answer": request.POST.get("answer", "")},
        status=400 if error else 200,
    )


# --- Offers ----------------------------------------------------------------------------------


def _offer(offer_id, **_kwargs) -> Offer:
    return get_object_or_404(
        Offer.objects.select_related("service", "bundle", "person", "about"), pk=offer_id
    )


@require_http_methods(["GET", "POST"])
@guards.requires("bundles.view", _offer)
def offer_page(
    request: HttpRequest, context: ActingContext, offer: Offer, offer_id
) -> HttpResponse:
    problem = None
    given: dict = {}
    if request.method == "POST" and offer.status == Offer.Status.OPEN:
        if request.POST.get("decline"):
            offers.decline_offer(context, offer)
            messages.info(request, _("The offer is declined. Nothing was sent."))
            return redirect("bundles:my-services")
        try:
            seen = offers.preview_offer(context, offer)
            given = (
                forms.read_page(seen.form, "answers", request.POST, {}) if seen.questions else {}
            )
            application, _created = offers.accept_offer(
                context, offer, given, consent=bool(request.POST.get("consent"))
            )
        except submission.BundleError as error:
            problem = error
        else:
            messages.success(
                request,
                _("Sent to %(agency)s. Your reference is %(ref)s.")
                % {"agency": application.agency.name, "ref": application.reference},
            )
            return redirect("bundles:my-services")
    try:
        seen = offers.preview_offer(context, offer, given)
    except submission.BundleError as error:
        seen, problem = None, problem or error
    page = None
    if seen is not None and seen.questions:
        said = [
            forms.FieldError(e.get("field", ""), e.get("message", ""), e.get("code", ""))
            for e in (problem.errors if problem else [])
            if e.get("field") in seen.questions
        ]
        page = forms.build_page(seen.form, "answers", {**seen.answers, **given}, said)
    return render(
        request,
        "bundles/offer.html",
        {
            "offer": offer,
            "seen": seen,
            "page": page,
            "problem": problem,
            "explanation": _entitlement_explained(offer),
        },
        status=400 if problem else 200,
    )


def _entitlement_explained(offer: Offer):
    """How the rules estimated an offer's amount, in plain words (an offer of an
    entitlement a population run found; its key is `rules:<benefit>:<month>`)."""
    if offer.trigger != Offer.Trigger.ENTITLEMENT_FOUND or not offer.event_id.startswith("rules:"):
        return None
    _prefix, benefit, period = [*offer.event_id.split(":"), "", ""][:3]
    entitlement = Entitlement.objects.filter(
        person_id=offer.person_id, benefit=benefit, period=period
    ).first()
    if entitlement is None:
        return None
    return rules_explain.for_entitlement(entitlement, offer.currency, (get_language() or "en")[:2])


# --- My services -----------------------------------------------------------------------------


@guards.requires("bundles.view")
def my_services(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return render(
        request,
        "bundles/my_services.html",
        {"mine": portal.gather(context), "context": context, "section": "my-services"},
    )


@require_POST
@guards.requires("bundles.view")
def switch_person(request: HttpRequest, context: ActingContext) -> HttpResponse:
    raw = request.POST.get("subject", "")
    if not raw.isdigit():
        messages.error(request, _("Choose a person from the list."))
        return redirect("bundles:my-services")
    try:
        mandate = acting.choose_subject(request.session, context, int(raw))
    except ActingError as error:
        return render(request, "identity/forbidden.html", {"reason": str(error)}, status=403)
    if mandate is None:
        messages.info(request, _("You are acting for yourself."))
    else:
        messages.info(request, _("You are now acting for %(name)s.") % {"name": mandate.subject})
    return redirect("bundles:my-services")


@require_POST
@guards.requires("sharing.consent.withdraw")
def withdraw_consent(request: HttpRequest, context: ActingContext, consent_id) -> HttpResponse:
    consent = get_object_or_404(ConsentRecord, pk=consent_id, subject_id=context.subject_id)
    policy.require(context, "sharing.consent.withdraw", consent)
    if request.POST.get("confirm") != "yes":
        # Ask once more, saying what withdrawing does (the data pages' confirmation).
        (view,) = sharing_presentation.consent_views([consent])
        return render(
            request,
            "sharing/consent_withdraw.html",
            {
                "consent": view,
                "context": context,
                "section": "my-services",
                "action": reverse("bundles:withdraw-consent", args=[consent.pk]),
                "back": reverse("bundles:my-services"),
            },
        )
    user = User.objects.filter(pk=context.user_id).first()
    sharing_consent.withdraw_consent(consent, method="online", by_user=user)
    messages.success(request, _("Your consent is withdrawn. No agency receives data under it now."))
    return redirect("bundles:my-services")
