"""Taking part in a consultation: who may, when, and how often.

- Who: each consultation names its audiences. The public is any signed-in person; residents
  are people whose address on record lies in the consultation's place; partner
  organisations are the agencies with a partner role in the service (or its bundle's
  services) and community organisations, speaking through their staff; staff are those of
  the owner and of the partners.
- When: proposals in the proposals phase; comments and supports in the proposals and
  deliberation phases; the survey in any phase before the decision. Dates are read in the
  owner's time zone.
- One support per person: a support belongs to the person, not to the account that gave it
  (the person's own account and someone acting for them count once — the database refuses
  a second), and only a person whose identity was verified (level 2 or more) supports.
  Two registry records of one human that the client index linked (one merged into the
  other) are one person: the second support is refused, and supports given before the
  link count once (`linked_duplicates`, `recount_supports`).
- How often: at most ENGAGEMENT_CONTRIBUTIONS_PER_HOUR proposals and comments per account
  per hour, so nobody floods a consultation.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.clientindex import clusters, holdings
from joinedup.clientindex.models import PersonAlias
from joinedup.federation.calendars import calendar_for
from joinedup.federation.models import Agency, PartnerRole
from joinedup.identity import assurance, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Person

from .models import (
    Audience,
    Comment,
    Consultation,
    Phase,
    Proposal,
    Support,
    SurveyAnswer,
    SurveyQuestion,
    Visibility,
)

MAX_BODY = 5000
MAX_TITLE = 200
MAX_DEPTH = 5
PROPOSING = {Phase.Kind.PROPOSALS}
DISCUSSING = {Phase.Kind.PROPOSALS, Phase.Kind.DELIBERATION}
SURVEYING = {Phase.Kind.INFORMATION, Phase.Kind.PROPOSALS, Phase.Kind.DELIBERATION}


class ParticipationError(Exception):
    """A contribution refused; `code` for machines, `message` for people."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def today_for(consultation: Consultation) -> datetime.date:
    jurisdiction = consultation.owner.jurisdiction or consultation.place
    if jurisdiction is None:
        return timezone.localdate()
    return calendar_for(jurisdiction).local_date(timezone.now())


def current_phase(consultation: Consultation, on: datetime.date | None = None) -> Phase | None:
    day = on or today_for(consultation)
    for phase in consultation.phases.all():
        if phase.starts_on <= day <= phase.ends_on:
            return phase
    return None


def partner_agencies(consultation: Consultation) -> set[str]:
    """Keys of the partner organisations of the consultation's service (or bundle)."""
    keys: set[str] = set()
    services = []
    if consultation.service_id:
        services.append(consultation.service_id)
    if consultation.bundle_id:
        legs = (consultation.bundle.definition or {}).get("legs") or []
        wanted = [leg.get("service") for leg in legs if isinstance(leg, dict)]
        services += list(
            PartnerRole.objects.filter(service__key__in=wanted).values_list("service_id", flat=True)
        )
    if services:
        keys |= set(
            PartnerRole.objects.filter(service_id__in=services).values_list(
                "agency__key", flat=True
            )
        )
    keys |= set(Agency.objects.filter(kind=Agency.Kind.COMMUNITY).values_list("key", flat=True))
    return keys


@dataclass(frozen=True)
class Standing:
    """How someone takes part: as a person, or for an organisation."""

    person: Person | None
    organisation: Agency | None


def standing(context: ActingContext, consultation: Consultation) -> Standing:
    """Whether the actor may take part, and as whom; raises ParticipationError saying why not."""
    policy.require(context, "engagement.contribute", consultation)
    audiences = set(consultation.audiences)
    if context.is_staff:
        owner = consultation.owner.key
        if Audience.STAFF in audiences and context.agency_key == owner:
            return Standing(None, consultation.owner)
        if context.agency_key in partner_agencies(consultation) and (
            Audience.PARTNERS in audiences or Audience.STAFF in audiences
        ):
            return Standing(None, Agency.objects.get(key=context.agency_key))
        raise ParticipationError(
            "not_invited",
            _("This consultation does not invite your organisation."),
            status=403,
        )
    person = Person.objects.get(pk=context.person_id)
    if Audience.PUBLIC in audiences:
        return Standing(person, None)
    if Audience.RESIDENTS in audiences and consultation.place_id:
        address = person.current_address()
        if (
            address is not None
            and address.jurisdiction_id
            and consultation.place.contains(address.jurisdiction)
        ):
            return Standing(person, None)
        raise ParticipationError(
            "not_resident",
            _("This consultation is for residents of %(place)s, by the address on record.")
            % {"place": consultation.place.name},
            status=403,
        )
    raise ParticipationError(
        "not_invited", _("This consultation is not open to the public."), status=403
    )


