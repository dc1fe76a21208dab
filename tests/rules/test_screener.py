"""The benefits screener ("What could I get?"): public, computes every level's benefits for
a household from a few answers, links each to its service, stores nothing; a signed-in
parent starts from what the platform holds."""

import datetime

import pytest

from joinedup.identity.models import Address, Person, Relationship
from joinedup.rules import screener
from joinedup.rules.models import Entitlement

pytestmark = pytest.mark.django_db

URL = "/en/what-could-i-get/"


@pytest.fixture
def child_benefit(small_federation):
    """The federal benefit's service in the catalogue, for the screener to link to."""
    from joinedup.federation.models import Jurisdiction, Service

    return Service.objects.create(
        key="ca.child-benefit",
        names={"en": "Apply for the Canada Child Benefit", "fr": "Demander l'ACE"},
        scope=Jurisdiction.objects.get(code="CA"),
        frame="transactional",
        client_type="person",
    )


def ask(client, url=URL, **answers):
    return client.get(url, {"adults": 1, **answers})


def test_one_child_below_the_first_threshold_gets_the_federal_maximum(client, child_benefit):
    # Quebec has no rule package of its own: the federal benefit alone.
    # Under 6, income 30,000 below the threshold 38,237: 8,157 a year; / 12 = 679.75.
    response = ask(client, place="CA-QC", child_1=3, income=30000, period="2026-07")
    assert response.status_code == 200
    screening = response.context["result"]
    assert [(b.name, b.per_month) for b in screening.benefits] == [("Canada Child Benefit", 679.75)]
    assert screening.total_per_year == 8157.0
    page = response.content.decode()
    assert "$679.75" in page
    assert 'href="/en/services/ca.child-benefit/"' in page
    assert "Apply: Apply for the Canada Child Benefit" in page
    assert not Entitlement.objects.exists()


def test_every_level_stacks_at_toronto(client, small_federation):
    # Children 3 and 8, income 45,000, July 2026: federal (8,157 + 6,883) − 13.5% ×
    # (45,000 − 38,237) = 14,126.995 / 12 = 1,177.25; Ontario 172.94; Toronto's transit
    # discount 33.60 for the adult.
    response = ask(client, place="CA-ON-TOR", child_1=3, child_2=8, income=45000, period="2026-07")
    screening = response.context["result"]
    amounts = {b.name: b.per_month for b in screening.benefits}
    assert amounts == {
        "Canada Child Benefit": 1177.25,
        "Ontario Child Benefit": 172.94,
        "Fair Pass transit discount": 33.6,
    }
    assert screening.total_per_month == 1383.79
    levels = {b.name: b.level for b in screening.benefits}
    assert levels["Fair Pass transit discount"] == "Municipal or local"


def test_a_past_month_uses_the_law_of_that_month(client, small_federation):
    # July 2025: the maximum under 6 was 7,997; / 12 = 666.42.
    response = ask(client, place="CA-QC", child_1=3, income=30000, period="2025-07")
    assert [b.per_month for b in response.context["result"].benefits] == [666.42]


def test_the_answer_explains_itself_in_french(client, small_federation):
    response = client.get(
        "/fr/what-could-i-get/",
        {"place": "CA-QC", "adults": 1, "child_1": 3, "income": 30000, "period": "2026-07"},
    )
    page = response.content.decode()
    assert "Allocation canadienne pour enfants" in page
    assert "679,75" in page
    assert "Pourquoi ce montant" in page
    why = response.context["result"].benefits[0].why
    assert any(line.value == 8157 and line.unit == "money" for line in why)


def test_bad_answers_are_said_by_question(client, small_federation):
    response = ask(client, place="XX", child_1="three", income="lots")
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"place", "child_1", "income"}
    assert "Choose a place from the list." in response.content.decode()


def test_a_signed_in_parent_starts_from_what_the_platform_holds(client, small_federation):
    from joinedup.federation.models import Jurisdiction
    from joinedup.identity import assurance, mandates
    from joinedup.identity.models import User

    parent = Person.objects.create(given_names="Ada", family_name="Byron")
    child = Person.objects.create(
        given_names="Ann", family_name="Byron", birth_date=datetime.date(2022, 1, 15)
    )
    Relationship.objects.create(person=parent, kind="parent_of", related_person=child)
    Address.objects.create(
        person=parent,
        kind=Address.Kind.RESIDENTIAL,
        street_address="1 Main St",
        locality="Toronto",
        jurisdiction=Jurisdiction.objects.get(code="CA-ON-TOR"),
        valid_from=datetime.date(2020, 1, 1),
    )
    user = User.objects.create_user(username="ada", password="x", person=parent)
    assurance.record_proofing(parent, level=2, method="document_check")
    mandates.grant_parental_mandate(parent, child)
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    values = response.context["values"]
    assert values["place"] == "CA-ON-TOR"
    first = datetime.date.fromisoformat(screener.current_period() + "-01")
    assert values["child_1"] == str(screener._age_on(datetime.date(2022, 1, 15), first))
    assert "income" not in values
    assert 'id="prefilled"' in response.content.decode()


def test_anonymous_visitors_get_no_prefill(client, small_federation):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["values"] == {}


def test_the_person_reads_how_the_amount_was_made_in_plain_words(client, small_federation):
    """Two children of 3 and 8, income 45,000 last year: what they said and the law's
    figures that set the federal amount, only the rates for two children, in EN and FR."""
    answers = {"place": "CA-ON", "adults": 2, "child_1": 3, "child_2": 8, "income": 45000}
    english = client.get("/en/what-could-i-get/", {**answers, "period": "2026-07"})
    federal = english.context["result"].benefits[0]
    inputs = {line.label: line.value for line in federal.explanation.inputs}
    assert inputs == {"The children's ages": "3, 8", "The family's income in 2025": 45000.0}
    law = {line.label: line.value for line in federal.explanation.law}
    assert law["Yearly maximum per child under 6"] == 8157
    assert law["First phase-out rate for two children"] == 0.135
    assert "First phase-out rate for one child" not in law
    page = english.content.decode()
    assert "From what you told us:" in page
    assert "The family&#x27;s income in 2025: $45,000.00" in page
    assert "First phase-out rate for two children: 13.5%" in page
    assert "Yearly maximum per child under 6: $8,157.00 (since July 1, 2026)" in page

    french = client.get("/fr/what-could-i-get/", {**answers, "period": "2026-07"}).content
    french = french.decode().replace("\u00a0", " ").replace("\u202f", " ")
    assert "D’après ce que vous nous avez dit :" in french
    assert "Le revenu de la famille en 2025 : 45 000,00 $" in french
    assert "Premier taux de réduction pour deux enfants : 13,5 %" in french
    assert "Maximum annuel par enfant de moins de 6 ans : 8 157,00 $ (depuis le 1" in french
