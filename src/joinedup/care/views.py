"""Pages: find help near you (public), the staff workspace and case page, a referral for its
receiver, and the person's side in My services. Thin: they read forms and call `directory`,
`team`, `plans`, `referrals` and `mine`; a refused form is shown again with its messages and
a 400, nothing written.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from joinedup import labels, pagination
from joinedup.federation.models import Agency, Jurisdiction
from joinedup.identity import guards
from joinedup.identity.acting import ActingContext, agency_of
from joinedup.identity.models import Person, StaffMembership

from . import assessments, directory, mine, plans, referrals, team
from .fields import CARE_CATEGORIES, LABELS
from .models import (
    Action,
    Alert,
    Domain,
    Goal,
    IntegratedCase,
    Need,
    PlanRequest,
    Referral,
    Service,
    TaxonomyTerm,
    TeamMember,
)

PAGE = 50


def _date(value: str, name: str, *, required: bool = False) -> datetime.date | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError({name: _("Give a date.")})
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: _("Give the date as YYYY-MM-DD.")}) from None


def _errors(error: ValidationError) -> list[str]:
    return error.messages


def _categories() -> list[tuple[str, str]]:
    return [(c, str(LABELS[c])) for c in CARE_CATEGORIES]


# --- Find help (public) -------------------------------------------------------------------


@guards.public
def find_help(request: HttpRequest) -> HttpResponse:
    need = request.GET.get("need", "")
    place = request.GET.get("place", "")
    language = request.GET.get("language", "")
    terms = list(TaxonomyTerm.objects.filter(parent__isnull=True).order_by("name"))
    places = list(
        Jurisdiction.objects.filter(directory_locations__isnull=False).distinct().order_by("code")
    )
    term = next((t for t in terms if t.code == need), None)
    error = ""
    results: list[Service] = []
    searched = bool(need or place or language)
    if searched:
        try:
            queryset = directory.find(
                taxonomy_term_id=str(term.id) if term else "",
                place=place,
                language=language[:8],
                active_only=True,
            )
            results = list(
                queryset.select_related("organization").prefetch_related(
                    "capacities__unit",
                    "phones",
                    "at_locations__location",
                    "at_locations__schedules",
                )[:PAGE]
            )
        except directory.SearchError as refused:
            error = str(refused)
    status = 400 if error else 200
    return render(
        request,
        "care/find_help.html",
        {
            "terms": terms,
            "places": places,
            "need": need,
            "place": place,
            "language": language,
            "results": [
                {
                    "service": s,
                    "locations": [
                        {
                            "location": sal.location,
                            "hours": directory.hours_in_words(sal.schedules.all()),
                        }
                        for sal in s.at_locations.all()
                    ],
                }
                for s in results
            ],
            "searched": searched,
            "error": error,
            "section": "find-help",
        },
        status=status,
    )


# --- Staff workspace ----------------------------------------------------------------------


@guards.requires("care.workspace")
def workspace(request: HttpRequest, context: ActingContext) -> HttpResponse:
    today = timezone.localdate()
    # The caseload in pages of 50: one COUNT and one page of rows, whatever its size (a bad
    # or too-large page number gives the nearest page).
    paged = pagination.paginate(request, team.cases_of(context), PAGE)
    # "On the team now" as a semi-join: no duplicate rows to remove (no DISTINCT).
    on_team = TeamMember.objects.filter(membership_id=context.membership_id, left_at__isnull=True)
    # The actions of the reader's agency by its id (the row the request already holds): with
    # the index on (agency, due date) the database reads them in date order and stops at 50.
    due_actions = list(
        Action.objects.filter(
            agency_id=getattr(agency_of(context), "pk", None),
            status__in=[Action.Status.PLANNED, Action.Status.IN_PROGRESS],
            due_date__lte=today + datetime.timedelta(days=14),
        )
        .filter(Exists(on_team.filter(case=OuterRef("goal__need__case"))))
        .select_related("goal__need__case")
        .order_by("due_date", "pk")[:PAGE]
    )
    requests = list(
        PlanRequest.objects.filter(handled_at__isnull=True)
        .filter(Exists(on_team.filter(case=OuterRef("case"), role=TeamMember.Role.LEAD)))
        .select_related("case")
        .order_by("created_at", "pk")[:PAGE]
    )
    overdue = list(referrals.overdue(context)[:PAGE]) if context.role == "supervisor" else []
    return render(
        request,
        "care/workspace.html",
        {
            "cases": paged.page,
            "paged": paged,
            "due_actions": due_actions,
            "incoming": list(referrals.incoming(context)[:PAGE]),
            "overdue": overdue,
            "requests": requests,
            "today": today,
            "section": "care",
        },
    )


@guards.requires("care.case.open")
def case_open(request: HttpRequest, context: ActingContext) -> HttpResponse:
    values: dict[str, Any] = {"basis": "consent", "categories": []}
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        values = {
            "given_names": request.POST.get("given_names", "").strip(),
            "family_name": request.POST.get("family_name", "").strip(),
            "birth_date": request.POST.get("birth_date", "").strip(),
            "basis": request.POST.get("basis", ""),
            "categories": request.POST.getlist("categories"),
            "review_date": request.POST.get("review_date", ""),
        }
        try:
            birth = _date(values["birth_date"], "birth_date", required=True)
            people = list(
                Person.objects.filter(
                    given_names__iexact=values["given_names"],
                    family_name__iexact=values["family_name"],
                    birth_date=birth,
                )[:2]
            )
            if len(people) != 1:
                raise ValidationError(
                    {"person": _("No single person in the registry has this name and birth date.")}
                )
            case = team.open_case(
                context,
                people[0],
                basis=values["basis"],
                categories=values["categories"],
                review_date=_date(values["review_date"], "review_date"),
            )
        except ValidationError as error:
            errors, status = _errors(error), 400
        else:
            messages.success(request, _("The case is open; you are its lead professional."))
            return redirect("care:case", reference=case.reference)
    return render(
        request,
        "care/case_open.html",
        {
            "values": values,
            "errors": errors,
            "bases": IntegratedCase.Basis.choices,
            "categories": _categories(),
            "section": "care",
        },
        status=status,
    )


def _case(reference: str) -> IntegratedCase:
    return get_object_or_404(
        IntegratedCase.objects.select_related("agency", "person"), reference=reference
    )


def _forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "identity/forbidden.html", {"reason": reason}, status=403)


class _Links(dict):
    """The case's form pages by name (`forms.action_status` in a template), each URL reversed
    the first time the page shows it: a page that links the same form from every row of a
    list reverses it once."""

    def __init__(self, make) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> str:
        url = self[name] = self._make(name.replace("_", "-"))
        return url

    @staticmethod
    def like(sample_url: str, sample: str):
        """URLs like `sample_url` for other values of its one argument `sample` (a UUID, which
        a URL carries as it is): one reversal for a list of links."""
        head, tail = sample_url.split(sample)
        return lambda value: f"{head}{value}{tail}"


_SAMPLE_UUID = uuid.UUID(int=0)


def _case_page(
    request: HttpRequest,
    context: ActingContext,
    case: IntegratedCase,
    members: list[TeamMember] | None = None,
) -> HttpResponse:
    """The case as this member may see it now; its forms are pages of their own (`case_form`),
    linked from here, so the page reads only what it shows."""
    try:
        view = team.read_case(context, case, members)
    except team.NotOnTeam as refusal:
        return _forbidden(request, str(refusal))
    note, sent = _("Note"), _("Referral sent")
    referral_link = _Links.like(reverse("care:referral", args=[_SAMPLE_UUID]), str(_SAMPLE_UUID))
    for referral in view.referrals:
        referral.link = referral_link(str(referral.pk))
    timeline = sorted(
        [(n.created_at, note, n.text, n.agency.name) for n in view.notes]
        + [
            (r.sent_at, sent, r.service.text("name"), labels.display(r, "status"))
            for r in view.referrals
        ]
        + [
            (
                a.submitted_at,
                _("Application %(reference)s") % {"reference": a.reference},
                a.service.name,
                f"{labels.display(a, 'status')} — {a.agency.name}",
            )
            for a in view.applications
        ],
        key=lambda row: row[0],
        reverse=True,
    )
    return render(
        request,
        "care/case.html",
        {
            "view": view,
            "case": case,
            "coordinator": view.member.role in plans.COORDINATORS,
            "own_agency": view.member.membership.agency_id,
            "timeline": timeline,
            "forms": _Links(lambda what: reverse("care:case-form", args=[case.reference, what])),
            "assessment_charts": assessments.history(case, view.domains),
            "assessment_sets": assessments.current_sets(),
            "section": "care",
        },
    )


@guards.requires("care.workspace")
def case_detail(request: HttpRequest, context: ActingContext, reference: str) -> HttpResponse:
    found = team.case_with_team(reference)
    if found is None:  # no team now (or no such case): the case alone, 404 when missing
        return _case_page(request, context, _case(reference))
    return _case_page(request, context, *found)


@dataclass(frozen=True)
class CaseForm:
    """One of the case's forms, on its own page: its heading, and whether only the lead
    professional or a navigator may use it (the team decides the rest: `plans`, `team`)."""

    title: Any
    coordinators_only: bool = False
    #: The form lists the plan's needs, goals, actions or alerts: what the gate lets the
    #: member see of them is read first (one ledger entry).
    reads_plan: bool = False


CASE_FORMS: dict[str, CaseForm] = {
    "need": CaseForm(gettext_lazy("Add a need to the plan"), coordinators_only=True),
    "goal": CaseForm(gettext_lazy("Add a goal"), coordinators_only=True, reads_plan=True),
    "action": CaseForm(gettext_lazy("Add an action"), coordinators_only=True, reads_plan=True),
    "action-status": CaseForm(gettext_lazy("Update an action's status"), reads_plan=True),
    "outcome": CaseForm(
        gettext_lazy("Record a goal's outcome"), coordinators_only=True, reads_plan=True
    ),
    "member": CaseForm(gettext_lazy("Add a member to the team"), coordinators_only=True),
    "remove": CaseForm(gettext_lazy("Remove a member from the team"), coordinators_only=True),
    "referral": CaseForm(gettext_lazy("Refer to a service")),
    "note": CaseForm(gettext_lazy("Add a note")),
    "alert": CaseForm(gettext_lazy("Raise an alert")),
    "close-alert": CaseForm(
        gettext_lazy("Close an alert"), coordinators_only=True, reads_plan=True
    ),
    "review": CaseForm(gettext_lazy("Record a review meeting"), coordinators_only=True),
}


def _form_page(
    request: HttpRequest,
    context: ActingContext,
    case: IntegratedCase,
    what: str,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """One of the case's forms, shown to the members the team lets use it."""
    form = CASE_FORMS[what]
    domains: list[str] = []
    try:
        if form.reads_plan:
            member, domains = team.visible_domains(context, case)
        else:
            member = team.active_member(context, case)
            if member is None:
                raise team.NotOnTeam(_("You are not a member of this case's team."))
    except team.NotOnTeam as refusal:
        return _forbidden(request, str(refusal))
    if form.coordinators_only and member.role not in plans.COORDINATORS:
        return _forbidden(
            request, _("Only the lead professional or a navigator of the case does this.")
        )
    values = request.POST if request.method == "POST" else request.GET
    page: dict[str, Any] = {
        "case": case,
        "what": what,
        "title": form.title,
        "template": f"care/forms/{what}.html",
        "values": values,
        "errors": errors or [],
        "section": "care",
    }
    page.update(_form_choices(what, case, member, domains))
    return render(request, "care/case_form.html", page, status=status)


