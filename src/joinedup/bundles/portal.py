"""My services: everything a person has with every agency and jurisdiction, in one place.

The portal reads across apps — applications, documents and drafts (delivery), consents and
the access ledger (sharing), mandates (identity), bundles and offers (here) — for the person
the account acts for: themselves, or a family member who gave them a mandate. It writes
nothing; the pages and the API call these functions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import Http404

from joinedup.delivery import applications, clock
from joinedup.delivery.models import Application, Document, Draft
from joinedup.federation.models import Service
from joinedup.identity import mandates
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Mandate, Person
from joinedup.sharing.models import ConsentRecord

from . import submission
from .models import BundleDraft, BundleLeg, BundleSubmission, Offer


def load_submission(submission_id: uuid.UUID | str) -> BundleSubmission:
    found = (
        BundleSubmission.objects.select_related("bundle", "subject")
        .filter(pk=submission_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


def submissions_for(context: ActingContext):
    if context.subject_id is None:
        return BundleSubmission.objects.none()
    return BundleSubmission.objects.filter(subject_id=context.subject_id).select_related("bundle")


def offers_for(context: ActingContext, status: str | None = "open"):
    if context.subject_id is None:
        return Offer.objects.none()
    found = Offer.objects.filter(person_id=context.subject_id).select_related(
        "service", "bundle", "about", "application"
    )
    if status and status != "all":
        found = found.filter(status=status)
    return found


@dataclass
class BundleCard:
    submission: BundleSubmission
    legs: list
    status: str
    status_label: str
    due_date: Any


@dataclass
class Family:
    """Whom the account may switch to, and whom it acts for now."""

    me: Person | None
    subject: Person | None
    mandates: list[Mandate] = field(default_factory=list)


@dataclass
class MyServices:
    subject: Person | None
    family: Family
    bundles: list[BundleCard]
    applications: list[tuple[Application, Any]]
    documents: list[Document]
    offers: list[Offer]
    drafts: list[Draft]
    bundle_drafts: list[BundleDraft]
    consents: list[ConsentRecord]

    @property
    def agencies(self) -> int:
        return len({a.agency_id for a, _state in self.applications})

    @property
    def jurisdictions(self) -> int:
        return len(
            {
                a.agency.jurisdiction_id
                for a, _state in self.applications
                if a.agency.jurisdiction_id
            }
        )


def family_of(context: ActingContext) -> Family:
    me = Person.objects.filter(pk=context.person_id).first() if context.person_id else None
    subject = Person.objects.filter(pk=context.subject_id).first() if context.subject_id else None
    held = [m for m in mandates.acting_for(me) if m.subject_id is not None]
    return Family(me=me, subject=subject, mandates=held)


def gather(context: ActingContext) -> MyServices:
    """Everything for the person the context acts for (see the module's description)."""
    subject_id = context.subject_id
    subject = Person.objects.filter(pk=subject_id).first() if subject_id else None
    cards = []
    latest = list(submissions_for(context)[:20])
    legs_of = submission.legs_of_each(latest)
    for found in latest:
        legs = legs_of[found.pk]
        code, label = submission.status_of(legs)
        cards.append(BundleCard(found, legs, code, str(label), submission.due_date_of(legs)))
    in_bundles = {leg.application_id for card in cards for leg in card.legs}
    apps = [
        (a, clock.state(a))
        for a in applications.visible_to(context).select_related("agency__jurisdiction")[:100]
        if a.pk not in in_bundles
    ]
    documents = list(
        Document.objects.filter(Q(person_id=subject_id) | Q(application__applicant_id=subject_id))
        .filter(revoked_at__isnull=True)
        .select_related("issuer", "application")
        .distinct()[:50]
    )
    drafts = list(
        Draft.objects.filter(
            user_id=context.user_id, applicant_id=subject_id, submitted=None
        ).select_related("version__service")[:20]
    )
    bundle_drafts = list(
        BundleDraft.objects.filter(
            user_id=context.user_id, subject_id=subject_id, submitted=None
        ).select_related("bundle")[:20]
    )
    consents = list(
        ConsentRecord.objects.filter(subject_id=subject_id)
        .prefetch_related("recipients")
        .order_by("-given_at")[:50]
    )
    name_services(consents)
    return MyServices(
        subject=subject,
        family=family_of(context),
        bundles=cards,
        applications=apps,
        documents=documents,
        offers=list(offers_for(context)),
        drafts=drafts,
        bundle_drafts=bundle_drafts,
        consents=consents,
    )


def name_services(consents: list[ConsentRecord]) -> None:
    """Give each consent the names of the services it was given for (`consent.services`),
    so that a person reads "Canada Child Benefit" rather than a purpose's key: a bundle's
    legs and accepted offers record the consent they were sent under (three queries,
    whatever the number of consents)."""
    pairs: list[tuple[Any, int]] = []
    for model in (BundleLeg, Offer):
        pairs.extend(
            model.objects.filter(consent_id__in=[c.pk for c in consents]).values_list(
                "consent_id", "service_id"
            )
        )
    services = Service.objects.in_bulk({service_id for _consent, service_id in pairs})
    by_consent: dict[Any, list[str]] = {}
    for consent_id, service_id in pairs:
        names = by_consent.setdefault(consent_id, [])
        if services[service_id].name not in names:
            names.append(services[service_id].name)
    for consent in consents:
        consent.services = by_consent.get(consent.pk, [])
