"""An Idempotency-Key reused by someone acting for two people.

David (a demo parent) holds a mandate for each of his two children. His client sends the
birth registration of each with the same key and the same answers (a retry loop that keeps
its key across people, or a careless one): each child gets their own application, and a
replay for one child answers with that child's application, never the other's.
"""

from __future__ import annotations

import datetime
import json

import pytest

from joinedup.delivery import applications
from joinedup.delivery.models import Application
from joinedup.demo.identities import create_demo_identities
from joinedup.identity import acting, mandates, tokens
from joinedup.identity.client_registry import register_person
from joinedup.identity.models import Person, User

from .conftest import birth_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def david_and_children(birth_registration):
    create_demo_identities()
    david = User.objects.get(username="david@example.org")
    born = datetime.date.today() - datetime.timedelta(days=3)
    children = [
        register_person(given_names=name, family_name="Okafor", birth_date=born)
        for name in ("Noor", "Ada")
    ]
    for child in children:
        mandates.grant_parental_mandate(david.person, child)
    return david, children


def test_one_key_for_two_people_makes_one_application_each(client, david_and_children):
    david, children = david_and_children
    _token, secret = tokens.create_personal_token(david, name="test", scopes=["read", "write"])
    body = json.dumps({"service": "ca.birth-registration", "answers": birth_answers()})
    answers = []
    for child in [*children, *children]:  # each twice: the replays come after both
        answers.append(
            client.post(
                "/api/v1/applications",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
                HTTP_IDEMPOTENCY_KEY="same-key",
                HTTP_X_ACTING_FOR=str(child.pk),
            )
        )
    assert [a.status_code for a in answers] == [201, 201, 200, 200], [a.content for a in answers]
    first, second, first_again, second_again = (a.json()["id"] for a in answers)
    assert first != second
    assert (first_again, second_again) == (first, second)
    by_id = {str(a.pk): a.applicant_id for a in Application.objects.all()}
    assert by_id == {first: children[0].pk, second: children[1].pk}


def test_the_fingerprint_names_the_applicant_and_the_actor():
    """The same answers for two people, or sent by two actors, are two submissions."""
    answers = birth_answers()
    one = applications.fingerprint("ca.birth-registration", answers, None, 1, "user:7")
    assert one == applications.fingerprint("ca.birth-registration", answers, None, 1, "user:7")
    assert one != applications.fingerprint("ca.birth-registration", answers, None, 2, "user:7")
    assert one != applications.fingerprint("ca.birth-registration", answers, None, 1, "user:8")


def test_a_key_is_scoped_to_the_person_acted_for(david_and_children):
    david, children = david_and_children
    for_first = acting.for_user(david, subject_id=children[0].pk)
    for_second = acting.for_user(david, subject_id=children[1].pk)
    for_self = acting.for_user(david)
    scopes = {applications.idempotency_scope(c) for c in (for_first, for_second, for_self)}
    assert len(scopes) == 3
    assert applications.idempotency_scope(for_self) == f"user:{david.pk}"
    assert Person.objects.filter(pk__in=[c.pk for c in children]).count() == 2
