"""Closing the loop: the owner's decision on each proposal, with reasons; "what we heard,
what we did" — the change an adopted proposal produced (a new service version, a bundle
edit named by the bundle definition's checksum before and after, a pilot) and later its
measured effect; and the participants told once per decision and per change, in a digest.

Who hears: the author and everyone who supported or commented on the proposal.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup.bundles.models import Bundle
from joinedup.delivery.models import ServiceVersion
from joinedup.delivery.notifications import sending
from joinedup.funding.models import Pilot
from joinedup.identity import policy
from joinedup.identity.acting import ActingContext
from joinedup.sharing import outbox

from . import effects as effects_module
from .models import Change, Comment, Notice, Proposal, Support, Visibility
from .participation import ParticipationError

EVENT = "org.joinedup.engagement."
SOURCE = "/engagement"
ADOPTED = {Proposal.Decision.ADOPTED, Proposal.Decision.ADOPTED_IN_PART}


def participants(proposal: Proposal) -> set[int]:
    """Person ids of the author, the supporters and the commenters of a proposal."""
    people = set(Support.objects.filter(proposal=proposal).values_list("person_id", flat=True))
    people |= set(
        Comment.objects.filter(proposal=proposal, author__isnull=False).values_list(
            "author_id", flat=True
        )
    )
    if proposal.author_id:
        people.add(proposal.author_id)
    return people


def _notify(proposal: Proposal, kind: str, change: Change | None = None) -> int:
    people = participants(proposal)
    Notice.objects.bulk_create(
        [
            Notice(
                person_id=pid,
                consultation_id=proposal.consultation_id,
                proposal=proposal,
                kind=kind,
                change=change,
            )
            for pid in sorted(people)
        ],
        ignore_conflicts=True,
    )
    return len(people)


def decide(context: ActingContext, proposal: Proposal, decision: str, reasons: str) -> Proposal:
    """Publish the owner's decision on a proposal, with its reasons."""
    policy.require(context, "engagement.decide", proposal.consultation)
    if decision not in Proposal.Decision.values:
        raise ParticipationError("decision", _("Choose adopted, adopted in part or not adopted."))
    reasons = (reasons or "").strip()
    if not reasons:
        raise ParticipationError("reasons", _("Give the reasons for the decision."))
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.decision:
            raise ParticipationError(
                "decided", _("This proposal already has a decision."), status=409
            )
        proposal.decision = decision
        proposal.decision_reasons = reasons[:5000]
        proposal.decided_at = timezone.now()
        proposal.decided_by_id = context.user_id
        proposal.save(update_fields=["decision", "decision_reasons", "decided_at", "decided_by"])
        _notify(proposal, Notice.Kind.DECISION)
        outbox.emit(
            EVENT + "proposal.decided",
            source=SOURCE,
            subject=str(proposal.pk),
            data={"consultation": proposal.consultation.key, "decision": decision},
        )
    return proposal


def link_change(
    context: ActingContext,
    proposal: Proposal,
    kind: str,
    descriptions: dict[str, str],
    *,
    service_version: ServiceVersion | None = None,
    bundle: Bundle | None = None,
    checksum_before: str = "",
    pilot: Pilot | None = None,
) -> Change:
    """Link an adopted proposal to the change it produced.

    A bundle edit is named by the definition's checksum before (given) and after (the
    bundle's checksum now): the two must differ, so a link always points at a real edit.
    A pilot may name the funding pilot it belongs to (evaluated there).
    """
    policy.require(context, "engagement.decide", proposal.consultation)
    proposal = Proposal.objects.select_related("consultation__owner").get(pk=proposal.pk)
    if proposal.decision not in ADOPTED:
        raise ParticipationError(
            "not_adopted", _("Only an adopted proposal is linked to a change."), status=409
        )
    if not any((descriptions or {}).get(lang, "").strip() for lang in ("en", "fr")):
        raise ParticipationError("description", _("Describe the change."))
    after = ""
    if kind == Change.Kind.SERVICE_VERSION:
        if service_version is None:
            raise ParticipationError("version", _("Choose the new version of the service."))
        bundle = None
    elif kind == Change.Kind.BUNDLE_EDIT:
        if bundle is None:
            raise ParticipationError("bundle", _("Choose the bundle that changed."))
        checksum_before = (checksum_before or "").strip().lower()
        if len(checksum_before) != 64:
            raise ParticipationError(
                "checksum", _("Give the checksum of the bundle's definition before the change.")
            )
        after = bundle.checksum
        if after == checksum_before:
            raise ParticipationError(
                "unchanged",
                _("The bundle's definition has not changed since that checksum."),
                status=409,
            )
        service_version = None
    elif kind == Change.Kind.PILOT:
        service_version, bundle, checksum_before = None, None, ""
    else:
        raise ParticipationError("kind", _("Choose what kind of change it was."))
    with transaction.atomic():
        change = Change.objects.create(
            proposal=proposal,
            kind=kind,
            descriptions={k: v.strip() for k, v in descriptions.items() if k in ("en", "fr")},
            service_version=service_version,
            bundle=bundle,
            checksum_before=checksum_before,
            checksum_after=after,
            pilot=pilot if kind == Change.Kind.PILOT else None,
        )
        _notify(proposal, Notice.Kind.CHANGE, change)
        outbox.emit(
            EVENT + "change.linked",
            source=SOURCE,
            subject=str(change.pk),
            data={
                "proposal": proposal.pk,
                "kind": kind,
                "pilot": change.pilot.key if change.pilot else None,
            },
        )
    return change