def _require_phase(consultation: Consultation, allowed: set[str], what: str) -> None:
    phase = current_phase(consultation)
    if phase is None or phase.kind not in allowed:
        raise ParticipationError("closed", what, status=409)


def contributions_per_hour() -> int:
    return int(getattr(settings, "ENGAGEMENT_CONTRIBUTIONS_PER_HOUR", 10))


def _check_rate(context: ActingContext) -> None:
    """Refuse a contribution beyond the hourly limit of the account (429)."""
    since = timezone.now() - datetime.timedelta(hours=1)
    made = (
        Proposal.objects.filter(account_id=context.user_id, created_at__gte=since).count()
        + Comment.objects.filter(account_id=context.user_id, created_at__gte=since).count()
    )
    if made >= contributions_per_hour():
        raise ParticipationError(
            "rate_limited",
            _("You have contributed a lot in the last hour. Please wait a while and try again."),
            status=429,
        )


def _text(value: str, limit: int, empty: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ParticipationError("empty", empty)
    if len(value) > limit:
        raise ParticipationError(
            "too_long", _("Please keep it under %(n)s characters.") % {"n": limit}
        )
    return value


def submit_proposal(
    context: ActingContext, consultation: Consultation, title: str, body: str
) -> Proposal:
    """A proposal from a person, or a formal position from an organisation's staff."""
    who = standing(context, consultation)
    _require_phase(
        consultation, PROPOSING, _("This consultation is not taking proposals at the moment.")
    )
    title = _text(title, MAX_TITLE, _("Give your proposal a title."))
    body = _text(body, MAX_BODY, _("Describe your proposal."))
    with transaction.atomic():
        _check_rate(context)
        return Proposal.objects.create(
            consultation=consultation,
            kind=Proposal.Kind.POSITION if who.organisation else Proposal.Kind.PROPOSAL,
            author=who.person,
            organisation=who.organisation,
            account_id=context.user_id,
            title=title,
            body=body,
        )


def comment(
    context: ActingContext, proposal: Proposal, body: str, parent: Comment | None = None
) -> Comment:
    """A comment on a proposal, or a reply to a comment (threads up to MAX_DEPTH deep)."""
    consultation = proposal.consultation
    who = standing(context, consultation)
    _require_phase(consultation, DISCUSSING, _("Comments are closed for this consultation."))
    if proposal.visibility != Visibility.VISIBLE:
        raise ParticipationError("hidden", _("This proposal was taken down."), status=409)
    if parent is not None and parent.proposal_id != proposal.pk:
        raise ParticipationError("parent", _("You can only reply to a comment on this proposal."))
    depth = 0 if parent is None else min(parent.depth + 1, MAX_DEPTH)
    body = _text(body, MAX_BODY, _("Write your comment."))
    with transaction.atomic():
        _check_rate(context)
        return Comment.objects.create(
            consultation=consultation,
            proposal=proposal,
            parent=parent,
            depth=depth,
            author=who.person,
            organisation=who.organisation,
            account_id=context.user_id,
            body=body,
        )


def support_assurance() -> int:
    return int(getattr(settings, "ENGAGEMENT_SUPPORT_ASSURANCE", 2))


def support(context: ActingContext, proposal: Proposal) -> Support:
    """One support per verified person, whichever account gives it."""
    who = standing(context, proposal.consultation)
    if who.person is None:
        raise ParticipationError(
            "person_only", _("Supports are counted per person, not per organisation."), 403
        )
    _require_phase(
        proposal.consultation, DISCUSSING, _("Supports are closed for this consultation.")
    )
    if proposal.visibility != Visibility.VISIBLE:
        raise ParticipationError("hidden", _("This proposal was taken down."), status=409)
    if assurance.level_of(who.person) < support_assurance():
        raise ParticipationError(
            "not_verified",
            _("Verify your identity to support a proposal: each person counts once."),
            status=403,
        )
    # The person and every registry record the client index linked to them count once.
    linked = holdings.person_ids(who.person)
    try:
        with transaction.atomic():
            if Support.objects.filter(proposal=proposal, person_id__in=linked).exists():
                raise IntegrityError
            made = Support.objects.create(
                proposal=proposal, person=who.person, account_id=context.user_id
            )
            Proposal.objects.filter(pk=proposal.pk).update(supports_count=F("supports_count") + 1)
    except IntegrityError:
        raise ParticipationError(
            "already_supported", _("You already support this proposal."), status=409
        ) from None
    return made


def withdraw_support(context: ActingContext, proposal: Proposal) -> None:
    who = standing(context, proposal.consultation)
    with transaction.atomic():
        Support.objects.filter(proposal=proposal, person=who.person).delete()
        recount_supports([proposal.pk])


def _merged_person() -> Q:
    """Supports by a person the client index merged into another: driven from the (few)
    merged persons, so a consultation of a million supports is not joined whole."""
    return Q(person_id__in=PersonAlias.objects.values("person_id"))


def linked_duplicates(supports: QuerySet[Support]) -> dict[int, int]:
    """Per proposal, the supports beyond the first of one person whose registry records the
    client index linked (given before the link was made). Only supports by a person merged
    into another are looked at: one query when there are none."""
    aliased = set(supports.filter(_merged_person()).values_list("proposal_id", flat=True))
    if not aliased:
        return {}
    pairs = list(supports.filter(proposal_id__in=aliased).values_list("proposal_id", "person_id"))
    people = {p.pk: p for p in Person.objects.filter(pk__in={pk for _, pk in pairs}).only("pk")}
    now_is = {pk: clusters.resolve(person).pk for pk, person in people.items()}
    seen: dict[int, set[int]] = {}
    extra: dict[int, int] = {}
    for proposal_id, person_id in pairs:
        counted = seen.setdefault(proposal_id, set())
        if now_is[person_id] in counted:
            extra[proposal_id] = extra.get(proposal_id, 0) + 1
        counted.add(now_is[person_id])
    return extra


def recount_supports(proposal_ids: list[int] | None = None) -> int:
    """Set each proposal's support count to its supporting persons, linked records counted
    once. Without ids: the proposals supported by a person merged into another since (the
    daily job). Returns how many counts changed."""
    if proposal_ids is None:
        proposal_ids = list(
            Support.objects.filter(_merged_person())
            .values_list("proposal_id", flat=True)
            .distinct()
        )
    supports = Support.objects.filter(proposal_id__in=proposal_ids)
    extra = linked_duplicates(supports)
    raw: dict[int, int] = dict.fromkeys(proposal_ids, 0)
    for proposal_id in supports.values_list("proposal_id", flat=True):
        raw[proposal_id] += 1
    changed = 0
    for proposal_id, count in raw.items():
        changed += (
            Proposal.objects.filter(pk=proposal_id)
            .exclude(supports_count=count - extra.get(proposal_id, 0))
            .update(supports_count=count - extra.get(proposal_id, 0))
        )
    return changed


def answer_survey(
    context: ActingContext, consultation: Consultation, answers: dict[str, str]
) -> int:
    """Record (or change) the person's survey answers; unknown questions and options are
    refused, all or nothing. Returns how many were recorded."""
    who = standing(context, consultation)
    if who.person is None:
        raise ParticipationError("person_only", _("The survey is answered by people."), 403)
    _require_phase(consultation, SURVEYING, _("The survey is closed."))
    questions = {q.key: q for q in SurveyQuestion.objects.filter(consultation=consultation)}
    if not isinstance(answers, dict) or not answers:
        raise ParticipationError("empty", _("Answer at least one question."))
    cleaned: dict[SurveyQuestion, str] = {}
    for key, raw in answers.items():
        question = questions.get(key)
        if question is None:
            raise ParticipationError("unknown_question", _("That question is not in the survey."))
        value = str(raw or "").strip()
        if not value:
            continue
        if question.kind == SurveyQuestion.Kind.CHOICE and value not in {
            o.get("key") for o in question.options
        }:
            raise ParticipationError(
                "unknown_option",
                _("Choose one of the answers offered to “%(q)s”.") % {"q": question.text},
            )
        if question.kind == SurveyQuestion.Kind.SCALE and value not in {"1", "2", "3", "4", "5"}:
            raise ParticipationError(
                "scale", _("Answer “%(q)s” from 1 to 5.") % {"q": question.text}
            )
        cleaned[question] = value[:MAX_BODY]
    with transaction.atomic():
        for question, value in cleaned.items():
            SurveyAnswer.objects.update_or_create(
                question=question, person=who.person, defaults={"value": value}
            )
    return len(cleaned)
