"""Pages: consultations, their proposals and results (public), taking part (signed in),
moderation and decisions (the owner's staff); complaints (the person, and counter and phone
staff recording one); change initiatives (staff).

Views read the request, call the modules that hold the rules and render. A refusal from a
rule comes back as the page with its message and a 4xx status, never a 500.
"""

from __future__ import annotations

import datetime

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from joinedup import pagination
from joinedup.bundles.models import Bundle, BundleSubmission
from joinedup.care.models import IntegratedCase
from joinedup.channels.models import Interaction
from joinedup.delivery import queues
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.federation.models import Agency, Service
from joinedup.funding.models import Pilot
from joinedup.identity import guards
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person
from joinedup.identity.policy import PolicyDenied, decide

from . import (
    change,
    complaints,
    decisions,
    effects,
    invitations,
    measures,
    moderation,
    participation,
    results,
)
from .complaints import ComplaintError
from .models import (
    Champion,
    Change,
    Comment,
    Complaint,
    Consultation,
    Initiative,
    ModerationReason,
    Proposal,
    ReadinessResponse,
    TrainingCompletion,
    TrainingModule,
    Visibility,
)
from .participation import ParticipationError

PAGE_SIZE = 50


def paginate(request: HttpRequest, items) -> pagination.Pagination:
    """The project's pager at engagement's page size."""
    return pagination.paginate(request, items, PAGE_SIZE)


def _consultation(key: str) -> Consultation:
    return get_object_or_404(
        Consultation.objects.select_related("owner", "owner__jurisdiction", "place", "service"),
        key=key,
    )


def _proposal(key: str, pk: int) -> Proposal:
    return get_object_or_404(
        Proposal.objects.select_related("consultation", "consultation__owner"),
        pk=pk,
        consultation__key=key,
    )


def _complaint(reference: str) -> Complaint:
    return get_object_or_404(
        Complaint.objects.select_related("service", "person"), reference=reference.upper()
    )


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "engagement/refused.html", {"message": message}, status=status)


@guards.public
@require_GET
def consultation_list(request: HttpRequest) -> HttpResponse:
    page = paginate(
        request, Consultation.objects.select_related("owner", "service", "place").order_by("key")
    )
    return render(request, "engagement/consultation_list.html", {"page": page})