def _form_choices(
    what: str, case: IntegratedCase, member: TeamMember, domains: list[str]
) -> dict[str, Any]:
    """What a form offers to choose from, limited to what the member may see."""
    goals = Goal.objects.filter(need__case=case, need__domain__in=domains).select_related("need")
    if what in ("need", "note", "alert"):
        return {"domains": Domain.choices}
    if what == "goal":
        return {"needs": Need.objects.filter(case=case, domain__in=domains).order_by("pk")}
    if what == "action":
        return {"goals": goals.order_by("pk"), "agencies": Agency.objects.order_by("key")}
    if what == "outcome":
        return {
            "goals": goals.order_by("pk"),
            "outcomes": [c for c in Goal.Outcome.choices if c[0]],
        }
    if what == "action-status":
        actions = Action.objects.filter(
            goal__need__case=case, goal__need__domain__in=domains
        ).select_related("agency", "goal")
        if member.role not in plans.COORDINATORS:
            actions = actions.filter(agency_id=member.membership.agency_id)
        return {"actions": actions.order_by("due_date", "pk"), "statuses": Action.Status.choices}
    if what == "close-alert":
        return {
            "alerts": Alert.objects.filter(
                case=case, domain__in=domains, closed_at__isnull=True
            ).order_by("raised_at")
        }
    if what in ("remove", "review"):
        members = (
            TeamMember.objects.filter(case=case, left_at__isnull=True)
            .select_related("membership__agency", "membership__user")
            .order_by("joined_at", "pk")
        )
        if what == "remove":
            members = members.exclude(role=TeamMember.Role.LEAD)
        return {"members": members, "today": timezone.localdate()}
    if what == "member":
        on_team = TeamMember.objects.filter(case=case, left_at__isnull=True).values("membership_id")
        return {
            "candidates": StaffMembership.objects.filter(
                role__in=["front_line", "caseworker", "case_manager"]
            )
            .exclude(pk__in=on_team)
            .select_related("user", "agency")
            .order_by("agency__key", "user__username")[:100],
            "roles": [r for r in TeamMember.Role.choices if r[0] != TeamMember.Role.LEAD],
            "categories": _categories(),
        }
    if what == "referral":
        return {
            "services": Service.objects.filter(status=Service.Status.ACTIVE)
            .select_related("organization")
            .order_by("name")[:200],
            "urgencies": Referral.Urgency.choices,
            "categories": _categories(),
            "idempotency_key": uuid.uuid4().hex,
        }
    return {}


