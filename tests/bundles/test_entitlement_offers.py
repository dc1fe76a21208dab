"""Proactive offers of what the rules found: a population run's entitlement events become
one offer per person, benefit and month, with the estimated amount, shown in My services;
rerunning offers nothing twice."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from joinedup.bundles.models import Offer
from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Relationship
from joinedup.rules.entitlements import run_population
from joinedup.rules.models import Entitlement
from joinedup.sharing import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(world):
    kid = register_person(
        given_names="Zola",
        family_name="Okafor",
        birth_date=datetime.date(2024, 2, 1),
        address=AddressInput("40 Bay St", "Toronto", "", "M5J 2X2", "CA", "CA-ON-TOR"),
    )
    for parent in (world.amara.person, world.david.person):
        Relationship.objects.create(
            person=parent,
            kind=Relationship.Kind.PARENT_OF,
            related_person=kid,
            valid_from=datetime.date(2024, 2, 1),
        )
    return kid


def run(world) -> None:
    incomes = {world.amara.person.pk: {2025: 30000}, world.david.person.pk: {2025: 12000}}
    run_population("CA-ON-TOR", "2026-07", incomes)
    dispatch.dispatch_pending()


def test_an_entitlement_found_is_offered_once_with_its_amount(world, child, client):
    run(world)
    federal = Entitlement.objects.get(benefit="ca_child_benefit")
    offers = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    offer = offers.get(service__key="ca.child-benefit")
    assert offer.person_id == federal.person_id
    assert (offer.amount, offer.currency, offer.period) == (federal.amount, "CAD", "2026-07")
    assert offer.bundle.key == "newborn" and offer.status == Offer.Status.OPEN
    count = offers.count()

    # A rerun from scratch (the entitlements recomputed, new events) offers nothing new.
    Entitlement.objects.all().delete()
    run(world)
    assert Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).count() == count

    # The person sees the offer and its estimated amount in My services.
    parent = world.amara if federal.person_id == world.amara.person.pk else world.david
    client.force_login(parent)
    page = client.get("/en/my/").content.decode()
    assert f"Estimated at ${federal.amount:,.2f} a month." in page


def test_no_offer_for_a_benefit_without_a_service(world, child):
    run(world)
    services = set(
        Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).values_list(
            "service__key", flat=True
        )
    )
    assert services <= {"ca.child-benefit", "ca.provincial-child-benefit"}


def neighbours(count: int) -> list:
    return [
        register_person(
            given_names=f"Parent{n}",
            family_name="Test",
            birth_date=datetime.date(1990, 1, 1),
            address=AddressInput("1 King St", "Toronto", "", "M5H 1A1", "CA", "CA-ON-TOR"),
            contacts=[("email", f"parent{n}@example.org")],
        )
        for n in range(count)
    ]


def batch(people, benefit="ca_child_benefit", service="ca.child-benefit") -> list[dict]:
    return [
        {
            "entitlement": n,
            "person": p.pk,
            "benefit": benefit,
            "service": service,
            "jurisdiction": "CA",
            "period": "2026-07",
            "amount": "514.07",
        }
        for n, p in enumerate(people)
    ]


def test_a_batch_is_offered_in_bulk_once_per_person_benefit_and_month(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from joinedup.bundles import offers
    from joinedup.delivery.models import Notification

    few, many = neighbours(3), neighbours(12)
    offers.offer_entitlements(batch(few[:1]))  # warm the catalogue's caches
    with CaptureQueriesContext(connection) as at_2:
        made = offers.offer_entitlements(batch(few[1:]))
    with CaptureQueriesContext(connection) as at_12:
        offers.offer_entitlements(batch(many))
    assert len(made) == 2 and len(at_2) == len(at_12)
    made = Offer.objects.filter(person__in=few + many, trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    assert made.count() == 15
    offer = made.get(person=many[0])
    assert (offer.amount, offer.currency, offer.place, offer.event_id) == (
        Decimal("514.07"),
        "CAD",
        "CA-ON-TOR",
        "rules:ca_child_benefit:2026-07",
    )
    # One notification each, in one pass, queued for the periodic sender.
    notices = Notification.objects.filter(event="offer", person__in=few + many)
    assert notices.count() == 15 and set(notices.values_list("status", flat=True)) == {"queued"}
    assert notices.get(person=many[0]).recipient == "parent0@example.org"
    assert f"/offers/{offer.pk}/" in notices.get(person=many[0]).body

    # The same batch again (a rerun, or the event delivered twice): nothing new.
    assert offers.offer_entitlements(batch(many)) == []
    # Declined, it is still not offered again for that month; the next month it is.
    made.filter(person=many[1]).update(status=Offer.Status.DECLINED)
    assert offers.offer_entitlements(batch(many[1:2])) == []
    later = [dict(item, period="2026-08") for item in batch(many[1:2])]
    assert len(offers.offer_entitlements(later)) == 1
    assert Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND).count() == 16
    assert notices.count() == 16


def test_the_offer_page_explains_the_amount_in_plain_words(world, child, client):
    run(world)
    offer = Offer.objects.get(
        trigger=Offer.Trigger.ENTITLEMENT_FOUND, service__key="ca.child-benefit"
    )
    parent = world.amara if offer.person_id == world.amara.person.pk else world.david
    client.force_login(parent)
    page = client.get(f"/en/my/offers/{offer.pk}/").content.decode()
    # Zola is 2 in July 2026; the family's income is both parents' (30,000 + 12,000).
    assert "How we estimated it" in page
    assert "The children&#x27;s ages: 2" in page
    assert "The family&#x27;s income in 2025: $42,000.00" in page
    assert "Yearly maximum per child under 6: $8,157.00 (since July 1, 2026)" in page
    french = client.get(f"/fr/my/offers/{offer.pk}/").content.decode()
    french = french.replace("\u00a0", " ").replace("\u202f", " ")
    assert "Comment nous l’avons estimé" in french
    assert "Le revenu de la famille en 2025 : 42 000,00 $" in french
    assert "Maximum annuel par enfant de moins de 6 ans : 8 157,00 $" in french


def test_what_stops_an_offer_of_an_entitlement(world):
    """The same rules on SQLite (in Python) and on PostgreSQL (in one SQL statement): an
    application for the service in the year before the month stops the offer, one refused
    does not; a person unknown is skipped; a person named twice in a batch for one service
    gets one offer; an open offer of the service stops another month's."""
    from joinedup.bundles import offers
    from joinedup.delivery.models import Application, ApplicationStatus
    from joinedup.federation.models import Service
    from tests.delivery.conftest import copies_of

    applied, refused, twice, fresh = neighbours(4)
    template = Application.objects.filter(applicant=world.amara.person).first()
    if template is None:
        from joinedup.delivery.applications import submit_application
        from tests.delivery.conftest import birth_answers

        template, _ = submit_application(
            world.context(world.amara),
            "ca.birth-registration",
            birth_answers(birth_province="CA-ON"),
        )
    benefit = Service.objects.get(key="ca.child-benefit")
    first, second = copies_of(template, 2)
    submitted = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
    Application.objects.filter(pk=first.pk).update(
        applicant=applied, service=benefit, submitted_at=submitted
    )
    Application.objects.filter(pk=second.pk).update(
        applicant=refused,
        service=benefit,
        submitted_at=submitted,
        status=ApplicationStatus.REFUSED,
    )
    items = batch([applied, refused, twice, twice, fresh])
    items.append(dict(items[0], person=10**9))  # nobody
    made = offers.offer_entitlements(items)
    offered = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    assert len(made) == 3
    assert sorted(offered.values_list("person_id", flat=True)) == sorted(
        [refused.pk, twice.pk, fresh.pk]
    )
    assert set(offered.values_list("pk", flat=True)) == set(made)
    # An application over a year before the month does not stop it.
    march = [dict(item, period="2027-03") for item in batch([applied])]
    assert len(offers.offer_entitlements(march)) == 1
    # Still open, the offer of July stops another month's for the same service.
    assert offers.offer_entitlements(batch([fresh], service="ca.child-benefit")) == []
    later = [dict(item, period="2026-09") for item in batch([fresh])]
    assert offers.offer_entitlements(later) == []