@guards.public
@require_GET
def consultation_detail(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    consultation = _consultation(key)
    proposals = paginate(
        request,
        Proposal.objects.filter(consultation=consultation, visibility=Visibility.VISIBLE)
        .select_related("organisation")
        .order_by("-supports_count", "created_at"),
    )
    return render(
        request,
        "engagement/consultation.html",
        {
            "consultation": consultation,
            "phases": list(consultation.phases.all()),
            "phase": participation.current_phase(consultation),
            "page": proposals,
            "questions": list(consultation.survey_questions.all()),
            "signed_in": not context.is_anonymous,
            "may_decide": decide(context, "engagement.decide", consultation).allowed,
        },
    )


@guards.public
@require_GET
def consultation_results(request: HttpRequest, key: str) -> HttpResponse:
    consultation = _consultation(key)
    found = results.results(consultation)
    # "What we heard, what we did" is paged: a large consultation decides thousands.
    decided = paginate(request, results.decided(consultation))
    return render(
        request,
        "engagement/results.html",
        {
            "consultation": consultation,
            "results": found,
            "charts": found.charts,
            "loop": results.what_we_did(decided.page.object_list),
            "pagination": decided,
        },
    )


@guards.public
@require_GET
def open_data(request: HttpRequest, key: str) -> HttpResponse:
    consultation = _consultation(key)
    response = StreamingHttpResponse(
        results.open_data_lines(consultation), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{consultation.key}.csv"'
    return response


def _threads(proposal: Proposal) -> list[tuple[Comment, int]]:
    """Comments in thread order with their depth (one query)."""
    comments = list(
        Comment.objects.filter(proposal=proposal)
        .select_related("organisation")
        .order_by("created_at")
    )
    children: dict[int | None, list[Comment]] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)
    ordered: list[tuple[Comment, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for c in children.get(parent_id, []):
            ordered.append((c, depth))
            walk(c.pk, depth + 1)

    walk(None, 0)
    return ordered


@guards.public
@require_GET
def proposal_detail(request: HttpRequest, context: ActingContext, key: str, pk: int):
    proposal = _proposal(key, pk)
    may_decide = decide(context, "engagement.decide", proposal.consultation).allowed
    return render(
        request,
        "engagement/proposal.html",
        {
            "consultation": proposal.consultation,
            "proposal": proposal,
            "threads": _threads(proposal),
            "changes": _changes(proposal, may_decide),
            "reasons": ModerationReason.choices,
            "decisions": Proposal.Decision.choices,
            "may_decide": may_decide,
            "signed_in": not context.is_anonymous,
            # The funding pilot's page is for those who read places and pilots.
            "reads_pilots": decide(context, "funding.places").allowed,
            "pilots": Pilot.objects.order_by("key") if may_decide else [],
        },
    )


def _changes(proposal: Proposal, may_decide: bool) -> list[dict]:
    """Each change with its measured effect: as recorded (everyone), or as measured now
    (the owner, before recording it)."""
    found = []
    for linked in proposal.changes.select_related("service_version", "bundle", "pilot"):
        recorded = effects.Effect.from_data(linked.measured)
        live = None
        if may_decide and recorded is None:
            live = effects.measure(linked)
        shown = recorded or live
        found.append(
            {
                "change": linked,
                "rows": effects.rows(shown) if shown is not None else [],
                "significance": effects.significance_words(shown) if shown is not None else [],
                "recorded": recorded is not None,
                "since": shown.since if shown is not None else None,
                "until": shown.until if shown is not None else None,
            }
        )
    return found


def _participation_error(request: HttpRequest, error: Exception) -> HttpResponse:
    if isinstance(error, PolicyDenied):
        return guards.denied_response(request, error.decision)
    return _refused(request, error.message, error.status)  # type: ignore[attr-defined]


@guards.requires("engagement.contribute")
@require_POST
def propose(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    consultation = _consultation(key)
    try:
        proposal = participation.submit_proposal(
            context, consultation, request.POST.get("title", ""), request.POST.get("body", "")
        )
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=proposal.pk)


@guards.requires("engagement.contribute")
@require_POST
def answer_survey(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    consultation = _consultation(key)
    answers = {k[2:]: v for k, v in request.POST.items() if k.startswith("q-")}
    try:
        participation.answer_survey(context, consultation, answers)
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:consultation", key=key)


@guards.requires("engagement.contribute")
@require_POST
def support(request: HttpRequest, context: ActingContext, key: str, pk: int) -> HttpResponse:
    proposal = _proposal(key, pk)
    try:
        participation.support(context, proposal)
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=pk)


@guards.requires("engagement.contribute")
@require_POST
def add_comment(request: HttpRequest, context: ActingContext, key: str, pk: int) -> HttpResponse:
    proposal = _proposal(key, pk)
    parent = None
    if request.POST.get("parent"):
        parent = Comment.objects.filter(pk=request.POST["parent"], proposal=proposal).first()
        if parent is None:
            return _refused(request, _("You can only reply to a comment on this proposal."), 400)
    try:
        participation.comment(context, proposal, request.POST.get("body", ""), parent)
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=pk)


@guards.requires("engagement.contribute")
@require_POST
def report_abuse(request: HttpRequest, context: ActingContext, key: str, pk: int):
    proposal = _proposal(key, pk)
    target: Proposal | Comment | None = proposal
    if request.POST.get("comment"):
        target = Comment.objects.filter(pk=request.POST["comment"], proposal=proposal).first()
        if target is None:
            raise Http404
    try:
        moderation.report(
            context, target, request.POST.get("reason", ""), request.POST.get("note", "")
        )
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return render(request, "engagement/reported.html", {"proposal": proposal})


@guards.requires("engagement.moderate", lambda key: _consultation(key))
@require_http_methods(["GET", "POST"])
def moderation_queue(
    request: HttpRequest, context: ActingContext, consultation: Consultation, key: str
):
    if request.method == "POST":
        model = Proposal if request.POST.get("kind") == "proposal" else Comment
        target = model.objects.filter(pk=request.POST.get("id"), consultation=consultation).first()
        if target is None:
            raise Http404
        try:
            if request.POST.get("action") == "dismiss":
                moderation.dismiss(context, target)
            else:
                moderation.hide(
                    context, target, request.POST.get("reason", ""), request.POST.get("note", "")
                )
        except ParticipationError as error:
            return _refused(request, error.message, error.status)
        return redirect("engagement:moderation", key=key)
    return render(
        request,
        "engagement/moderation.html",
        {
            "consultation": consultation,
            "rows": moderation.queue(consultation),
            "reasons": ModerationReason.choices,
        },
    )


@guards.requires("engagement.decide")
@require_POST
def decide_proposal(request: HttpRequest, context: ActingContext, key: str, pk: int):
    proposal = _proposal(key, pk)
    try:
        decisions.decide(
            context, proposal, request.POST.get("decision", ""), request.POST.get("reasons", "")
        )
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=pk)


@guards.requires("engagement.decide")
@require_POST
def link_change(request: HttpRequest, context: ActingContext, key: str, pk: int):

    proposal = _proposal(key, pk)
    kind = request.POST.get("kind", "")
    version = bundle = None
    try:
        if request.POST.get("version"):
            # The form asks for the version number of the consultation's service; a
            # consultation about a bundle or a place names the version by its id.
            raw = int(request.POST["version"])
            service_id = proposal.consultation.service_id
            version = (
                ServiceVersion.objects.filter(service_id=service_id, number=raw).first()
                if service_id
                else ServiceVersion.objects.filter(pk=raw).first()
            )
            if version is None:
                return _refused(request, _("Choose the version from the list."), 400)
        if request.POST.get("bundle"):
            bundle = Bundle.objects.filter(key=request.POST["bundle"]).first()
        pilot = None
        if kind == Change.Kind.PILOT and request.POST.get("pilot"):
            pilot = Pilot.objects.filter(key=request.POST["pilot"]).first()
            if pilot is None:
                return _refused(request, _("Choose the pilot from the list."), 400)
        decisions.link_change(
            context,
            proposal,
            kind,
            {
                "en": request.POST.get("description_en", ""),
                "fr": request.POST.get("description_fr", ""),
            },
            service_version=version,
            bundle=bundle,
            checksum_before=request.POST.get("checksum_before", ""),
            pilot=pilot,
        )
    except ValueError:
        return _refused(request, _("Choose the version from the list."), 400)
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=pk)