@guards.requires("care.case.work")
def case_form(
    request: HttpRequest, context: ActingContext, reference: str, what: str
) -> HttpResponse:
    """A form of the case on its own page (GET), and what it asks for (POST): done, back to
    the case; refused, the form again with its messages and a 400, nothing written."""
    if what not in CASE_FORMS:
        raise Http404
    case = _case(reference)
    if request.method != "POST":
        return _form_page(request, context, case, what)
    try:
        # A form that names a need, goal, action or alert may name only one the gate lets
        # the member see (the same read as the form's page: one ledger entry).
        domains = team.visible_domains(context, case)[1] if CASE_FORMS[what].reads_plan else []
        message = _act(context, case, what, request.POST, domains)
    except ValidationError as error:
        return _form_page(request, context, case, what, _errors(error), status=400)
    except PermissionDenied as refusal:
        return _forbidden(request, str(refusal))
    messages.success(request, message)
    return redirect("care:case", reference=case.reference)


def _act(context: ActingContext, case: IntegratedCase, what: str, post, domains: list[str]) -> str:
    """Do one thing a case's form asks for; answers the message to show. `domains`: the life
    domains the member may see, among which a chosen need, goal, action or alert must be."""
    if what == "note":
        plans.add_note(context, case, post.get("domain", ""), post.get("text", ""))
        return _("The note is recorded.")
    if what == "alert":
        plans.raise_alert(context, case, post.get("domain", ""), post.get("text", ""))
        return _("The alert is shown to the team members entitled to see it.")
    if what == "close-alert":
        alert = Alert.objects.filter(
            case=case, domain__in=domains, pk=_int(post.get("alert")), closed_at__isnull=True
        ).first()
        if alert is None:
            raise ValidationError({"alert": _("Choose an open alert of this case.")})
        plans.close_alert(context, alert)
        return _("The alert is closed.")
    if what == "need":
        plans.add_need(context, case, post.get("domain", ""), post.get("description", ""))
        return _("The need is added to the plan.")
    if what == "goal":
        need = Need.objects.filter(case=case, domain__in=domains, pk=_int(post.get("need"))).first()
        if need is None:
            raise ValidationError({"need": _("Choose the need this goal answers.")})
        plans.add_goal(
            context, need, post.get("description", ""), _date(post.get("target_date"), "target")
        )
        return _("The goal is added to the plan.")
    if what == "action":
        goal = Goal.objects.filter(
            need__case=case, need__domain__in=domains, pk=_int(post.get("goal"))
        ).first()
        agency = Agency.objects.filter(pk=_int(post.get("agency"))).first()
        if goal is None or agency is None:
            raise ValidationError({"goal": _("Choose the goal and the organisation responsible.")})
        plans.add_action(
            context,
            goal,
            post.get("description", ""),
            agency,
            _date(post.get("due_date"), "due_date", required=True),
        )
        return _("The action is added to the plan.")
    if what == "action-status":
        action = Action.objects.filter(
            goal__need__case=case, goal__need__domain__in=domains, pk=_int(post.get("action"))
        ).first()
        if action is None:
            raise ValidationError({"action": _("Choose an action of this plan.")})
        plans.set_action_status(context, action, post.get("status", ""))
        return _("The action is updated.")
    if what == "outcome":
        goal = Goal.objects.filter(
            need__case=case, need__domain__in=domains, pk=_int(post.get("goal"))
        ).first()
        if goal is None:
            raise ValidationError({"goal": _("Choose a goal of this plan.")})
        plans.record_outcome(context, goal, post.get("outcome", ""))
        return _("The goal's outcome is recorded.")
    if what == "member":
        membership = StaffMembership.objects.filter(pk=_int(post.get("membership"))).first()
        if membership is None:
            raise ValidationError({"membership": _("Choose who joins the team.")})
        team.add_member(
            context,
            case,
            membership,
            post.get("role", ""),
            categories=post.getlist("categories"),
        )
        return _("The member is added; the person's consent is recorded.")
    if what == "remove":
        member = TeamMember.objects.filter(case=case, pk=_int(post.get("member"))).first()
        if member is None:
            raise ValidationError({"member": _("Choose a member of this team.")})
        team.remove_member(context, member)
        return _("The member has left the team and no longer sees the case.")
    if what == "referral":
        service = Service.objects.filter(pk=_uuid(post.get("service"))).first()
        if service is None:
            raise ValidationError({"service": _("Choose a service of the directory.")})
        _referral, created = referrals.send_referral(
            context,
            case,
            service,
            reason=post.get("reason", ""),
            urgency=post.get("urgency", ""),
            categories=post.getlist("categories"),
            due_date=_date(post.get("due_date"), "due_date"),
            idempotency_key=post.get("idempotency_key", ""),
        )
        return _("The referral is sent.") if created else _("This referral was already sent.")
    if what == "review":
        plans.record_review(
            context,
            case,
            held_on=_date(post.get("held_on"), "held_on", required=True),
            attendee_ids=[i for i in (_int(v) for v in post.getlist("attendees")) if i],
            decisions=post.get("decisions", ""),
            next_review=_date(post.get("next_review"), "next_review"),
        )
        return _("The review is recorded.")
    raise Http404


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@guards.requires("care.case.work")
def assess(
    request: HttpRequest, context: ActingContext, reference: str, set_key: str
) -> HttpResponse:
    case = _case(reference)
    question_set = next((s for s in assessments.current_sets() if s.key == set_key), None)
    if question_set is None:
        raise Http404
    if team.active_member(context, case) is None:
        return render(
            request,
            "identity/forbidden.html",
            {"reason": _("You are not a member of this case's team.")},
            status=403,
        )
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            assessments.record(
                context,
                case,
                question_set,
                {q["key"]: request.POST.get(q["key"]) for q in question_set.questions},
                _date(request.POST.get("taken_on"), "taken_on"),
            )
        except ValidationError as error:
            errors, status = _errors(error), 400
        else:
            messages.success(request, _("The assessment is recorded."))
            return redirect("care:case", reference=case.reference)
    questions = [
        {
            "key": q["key"],
            "text": assessments.text(q["text"]),
            "options": [(o["value"], assessments.text(o["label"])) for o in q["options"]],
            "chosen": request.POST.get(q["key"], ""),
        }
        for q in question_set.questions
    ]
    return render(
        request,
        "care/assess.html",
        {
            "case": case,
            "question_set": question_set,
            "description": assessments.text(question_set.description),
            "questions": questions,
            "errors": errors,
            "section": "care",
        },
        status=status,
    )


