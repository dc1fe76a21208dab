"""Pages of a change initiative (champions, training completion) and of a consultation's
invitations, in English and French, each asking the policy."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from joinedup.delivery import versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application
from joinedup.demo import loading
from joinedup.engagement.models import (
    AffectedRole,
    Champion,
    Initiative,
    Invitation,
    TrainingCompletion,
    TrainingModule,
)
from joinedup.federation.models import Service
from joinedup.identity.models import User
from tests.delivery.conftest import birth_answers

from .conftest import context_of, sign_in


@pytest.fixture
def initiative(federation):
    made = Initiative.objects.create(
        key="online-birth",
        names={"en": "Birth registration online", "fr": "Naissances en ligne"},
        owner=federation["serviceontario"],
        service=Service.objects.get(key="ca.birth-registration"),
        target_channel="online",
        go_live=timezone.localdate() - datetime.timedelta(days=5),
    )
    made.organisations.set([federation["serviceontario"], federation["dgeq"]])
    AffectedRole.objects.create(
        initiative=made,
        role="caseworker",
        changes={"en": "You review online registrations.", "fr": "Vous révisez en ligne."},
    )
    TrainingModule.objects.create(
        initiative=made, key="intro", names={"en": "Intro", "fr": "Introduction"}, role=""
    )
    return made


def test_champions_are_listed_for_staff_and_not_for_the_public(
    initiative, federation, staff_client, make_applicant
):
    worker, _context = staff_client(federation["serviceontario"], "caseworker")
    champion = User.objects.create_user(
        username="champ@example.org", email="champ@example.org", first_name="Chloé"
    )
    Champion.objects.create(initiative=initiative, user=champion, agency=federation["dgeq"])
    url = reverse("engagement:champions", args=[initiative.key])
    page = worker.get(url)
    assert page.status_code == 200 and "champ@example.org" in page.content.decode()
    french = worker.get(url.replace("/en/", "/fr/"))
    assert french.status_code == 200 and "Ambassadeurs" in french.content.decode()
    for_me = worker.get(reverse("engagement:initiative-for-me", args=[initiative.key]))
    assert "Chloé" in for_me.content.decode()
    citizen = sign_in(Client(), make_applicant(email="cit@example.org"))
    assert citizen.get(url).status_code == 403


def test_staff_record_training_and_the_completion_page_counts_it(
    initiative, federation, staff_client
):
    worker, context = staff_client(federation["serviceontario"], "caseworker")
    module = initiative.modules.get()
    done_url = reverse("engagement:training-done", args=[initiative.key, module.pk])
    assert worker.post(done_url).status_code == 302
    assert worker.post(done_url).status_code == 302  # once, whatever the clicks
    assert TrainingCompletion.objects.filter(user_id=context.user_id).count() == 1
    for_me = worker.get(reverse("engagement:initiative-for-me", args=[initiative.key]))
    assert "completed" in for_me.content.decode()
    outsider, _c = staff_client(federation["toronto"], "caseworker", "out@toronto.example")
    assert outsider.post(done_url).status_code == 403  # not an organisation of the initiative
    assert (
        worker.post(reverse("engagement:training-done", args=[initiative.key, 999999])).status_code
        == 404
    )
    analyst, _c = staff_client(federation["serviceontario"], "analyst", "an@so.example")
    page = analyst.get(reverse("engagement:training", args=[initiative.key]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-chart="training-data"' in text and "Data of the chart" in text
    assert worker.get(reverse("engagement:training", args=[initiative.key])).status_code == 403


def test_the_owner_invites_people_who_used_the_service(
    consultation, federation, staff_client, make_applicant
):
    versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json")
    for n in range(3):
        user = make_applicant(email=f"used{n}@example.org")
        submit_application(context_of(user), "ca.birth-registration", birth_answers())
    Application.objects.update(completed_at=timezone.now())
    owner, _c = staff_client(federation["serviceontario"], "supervisor", "sup@so.example")
    url = reverse("engagement:invitations", args=[consultation.key])
    page = owner.get(url)
    assert page.status_code == 200
    bad = owner.post(url, {"months": "0", "sample": "10"})
    assert bad.status_code == 400 and "from 1 to 24" in bad.content.decode()
    assert owner.post(url, {"months": "6", "sample": "10"}).status_code == 302
    assert Invitation.objects.filter(consultation=consultation).count() == 3
    shown = owner.get(url).content.decode()
    assert 'data-testid="invitation-counts"' in shown
    assert owner.get(url.replace("/en/", "/fr/")).status_code == 200
    clerk, _c = staff_client(federation["toronto"], "front_line", "fl@toronto.example")
    assert clerk.get(url).status_code == 403
    citizen = sign_in(Client(), make_applicant(email="cit2@example.org"))
    assert citizen.post(url, {"months": "6", "sample": "10"}).status_code == 403