@guards.requires("engagement.decide")
@require_POST
def record_effect(
    request: HttpRequest, context: ActingContext, key: str, pk: int, change_id: int
) -> HttpResponse:
    proposal = _proposal(key, pk)
    linked = proposal.changes.filter(pk=change_id).first()
    if linked is None:
        return _refused(request, _("No such change of this proposal."), 404)
    try:
        decisions.record_effect(
            context,
            linked,
            {
                "en": request.POST.get("effect_en", ""),
                "fr": request.POST.get("effect_fr", ""),
            },
        )
    except (ParticipationError, PolicyDenied) as error:
        return _participation_error(request, error)
    return redirect("engagement:proposal", key=key, pk=pk)


# --- Complaints -----------------------------------------------------------------------


@guards.requires("engagement.complain")
@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The complaint form, from a service page, My services, or a counter or phone console
    (staff give the person: `?person=ID`)."""
    source = request.POST if request.method == "POST" else request.GET
    service = Service.objects.filter(key=source.get("service", "")).first()
    about = _complaint_subjects(source)
    if missing := _missing_subject(source, about):
        return _refused(request, missing, 404)
    application = about["application"]
    person = None
    if context.is_staff:
        person = Person.objects.filter(pk=source.get("person") or 0).first()
        if person is None:
            return _refused(request, _("Find the person first, then record their complaint."), 400)
    elif context.subject_id:
        person = Person.objects.get(pk=context.subject_id)
    form = {
        "service": service,
        **about,
        "person_id": person.pk if person and context.is_staff else "",
        "services": Service.objects.exclude(key__startswith="complaints.").order_by("key")[:300],
        "kinds": Complaint.Kind.choices,
    }
    if request.method == "GET":
        return render(request, "engagement/complaint_form.html", form)
    if person is None:
        return _refused(request, _("Only a person can complain."), 403)
    try:
        complaint = complaints.file_complaint(
            context,
            person,
            request.POST.get("text", ""),
            kind=request.POST.get("kind", Complaint.Kind.COMPLAINT),
            service=service,
            application=application,
            submission=about["submission"],
            interaction=about["interaction"],
            case=about["case"],
            place_code=request.POST.get("place") or None,
        )
    except ComplaintError as error:
        form["error"] = error.message
        return render(request, "engagement/complaint_form.html", form, status=400)
    except PolicyDenied as error:
        return guards.denied_response(request, error.decision)
    if context.is_staff:
        return render(request, "engagement/complaint_recorded.html", {"complaint": complaint})
    return redirect("engagement:complaint", reference=complaint.reference)


def _complaint_subjects(source) -> dict:
    """What the complaint is about, from the link that led to the form: an application, a
    life-event request, a visit or call, or a care plan (each checked to be the person's
    when the complaint is filed)."""
    found: dict = {"application": None, "submission": None, "interaction": None, "case": None}
    if source.get("application"):
        found["application"] = Application.objects.filter(
            reference=source["application"].strip().upper()
        ).first()
    if source.get("submission"):
        found["submission"] = BundleSubmission.objects.filter(
            reference=source["submission"].strip().upper()
        ).first()
    if str(source.get("interaction", "")).isdigit():
        found["interaction"] = Interaction.objects.filter(pk=int(source["interaction"])).first()
    if source.get("case"):
        found["case"] = IntegratedCase.objects.filter(
            reference=source["case"].strip().upper()
        ).first()
    return found


def _missing_subject(source, about: dict) -> str:
    """The message for a link naming something that does not exist ('' when all is found)."""
    for name, message in (
        ("application", _("There is no application with this reference.")),
        ("submission", _("There is no life-event request with this reference.")),
        ("interaction", _("There is no visit or call with this number.")),
        ("case", _("There is no care plan with this reference.")),
    ):
        if source.get(name) and about[name] is None:
            return message
    return ""


@guards.requires("engagement.complaint.view")
@require_GET
def my_complaints(request: HttpRequest, context: ActingContext) -> HttpResponse:
    page = paginate(
        request, complaints.visible_to_person(context.subject_id if not context.role else None)
    )
    rows = [(c, complaints.state_of(c)) for c in page.page.object_list]
    return render(request, "engagement/complaint_list.html", {"page": page, "rows": rows})


@guards.requires("engagement.complaint.view", lambda reference: _complaint(reference))
@require_GET
def complaint_detail(
    request: HttpRequest, context: ActingContext, complaint: Complaint, reference: str
) -> HttpResponse:
    parts = list(complaint.parts.select_related("agency", "application", "ombudsman"))
    facts, refusal = [], None
    if context.role:
        # Staff read the person's details through the data gate (recorded in their ledger).
        mine = [p for p in parts if p.agency.key == context.agency_key]
        if mine:
            facts, refusal = queues.applicant_facts(context, mine[0].application)
    return render(
        request,
        "engagement/complaint.html",
        {
            "complaint": complaint,
            "parts": parts,
            "state": complaints.state_of(complaint, parts),
            "is_person": not context.role,
            "facts": facts,
            "refusal": refusal,
        },
    )


@guards.requires("engagement.complaint.reply", lambda reference: _complaint(reference))
@require_POST
def complaint_act(
    request: HttpRequest, context: ActingContext, complaint: Complaint, reference: str
) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        if action in complaints.REPLIES:
            complaints.reply(context, complaint, action, request.POST.get("note", ""))
        elif action == "reopen":
            complaints.reopen(context, complaint, request.POST.get("why", ""))
        elif action == "rate":
            try:
                stars = int(request.POST.get("rating", ""))
            except ValueError:
                stars = 0
            complaints.rate(context, complaint, stars)
        else:
            return _refused(request, _("Choose what to do."), 400)
    except ComplaintError as error:
        return _refused(request, error.message, 400)
    return redirect("engagement:complaint", reference=complaint.reference)


@guards.requires("engagement.measures")
@require_GET
def complaint_measures(request: HttpRequest) -> HttpResponse:
    by = request.GET.get("by", "service")
    if by not in measures.GROUPS:
        by = "service"
    end = timezone.now()
    start = end - datetime.timedelta(days=365)
    return render(
        request,
        "engagement/measures.html",
        {
            "by": by,
            "rows": measures.complaint_measures(by, start, end),
            "themes": measures.themes_by_month(start, end),
        },
    )


# --- Change initiatives --------------------------------------------------------------------


def _initiative(key: str) -> Initiative:
    return get_object_or_404(Initiative.objects.select_related("owner", "service"), key=key)


@guards.requires("engagement.measures")
@require_GET
def initiative_dashboard(request: HttpRequest, key: str) -> HttpResponse:
    initiative = _initiative(key)
    adoption = change.adoption(initiative)
    return render(
        request,
        "engagement/initiative.html",
        {
            "initiative": initiative,
            "readiness": change.readiness(initiative),
            "training": _named(change.training(initiative)),
            "adoption": adoption,
            "dimensions": list(change.DIMENSION_LABELS.values()),
            "charts": [change_chart(adoption)] if adoption else [],
        },
    )


def _named(by_key: dict) -> list[tuple[str, object]]:
    names = {a.key: a.name for a in Agency.objects.filter(key__in=list(by_key))}
    return [(names.get(key, key), value) for key, value in by_key.items()]


def change_chart(adoption):
    return results.bar_chart(
        "adoption",
        _("Share of work in the new process since go-live (%)"),
        [row.agency_name for row in adoption],
        [round((row.new_process or 0) * 100, 1) for row in adoption],
        _("Organisations with a low share are where to look first."),
    )


@guards.requires("engagement.initiative")
@require_http_methods(["GET", "POST"])
def initiative_for_me(request: HttpRequest, context: ActingContext, key: str) -> HttpResponse:
    initiative = _initiative(key)
    error = None
    if request.method == "POST":
        try:
            change.record_readiness(
                context,
                initiative,
                {d: request.POST.get(d) for d in ReadinessResponse.DIMENSIONS},
            )
        except change.ChangeError as refused:
            error = refused.message
        except PolicyDenied as denied:
            return guards.denied_response(request, denied.decision)
        else:
            return redirect("engagement:initiative-for-me", key=key)
    done = set(
        TrainingCompletion.objects.filter(
            module__initiative=initiative, user_id=context.user_id
        ).values_list("module_id", flat=True)
    )
    return render(
        request,
        "engagement/for_me.html",
        {
            "initiative": initiative,
            "affected": change.what_changes_for(initiative, context.role),
            "modules": [
                (m, m.pk in done) for m in initiative.modules.all() if m.role in ("", context.role)
            ],
            "champions": _champions(initiative),
            "dimensions": ReadinessResponse.DIMENSIONS,
            "error": error,
        },
        status=400 if error else 200,
    )


def _champions(initiative: Initiative) -> list[Champion]:
    return list(
        Champion.objects.filter(initiative=initiative)
        .select_related("user", "agency")
        .order_by("agency__key", "user__last_name", "user__pk")
    )


@guards.requires("engagement.initiative")
@require_GET
def initiative_champions(request: HttpRequest, key: str) -> HttpResponse:
    """Who to ask: the initiative's champions in each organisation."""
    initiative = _initiative(key)
    return render(
        request,
        "engagement/champions.html",
        {"initiative": initiative, "champions": _champions(initiative)},
    )


