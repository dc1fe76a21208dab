"""Pages about a person's own data: who used it, and the consents they gave; and the
supervisors' break-glass review queue. Thin: they call `ledger`, `consent`, `breakglass`."""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from joinedup.identity import guards, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person, User

from . import breakglass, ledger, presentation
from . import consent as consents
from .models import BreakGlass, ConsentRecord

PAGE_SIZE = 50


def _subject(context: ActingContext) -> Person:
    person = Person.objects.filter(pk=context.subject_id).first()
    if person is None:
        raise Http404
    return person


@guards.requires("sharing.own_records")
def access_log(request: HttpRequest, context: ActingContext) -> HttpResponse:
    page = Paginator(ledger.events_for(context.subject_id), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "sharing/access_log.html",
        {
            "subject": _subject(context),
            "context": context,
            "page": page,
            "entries": presentation.access_entries(page.object_list),
            "section": "my-data",
        },
    )


def _own(context: ActingContext, consent_id: uuid.UUID) -> ConsentRecord:
    return get_object_or_404(
        ConsentRecord.objects.select_related("provider", "subject"),
        pk=consent_id,
        subject_id=context.subject_id,
    )


@guards.requires("sharing.own_records")
def consent_list(request: HttpRequest, context: ActingContext) -> HttpResponse:
    records = (
        ConsentRecord.objects.filter(subject_id=context.subject_id)
        .select_related("provider")
        .prefetch_related("recipients")
    )
    return render(
        request,
        "sharing/consents.html",
        {
            "subject": _subject(context),
            "context": context,
            "consents": presentation.consent_views(records),
            "section": "my-data",
        },
    )


@require_POST
@guards.requires("sharing.consent.withdraw")
def consent_withdraw(request: HttpRequest, context: ActingContext, consent_id) -> HttpResponse:
    consent = _own(context, consent_id)
    policy.require(context, "sharing.consent.withdraw", consent)
    if request.POST.get("confirm") != "yes":
        # One click is too easy to regret: say what withdrawing does, then ask again.
        (view,) = presentation.consent_views([consent])
        return render(
            request,
            "sharing/consent_withdraw.html",
            {
                "consent": view,
                "context": context,
                "section": "my-data",
                "action": reverse("sharing:consent-withdraw", args=[consent.pk]),
                "back": reverse("sharing:consents"),
            },
        )
    user = User.objects.filter(pk=context.user_id).first()
    consents.withdraw_consent(consent, method="online", by_user=user)
    messages.success(request, _("Your consent is withdrawn. No agency receives data under it now."))
    return redirect("sharing:consents")


@guards.requires("sharing.own_records")
def consent_receipt(
    request: HttpRequest, context: ActingContext, consent_id, format: str
) -> HttpResponse:
    if format not in {"json", "pdf"}:
        raise Http404
    consent = _own(context, consent_id)
    if format == "pdf":
        response = HttpResponse(
            consents.receipt_pdf(consent, get_language()), content_type="application/pdf"
        )
    else:
        response = HttpResponse(
            json.dumps(consents.receipt(consent), indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="consent-{consent.pk}.{format}"'
    return response


@guards.requires("sharing.break_glass.review")
def review_queue(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return render(
        request,
        "sharing/review_queue.html",
        {
            "cases": breakglass.review_queue(context),
            "outcomes": BreakGlass.Outcome.choices,
            "section": "staff",
        },
    )


@require_POST
@guards.requires("sharing.break_glass.review")
def review_case(request: HttpRequest, context: ActingContext, case_id: int) -> HttpResponse:
    case = get_object_or_404(BreakGlass.objects.select_related("agency"), pk=case_id)
    try:
        breakglass.review(
            case,
            context,
            outcome=request.POST.get("outcome", ""),
            notes=request.POST.get("notes", ""),
        )
    except PermissionDenied as error:
        return render(request, "identity/forbidden.html", {"reason": str(error)}, status=403)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("sharing:review-queue")
    messages.success(request, _("The case is closed."))
    return redirect("sharing:review-queue")
