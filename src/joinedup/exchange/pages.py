"""The person's pages on their home node: evidence other governments ask about them, with a
preview of exactly what would be sent, and their decision (exchange/evidence.py). Thin: they
ask the policy and call `evidence`."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from joinedup.identity import guards, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.sharing import categories, presentation

from . import evidence
from .models import EvidenceRequest

PAGE_SIZE = 25


def _text(value: Any) -> str:
    """A value of the person's record as a sentence piece (dates in the reader's format)."""
    if value is None or value == "" or value == [] or value == {}:
        return _("Not recorded")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, dict):
        return ", ".join(_text(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    return str(value)


def _own(context: ActingContext, pk: int) -> EvidenceRequest:
    return get_object_or_404(
        EvidenceRequest.objects.select_related("peer"),
        pk=pk,
        direction=EvidenceRequest.Direction.IN,
        subject_id=context.subject_id,
    )


@guards.requires("exchange.evidence.view")
def evidence_requests(request: HttpRequest, context: ActingContext) -> HttpResponse:
    page = Paginator(
        EvidenceRequest.objects.filter(
            direction=EvidenceRequest.Direction.IN, subject_id=context.subject_id
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "exchange/evidence_requests.html",
        {
            "context": context,
            "page": page,
            "requests": evidence.describe(list(page.object_list)),
            "section": "my-data",
        },
    )


def _preview(request, context, asked: EvidenceRequest, status: int = 200) -> HttpResponse:
    person = Person.objects.filter(pk=asked.subject_id).first()
    if person is None:
        raise Http404
    values = evidence.values(asked, person)
    raw = {f: categories.field(f).read(person) for f in asked.fields}
    (shown,) = evidence.describe([asked])
    return render(
        request,
        "exchange/evidence_request.html",
        {
            "context": context,
            "shown": shown,
            "rows": [(presentation.field_label(f), _text(raw[f])) for f in asked.fields],
            "seen": evidence.digest(values),
            "waiting": asked.status == EvidenceRequest.Status.WAITING,
            "section": "my-data",
        },
        status=status,
    )


@guards.requires("exchange.evidence.view")
def evidence_request(request: HttpRequest, context: ActingContext, pk: int) -> HttpResponse:
    asked = _own(context, pk)
    policy.require(context, "exchange.evidence.view", asked)
    return _preview(request, context, asked)


@require_POST
@guards.requires("exchange.evidence.decide")
def evidence_decide(request: HttpRequest, context: ActingContext, pk: int) -> HttpResponse:
    asked = _own(context, pk)
    policy.require(context, "exchange.evidence.decide", asked)
    choice = request.POST.get("decision")
    try:
        if choice == "send":
            evidence.release(asked, request.POST.get("seen", ""))
            messages.success(request, _("The evidence is on its way. Only what you saw was sent."))
        elif choice == "refuse":
            evidence.refuse(asked)
            messages.success(
                request, _("Nothing was sent. The government that asked is told you refused.")
            )
        else:
            messages.error(request, _("Choose whether to send the evidence or not."))
            return _preview(request, context, asked, status=400)
    except evidence.NotWaiting:
        messages.error(request, _("You already decided on this request."))
        return _preview(request, context, asked, status=409)
    except evidence.Changed:
        messages.error(
            request,
            _("Your record changed since you looked. Check what would be sent, then decide."),
        )
        return _preview(request, context, asked, status=409)
    return redirect("exchange-pages:evidence-requests")