@guards.requires("engagement.measures")
@require_GET
def initiative_training(request: HttpRequest, key: str) -> HttpResponse:
    """Training completion per organisation: a chart of the share done, and its table."""
    initiative = _initiative(key)
    rows = [
        (name, done, due, round(done / due, 4) if due else None)
        for name, (done, due) in _named(change.training(initiative))
    ]
    chart = results.bar_chart(
        "training",
        _("Share of training completed, per organisation (%)"),
        [name for name, *_rest in rows],
        [round((share or 0) * 100, 1) for *_rest, share in rows],
        _("Modules completed by staff in the roles affected, out of the modules due."),
    )
    return render(
        request,
        "engagement/training.html",
        {
            "initiative": initiative,
            "rows": rows,
            "modules": list(initiative.modules.all()),
            "charts": [chart] if rows else [],
        },
    )


@guards.requires("engagement.initiative.respond")
@require_POST
def training_done(request: HttpRequest, context: ActingContext, key: str, module: int):
    """A staff member records a training module as completed (once)."""
    initiative = _initiative(key)
    found = get_object_or_404(TrainingModule, pk=module, initiative=initiative)
    try:
        change.complete_training(context, found)
    except change.ChangeError as refused:
        return _refused(request, refused.message, refused.status)
    except PolicyDenied as denied:
        return guards.denied_response(request, denied.decision)
    return redirect("engagement:initiative-for-me", key=key)