def test_the_notices_of_offers_are_worded_as_one_by_one(world):
    """In bulk (on PostgreSQL filled in SQL from one rendering per language and service)
    each notice has exactly the words `notify` gives one offer: the person's name and
    language, the service, the link to the offer; the text message too."""
    from django.conf import settings
    from django.urls import reverse
    from django.utils import translation

    from joinedup.bundles import offers
    from joinedup.delivery.models import Notification
    from joinedup.delivery.notifications import templates
    from joinedup.federation.localization import pick
    from joinedup.identity.models import ContactPoint, Person

    english, french, spanish = neighbours(3)
    Person.objects.filter(pk=french.pk).update(preferred_language="fr", preferred_name="Zoé")
    Person.objects.filter(pk=spanish.pk).update(preferred_language="es")
    ContactPoint.objects.create(person=french, kind=ContactPoint.Kind.MOBILE, value="+15555550123")
    made = offers.offer_entitlements(batch([english, french, spanish]))
    assert len(made) == 3
    for offer in Offer.objects.filter(pk__in=made).select_related("person", "service"):
        person = offer.person
        language = person.preferred_language or "en"
        with translation.override(language):
            url = settings.PUBLIC_URL.rstrip("/") + reverse("bundles:offer", args=[offer.pk])
            reason = str(Offer.Trigger.ENTITLEMENT_FOUND.label)
        expected = templates.render(
            None,
            "offer",
            language,
            {
                "name": person.preferred_name or person.given_names,
                "service": pick(offer.service.names, language),
                "reason": reason,
                "message": "",
                "offer_url": url,
            },
        )
        notices = Notification.objects.filter(dedupe_key=f"offer:{offer.pk}")
        email = notices.get(channel="email")
        assert (email.subject, email.body, email.language) == (
            expected.subject,
            expected.body,
            language,
        )
        assert email.recipient == person.contact_points.get(kind="email").value
        if person == french:
            assert "Bonjour Zoé," in email.body
            sms = notices.get(channel="sms")
            last = [line for line in expected.body.splitlines() if line.strip()][-1]
            assert sms.body == f"{expected.subject} {last}"[:480]
            assert sms.recipient == "+15555550123"
        else:
            assert not notices.filter(channel="sms").exists()