# --- A referral, for its receiver and its sender ------------------------------------------


def _visible_referral(context: ActingContext, referral_id: uuid.UUID) -> Referral:
    referral = get_object_or_404(
        Referral.objects.select_related("service__organization", "from_agency", "to_agency"),
        pk=referral_id,
    )
    keys = {referral.from_agency.key, referral.to_agency.key if referral.to_agency_id else None}
    if context.agency_key not in keys:
        raise Http404
    return referral


@guards.requires("care.workspace")
def referral_detail(
    request: HttpRequest, context: ActingContext, referral_id: uuid.UUID
) -> HttpResponse:
    referral = _visible_referral(context, referral_id)
    return _referral_page(request, context, referral)


def _referral_page(request, context, referral, errors=None, status=200) -> HttpResponse:
    receiver = referral.to_agency_id is not None and context.agency_key == referral.to_agency.key
    steps = [s for s, sources in referrals.MOVES.items() if referral.status in sources]
    return render(
        request,
        "care/referral.html",
        {
            "referral": referral,
            "receiver": receiver,
            "steps": [(s, Referral.Status(s).label) for s in steps],
            "outcomes": Referral.Outcome.choices,
            "history": referral.steps.select_related("by"),
            "errors": errors or [],
            "section": "care",
        },
        status=status,
    )


