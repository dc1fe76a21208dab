"""The counter's and the phone console's person views send as many SQL statements when the
person has 200 applications as with 10 (each view shows the latest 50). A statement per
application, while the person waits at the desk or on the line, is what this prevents."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.channels import counter, phone
from joinedup.channels.models import Interaction
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application
from tests.delivery.conftest import copies_of, sign_in

from .conftest import birth_registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def amaras_application(world) -> Application:
    application, _ = submit_application(
        world.person(world.amara), "ca.birth-registration", birth_registration()
    )
    return application


def add_applications(template: Application):
    """n more applications of the person, every other one approved (the counter offers to
    issue the documents of approved applications)."""

    def add(count: int) -> None:
        copies = copies_of(template, count)
        Application.objects.filter(pk__in=[c.pk for c in copies[::2]]).update(status="approved")

    return add


def test_the_counter_person_view_does_not_query_per_application(
    world, amaras_application, queries_at_10_and_200
):
    visit = counter.start_visit(world.staff(world.esdc_clerk), world.amara.person)
    browser = sign_in(Client(), world.esdc_clerk, second_factor=True)

    def read():
        response = browser.get(f"/en/counter/visits/{visit.pk}/")
        assert response.status_code == 200
        shown = response.context["applications"]
        assert len(shown) == min(50, Application.objects.filter(applicant=visit.person).count())
        assert any(templates for _app, templates in shown)  # approved: documents to issue

    at_10, at_200 = queries_at_10_and_200(add_applications(amaras_application), read, start=1)
    assert at_200 == at_10


def test_the_phone_person_view_does_not_query_per_application(
    world, amaras_application, queries_at_10_and_200
):
    call = phone.start_call(world.staff(world.esdc_clerk), world.amara.person)
    Interaction.objects.filter(pk=call.pk).update(verified_at=timezone.now())
    browser = sign_in(Client(), world.esdc_clerk, second_factor=True)

    def read():
        response = browser.get(f"/en/phone/calls/{call.pk}/")
        assert response.status_code == 200
        shown = response.context["applications"]
        assert len(shown) == min(50, Application.objects.filter(applicant=call.person).count())

    at_10, at_200 = queries_at_10_and_200(add_applications(amaras_application), read, start=1)
    assert at_200 == at_10