def pilot_links(pilot: Pilot) -> list[tuple[str, str]]:
    """The proposals (published) whose change is this funding pilot, for funding's pilot page
    (registered in `apps.ready`, since funding may not import engagement): one query."""
    changes = Change.objects.filter(
        pilot=pilot, proposal__visibility=Visibility.VISIBLE
    ).select_related("proposal__consultation")
    return [
        (
            _("Consultation “%(consultation)s”: the adopted proposal “%(proposal)s”")
            % {"consultation": c.proposal.consultation.title, "proposal": c.proposal.title},
            reverse("engagement:proposal", args=[c.proposal.consultation.key, c.proposal.pk]),
        )
        for c in changes
    ]


def record_effect(
    context: ActingContext,
    change: Change,
    effects: dict[str, str],
    at: datetime.datetime | None = None,
) -> Change:
    """Record the change's measured effect: the platform's figures before and after it (a
    service version or a bundle edit; kept as they are now) and the owner's words on them.
    The participants hear of it in their next digest, once."""
    policy.require(context, "engagement.decide", change.proposal.consultation)
    words = {k: v.strip() for k, v in (effects or {}).items() if k in ("en", "fr") and v.strip()}
    if not words:
        raise ParticipationError("effect", _("Say in words what the change achieved."))
    with transaction.atomic():
        change = (
            Change.objects.select_for_update(of=("self",))
            .select_related("proposal__consultation", "service_version", "bundle")
            .get(pk=change.pk)
        )
        first_time = change.effect_recorded_at is None
        measured = effects_module.measure(change, at)
        change.effects = {k: v[:5000] for k, v in words.items()}
        change.measured = measured.as_data() if measured is not None else {}
        change.effect_recorded_at = timezone.now()
        change.save(update_fields=["effects", "measured", "effect_recorded_at"])
        # Participants hear of the effect once; corrected words are read by a digest not
        # yet sent.
        if first_time:
            _notify(change.proposal, Notice.Kind.EFFECT, change)
        outbox.emit(
            EVENT + "change.effect_recorded",
            source=SOURCE,
            subject=str(change.pk),
            data={
                "proposal": change.proposal_id,
                "consultation": change.proposal.consultation.key,
                "kind": change.kind,
                "measured": change.measured,
            },
        )
    return change


def send_digests() -> int:
    """One digest per person of every decision and change they have not heard of yet: one
    e-mail (and text message) through delivery's notifications, and an outbox event. Returns
    how many digests."""
    with transaction.atomic():
        pending = list(
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(sent_at__isnull=True)
            .select_related("person", "proposal", "consultation", "change")
            .order_by("person_id", "created_at")
        )
        by_person: dict[int, list[Notice]] = defaultdict(list)
        for notice in pending:
            by_person[notice.person_id].append(notice)
        for person_id, notices in by_person.items():
            outbox.emit(
                EVENT + "digest",
                source=SOURCE,
                subject=str(person_id),
                data={
                    "person": person_id,
                    "decisions": [n.proposal_id for n in notices if n.kind == "decision"],
                    "changes": [n.change_id for n in notices if n.kind == "change"],
                    "effects": [n.change_id for n in notices if n.kind == "effect"],
                },
            )
            _email_digest(notices)
        Notice.objects.filter(pk__in=[n.pk for n in pending]).update(sent_at=timezone.now())
    return len(by_person)


def _digest_line(notice: Notice, language: str) -> str:
    """One line of a digest, in the person's language."""
    title = notice.proposal.title
    if notice.kind == Notice.Kind.EFFECT and notice.change is not None:
        change = notice.change
        said = change.effects.get(language) or change.effects.get("en") or ""
        measured = effects_module.Effect.from_data(change.measured)
        figures = (" " + effects_module.summary(measured)) if measured is not None else ""
        return _("“%(title)s”: the effect of the change: %(what)s%(figures)s") % {
            "title": title,
            "what": said,
            "figures": figures,
        }
    if notice.kind == Notice.Kind.CHANGE and notice.change is not None:
        change = notice.change
        said = change.descriptions.get(language) or change.descriptions.get("en") or ""
        kind = str(Change.Kind(change.kind).label)
        return _("“%(title)s” led to a change (%(kind)s): %(what)s") % {
            "title": title,
            "kind": kind,
            "what": said,
        }
    decision = (
        str(Proposal.Decision(notice.proposal.decision).label) if notice.proposal.decision else ""
    )
    return _("“%(title)s”: %(decision)s. %(reasons)s") % {
        "title": title,
        "decision": decision,
        "reasons": notice.proposal.decision_reasons,
    }


def _email_digest(notices: list[Notice]) -> None:
    """The person's digest by e-mail and text message (delivery's notification machinery:
    their preferred language, retries, delivery status)."""
    person = notices[0].person
    language = person.preferred_language if person.preferred_language in ("en", "fr") else "en"
    with translation.override(language):
        consultations = {n.consultation_id: n.consultation for n in notices}
        lines = []
        for consultation in consultations.values():
            lines.append(consultation.title)
            lines.extend(
                "- " + _digest_line(n, language)
                for n in notices
                if n.consultation_id == consultation.pk
            )
        first = next(iter(consultations.values()))
        path = reverse("engagement:results", args=[first.key])
        variables = {
            "name": person.preferred_name or person.given_names,
            "count": len(notices),
            "items": "\n".join(lines),
            "results_url": settings.PUBLIC_URL.rstrip("/") + path,
        }
    sending.notify(
        person,
        "engagement_digest",
        f"engagement-digest:{person.pk}:{notices[0].pk}:{notices[-1].pk}",
        variables,
    )