@require_POST
@guards.requires("care.case.work")
def referral_step(
    request: HttpRequest, context: ActingContext, referral_id: uuid.UUID
) -> HttpResponse:
    referral = _visible_referral(context, referral_id)
    try:
        referrals.move(
            context,
            referral,
            request.POST.get("status", ""),
            note=request.POST.get("note", ""),
            outcome=request.POST.get("outcome", ""),
        )
    except ValidationError as error:
        return _referral_page(request, context, referral, _errors(error), status=400)
    except PermissionDenied as refusal:
        return render(request, "identity/forbidden.html", {"reason": str(refusal)}, status=403)
    messages.success(request, _("The referral is updated; the sender sees it."))
    return redirect("care:referral", referral_id=referral.pk)


@guards.public
def referral_link(request: HttpRequest, token: str) -> HttpResponse:
    """A receiver off the platform reports back on the signed link they were e-mailed."""
    try:
        referral = referrals.referral_of_link(token)
    except PermissionDenied:
        raise Http404 from None  # a forged or expired link names nothing
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            referral = referrals.move_by_link(
                token,
                request.POST.get("status", ""),
                note=request.POST.get("note", ""),
                outcome=request.POST.get("outcome", ""),
            )
        except ValidationError as error:
            errors, status = _errors(error), 400
        else:
            messages.success(request, _("Thank you: the referring organisation sees your answer."))
            return redirect("care:referral-link", token=token)
    steps = [s for s, sources in referrals.MOVES.items() if referral.status in sources]
    return render(
        request,
        "care/referral.html",
        {
            "referral": referral,
            "receiver": True,
            "action": reverse("care:referral-link", kwargs={"token": token}),
            "steps": [(s, Referral.Status(s).label) for s in steps],
            "outcomes": Referral.Outcome.choices,
            "history": referral.steps.all(),
            "errors": errors,
            "public": True,
        },
        status=status,
    )