INVITE_MAX_SAMPLE = 5000


@guards.requires("engagement.decide", lambda key: _consultation(key))
@require_http_methods(["GET", "POST"])
def invitations_page(
    request: HttpRequest, context: ActingContext, consultation: Consultation, key: str
) -> HttpResponse:
    """The owner invites a sample of the people who used the service in the last months (not
    only those who come by themselves), and sees how many were invited and took part."""
    error = ""
    if request.method == "POST":
        try:
            months = int(request.POST.get("months", ""))
            sample = int(request.POST.get("sample", ""))
        except ValueError:
            months = sample = 0
        if not (1 <= months <= 24 and 1 <= sample <= INVITE_MAX_SAMPLE):
            error = _("Give a number of months from 1 to 24 and a sample from 1 to %(n)s.") % {
                "n": INVITE_MAX_SAMPLE
            }
        else:
            made = invitations.invite_recent_users(consultation, months=months, sample=sample)
            if made or invitations.service_ids(consultation):
                return redirect("engagement:invitations", key=key)
            error = _("This consultation is not about a service or a bundle: nobody to invite.")
    invited = consultation.invitations.count()
    took_part = invitations.took_part(consultation)
    return render(
        request,
        "engagement/invitations.html",
        {
            "consultation": consultation,
            "invited": invited,
            "took_part": took_part,
            "error": error,
            "max_sample": INVITE_MAX_SAMPLE,
        },
        status=400 if error else 200,
    )
