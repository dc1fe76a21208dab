"""The client index's pages: the data stewards' console (review queue, a pair side by side,
a linked person with merge, split and undo, the model and its charts, the runs) and a
person's own page (which agencies hold a record linked to them, and a correction request).

Thin: they call `decisions`, `access`, `holdings`, `corrections`; every page showing a
source record writes the ledger of the person it belongs to (`access.record_use`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from joinedup.federation.models import Agency
from joinedup.identity import guards
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person

from . import access, charts, corrections, decisions, holdings
from .clusters import resolve_key
from .models import (
    Cluster,
    ClusterChange,
    CorrectionRequest,
    Decision,
    LinkageModel,
    LinkRun,
    ReviewPair,
    SourceRecord,
)

PAGE_SIZE = 50


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@guards.requires("clientindex.steward")
def console(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return render(
        request,
        "clientindex/console.html",
        {
            "records": SourceRecord.objects.count(),
            "people": Cluster.objects.filter(retired_at__isnull=True).count(),
            "open_pairs": ReviewPair.objects.filter(status=ReviewPair.Status.OPEN).count(),
            "model": LinkageModel.objects.order_by("-version").first(),
            "runs": LinkRun.objects.select_related("model")[:10],
            "corrections": CorrectionRequest.objects.filter(
                status=CorrectionRequest.Status.OPEN
            ).count(),
        },
    )


@guards.requires("clientindex.steward")
def review_queue(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """Open pairs, strongest first: weights and agencies only (no personal data listed)."""
    pairs = ReviewPair.objects.filter(status=ReviewPair.Status.OPEN).select_related(
        "left__agency", "right__agency"
    )
    page = Paginator(pairs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clientindex/review_queue.html", {"page": page})


def _side_by_side(left: SourceRecord, right: SourceRecord) -> list[tuple[str, str, str]]:
    names = [
        ("given_names", pgettext("client index", "Given names")),
        ("family_name", pgettext("client index", "Family name")),
        ("birth_date", _("Birth date")),
        ("sex", _("Sex")),
        ("street_address", _("Street address")),
        ("locality", _("City or town")),
        ("postal_code", _("Postal code")),
        ("phone", _("Phone")),
        ("email", pgettext("client index", "Email address")),
    ]
    rows = []
    for name, label in names:
        a, b = getattr(left, name), getattr(right, name)
        rows.append((label, a or "—", b or "—"))
    same_id = bool(left.identifier_index) and left.identifier_index == right.identifier_index
    if left.identifier_index or right.identifier_index:
        rows.append(
            (
                _("Identifier"),
                _("same as the other")
                if same_id
                else (_("given") if left.identifier_index else "—"),
                _("same as the other")
                if same_id
                else (_("given") if right.identifier_index else "—"),
            )
        )
    return rows


@guards.requires("clientindex.steward")
def review_pair(request: HttpRequest, context: ActingContext, pair_id: int) -> HttpResponse:
    pair = get_object_or_404(
        ReviewPair.objects.select_related(
            "left__agency", "right__agency", "left__cluster", "right__cluster", "decided_by"
        ),
        pk=pair_id,
    )
    access.record_use(context, [pair.left, pair.right])
    return render(
        request,
        "clientindex/review_pair.html",
        {
            "pair": pair,
            "rows": _side_by_side(pair.left, pair.right),
            "records": [pair.left, pair.right],
        },
    )


@require_POST
@guards.requires("clientindex.decide")
def decide_pair(request: HttpRequest, context: ActingContext, pair_id: int) -> HttpResponse:
    pair = get_object_or_404(ReviewPair, pk=pair_id)
    try:
        decisions.decide_pair(
            context, pair, request.POST.get("status", ""), request.POST.get("note", "")
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("clientindex:pair", pair_id=pair.pk)
    messages.success(request, _("Your decision is recorded."))
    following = (
        ReviewPair.objects.filter(status=ReviewPair.Status.OPEN)
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        return redirect("clientindex:pair", pair_id=following)
    return redirect("clientindex:review")


def _cluster(key: str) -> Cluster:
    cluster = resolve_key(key)
    if cluster is None:
        raise Http404
    return cluster


@guards.requires("clientindex.steward")
def person(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    cluster = _cluster(key)
    if cluster.key != key:
        return redirect("clientindex:person", key=cluster.key)
    records = list(cluster.records.select_related("agency", "cluster"))
    access.record_use(context, records)
    return render(
        request,
        "clientindex/person.html",
        {
            "cluster": cluster,
            "records": records,
            "changes": ClusterChange.objects.filter(record__in=records).select_related(
                "record__agency"
            )[:100],
            "decisions": Decision.objects.filter(cluster=cluster).select_related(
                "decided_by", "other"
            )
            | Decision.objects.filter(other=cluster).select_related("decided_by", "other"),
        },
    )


@require_POST
@guards.requires("clientindex.decide")
def merge(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    cluster = _cluster(key)
    other = resolve_key(request.POST.get("other", "").strip().upper())
    if other is None:
        messages.error(request, _("No linked person has this id."))
        return redirect("clientindex:person", key=cluster.key)
    try:
        decisions.merge(context, cluster, other, request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, _("The two people are merged. This can be undone."))
    return redirect("clientindex:person", key=cluster.key)


@require_POST
@guards.requires("clientindex.decide")
def split(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    cluster = _cluster(key)
    chosen = [int(v) for v in request.POST.getlist("records") if v.isdigit()]
    try:
        decision = decisions.split(context, cluster, chosen, request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("clientindex:person", key=cluster.key)
    messages.success(request, _("The records chosen are now another person. This can be undone."))
    return redirect("clientindex:person", key=decision.other.key)


@require_POST
@guards.requires("clientindex.decide")
def undo(request: HttpRequest, context: ActingContext, decision_id: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("cluster"), pk=decision_id)
    try:
        decisions.undo(context, decision, request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, _("The decision is undone."))
    return redirect("clientindex:person", key=decision.cluster.key)


@guards.requires("clientindex.steward")
def model(request: HttpRequest, context: ActingContext) -> HttpResponse:
    current = LinkageModel.objects.order_by("-version").first()
    figures = []
    if current is not None:
        figures = [
            charts.match_weights(current.settings_json),
            charts.m_and_u(current.settings_json),
        ]
    return render(
        request,
        "clientindex/model.html",
        {"model": current, "charts": figures, "versions": LinkageModel.objects.all()[:20]},
    )


@guards.requires("clientindex.steward")
def correction_queue(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """Open requests, oldest first: dates and agencies only (no personal data listed)."""
    requests = CorrectionRequest.objects.filter(status=CorrectionRequest.Status.OPEN).order_by(
        "created_at", "pk"
    )
    page = Paginator(requests.select_related("agency"), PAGE_SIZE).get_page(request.GET.get("page"))
    answered = CorrectionRequest.objects.exclude(status=CorrectionRequest.Status.OPEN)
    return render(
        request,
        "clientindex/corrections.html",
        {"page": page, "answered": answered.select_related("agency", "answered_by")[:20]},
    )


@guards.requires("clientindex.steward")
def correction(request: HttpRequest, context: ActingContext, request_id: int) -> HttpResponse:
    """One request beside the records linked to the person (read through the gate)."""
    item = get_object_or_404(
        CorrectionRequest.objects.select_related("agency", "answered_by"), pk=request_id
    )
    records = corrections.linked_records(item)
    access.record_use(context, records)
    return render(
        request,
        "clientindex/correction.html",
        {"item": item, "records": records, "decisions": item.decisions.all()},
    )


@require_POST
@guards.requires("clientindex.decide")
def answer_correction(
    request: HttpRequest, context: ActingContext, request_id: int
) -> HttpResponse:
    item = get_object_or_404(CorrectionRequest, pk=request_id)
    outcome = request.POST.get("outcome", "")
    if outcome not in CorrectionRequest.Outcome.values:
        messages.error(request, _("Say whether you accept or decline the request."))
        return redirect("clientindex:correction", request_id=item.pk)
    try:
        corrections.answer(
            context,
            item,
            accept=outcome == CorrectionRequest.Outcome.ACCEPTED,
            text=request.POST.get("answer", ""),
            unlink=[int(v) for v in request.POST.getlist("records") if v.isdigit()],
            link_key=request.POST.get("link", ""),
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect("clientindex:correction", request_id=item.pk)
    messages.success(request, _("Your answer is sent. The person reads it in My services."))
    return redirect("clientindex:corrections")


@guards.requires("clientindex.mine")
def my_records(request: HttpRequest, context: ActingContext) -> HttpResponse:
    subject = Person.objects.filter(pk=context.person_id).first()
    if subject is None:
        raise Http404
    agencies = holdings.agencies_holding(subject)
    if request.method == "POST":
        agency = Agency.objects.filter(pk=request.POST.get("agency") or 0).first()
        try:
            corrections.request_correction(subject, request.POST.get("message", ""), agency)
        except ValidationError as error:
            messages.error(request, _errors(error))
        else:
            messages.success(request, _("Your request is sent. A data steward will answer it."))
            return redirect("clientindex:my-records")
    return render(
        request,
        "clientindex/my_records.html",
        {
            "agencies": agencies,
            "requests": CorrectionRequest.objects.filter(person=subject).select_related("agency"),
            "message": request.POST.get("message", ""),
        },
    )