# --- The person's side --------------------------------------------------------------------


@guards.requires("care.mine")
def my_care(request: HttpRequest, context: ActingContext) -> HttpResponse:
    return _my_page(request, context)


def _my_page(request, context, errors=None, status=200) -> HttpResponse:
    return render(
        request,
        "care/my_care.html",
        {
            "mine": mine.my_case(context.person_id),
            "labels": dict(_categories()),
            "kinds": [(k.value, k.label) for k in PlanRequest.PERSON_KINDS],
            "errors": errors or [],
            "section": "my-services",
        },
        status=status,
    )


@require_POST
@guards.requires("care.mine.change")
def my_withdraw(request: HttpRequest, context: ActingContext) -> HttpResponse:
    try:
        count = mine.withdraw(context.person_id, _int(request.POST.get("agency")) or 0)
    except ValidationError as error:
        return _my_page(request, context, _errors(error), status=400)
    messages.success(
        request,
        _("Your consent is withdrawn: that agency no longer sees your plan.")
        if count
        else _("There was no consent in force for that agency."),
    )
    return redirect(reverse("care:mine"))


@require_POST
@guards.requires("care.mine.change")
def my_request(request: HttpRequest, context: ActingContext) -> HttpResponse:
    try:
        mine.ask(context, request.POST.get("kind", ""), request.POST.get("text", ""))
    except ValidationError as error:
        return _my_page(request, context, _errors(error), status=400)
    messages.success(request, _("Your request is sent to your lead professional."))
    return redirect(reverse("care:mine"))
