"""The account page (the mandates a person holds) and the staff console's person page (who
may act for the person) send as many SQL statements with 200 mandates as with 10."""

import datetime

import pytest
from django.test import Client

from joinedup.identity.client_registry import AddressInput, move
from joinedup.identity.models import Mandate, Person

from .conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def amara(small_federation, make_account):
    user = make_account(level=2)
    move(
        user.person,
        AddressInput("1 King St W", "Toronto", "ON", jurisdiction_code="CA-ON-TOR"),
        datetime.date.today(),
    )
    return user


def add_family(person: Person):
    """n more people, each holding a mandate for `person` and given one by them."""

    def add(count: int) -> None:
        start = Person.objects.count()
        people = Person.objects.bulk_create(
            Person(given_names=f"Relative {start + n}", family_name="Okafor") for n in range(count)
        )
        Mandate.objects.bulk_create(
            [
                *(
                    Mandate(holder=person, subject=other, kind="power_of_attorney", scopes=["view"])
                    for other in people
                ),
                *(
                    Mandate(holder=other, subject=person, kind="power_of_attorney", scopes=["view"])
                    for other in people
                ),
            ]
        )

    return add


def test_the_account_and_person_pages_do_not_query_per_mandate(
    amara, make_staff, queries_at_10_and_200
):
    person = amara.person
    own = Client()
    sign_in(own, amara)
    staff = Client()
    sign_in(staff, make_staff(agency="esdc", role="front_line"))

    def read():
        held = Mandate.objects.filter(holder=person).count()
        account = own.get("/en/account/")
        assert account.status_code == 200 and len(account.context["mandates"]) == held
        page = staff.get(f"/en/staff/people/{person.pk}/")
        assert page.status_code == 200
        assert len(page.context["mandates_given"]) == Mandate.objects.filter(subject=person).count()

    at_10, at_200 = queries_at_10_and_200(add_family(person), read)
    assert at_200 == at_10