THREE = (
    ("ca_child_benefit", "ca.child-benefit"),
    ("ca_on_child_benefit", "ca.provincial-child-benefit"),
    ("ca_education_savings", "ca.education-savings-referral"),
)


def test_a_person_offered_three_services_gets_one_notice_naming_all_three(world):
    """One notice per person and batch (a run puts all of a person's entitlements in one
    batch): three offers to one person are one e-mail (and one text message) listing each
    service with the link to its offer, in the person's language — the same words on
    SQLite (in Python) and on PostgreSQL (filled in SQL), and for a language without its
    own wording (English's). A person offered one service still gets the one-offer notice."""
    from django.conf import settings
    from django.urls import reverse
    from django.utils import translation

    from joinedup.bundles import offers
    from joinedup.delivery.models import Notification
    from joinedup.delivery.notifications import templates
    from joinedup.federation.localization import pick
    from joinedup.identity.models import ContactPoint, Person

    english, french, spanish, single = neighbours(4)
    Person.objects.filter(pk=french.pk).update(preferred_language="fr", preferred_name="Zoé")
    Person.objects.filter(pk=spanish.pk).update(preferred_language="es")
    ContactPoint.objects.create(person=french, kind=ContactPoint.Kind.MOBILE, value="+15555550123")
    items = [
        item
        for person in (english, french, spanish)
        for benefit, service in THREE
        for item in batch([person], benefit=benefit, service=service)
    ] + batch([single])
    made = offers.offer_entitlements(items)
    assert len(made) == 10

    notices = Notification.objects.filter(person__in=[english, french, spanish, single])
    # One e-mail per person (and Zoé's text message), not one per offer.
    assert sorted(notices.values_list("person_id", "channel")) == sorted(
        [(p.pk, "email") for p in (english, french, spanish, single)] + [(french.pk, "sms")]
    )
    for person in (english, french, spanish):
        person.refresh_from_db()
        language = person.preferred_language or "en"
        mine = Offer.objects.filter(person=person, pk__in=made).select_related("service")
        mine = sorted(mine, key=lambda offer: offer.service_id)
        assert len(mine) == 3
        with translation.override(language if language in ("en", "fr") else "en"):
            reason = str(Offer.Trigger.ENTITLEMENT_FOUND.label)
        lines = []
        for offer in mine:
            with translation.override(language):
                url = settings.PUBLIC_URL.rstrip("/") + reverse("bundles:offer", args=[offer.pk])
            lines.append(offers._line(language, pick(offer.service.names, language), url))
        expected = templates.render(
            None,
            "offers",
            language,
            {
                "name": person.preferred_name or person.given_names,
                "reason": reason,
                "offers": "\n".join(lines),
            },
        )
        email = notices.get(person=person, channel="email")
        assert (email.event, email.dedupe_key) == ("offers", f"offers:{mine[0].pk}")
        assert (email.subject, email.body, email.language) == (
            expected.subject,
            expected.body,
            language,
        )
        # Each service is named, each with the link to its own offer.
        for offer, line in zip(mine, lines, strict=True):
            assert pick(offer.service.names, language) in line and f"/{offer.pk}/" in line
            assert line in email.body
        if person == french:
            assert email.subject == "Des services pour vous"
            assert "Bonjour Zoé," in email.body and " : http" in lines[0]
            sms = notices.get(person=person, channel="sms")
            assert sms.body == f"{expected.subject} {' '.join(lines)}"[:480]
        else:
            assert email.subject == "Services for you" and ": http" in lines[0]
    # A single offer: the notice of one offer, as before.
    alone = notices.get(person=single)
    offer = Offer.objects.get(person=single, pk__in=made)
    assert (alone.event, alone.dedupe_key) == ("offer", f"offer:{offer.pk}")
    assert alone.subject.startswith("A service for you: ") and f"/{offer.pk}/" in alone.body


def test_a_run_tells_each_parent_once_of_everything_offered(world, child):
    """Through the population run and the outbox: the parent given both child benefits
    is offered both and gets one notice listing the two."""
    from joinedup.delivery.models import Notification

    run(world)
    offered = Offer.objects.filter(trigger=Offer.Trigger.ENTITLEMENT_FOUND)
    person = offered.first().person_id
    assert offered.filter(person_id=person).count() == 2
    notice = Notification.objects.get(
        person_id=person, channel="email", event__in=["offer", "offers"]
    )
    assert notice.event == "offers"
    for offer in offered.filter(person_id=person):
        assert f"/offers/{offer.pk}/" in notice.body
