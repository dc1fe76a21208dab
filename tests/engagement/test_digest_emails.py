"""Participants are told by e-mail, once per decision and per change, in a digest: one
message per person with everything new, in their language — not a stream."""

from __future__ import annotations

import pytest
from django.core import mail

from joinedup.delivery import versions
from joinedup.delivery.models import Notification
from joinedup.delivery.notifications import sending
from joinedup.demo import loading
from joinedup.engagement import decisions, participation

from .conftest import context_of


@pytest.fixture
def owner(make_staff, federation):
    return make_staff(federation["serviceontario"], "supervisor", "sup@serviceontario.example")


def test_one_email_per_person_with_every_decision_and_change(
    consultation, make_applicant, owner, django_capture_on_commit_callbacks
):
    author = make_applicant(email="author@example.org", place="CA-ON-TOR")
    fan = make_applicant(email="fan@example.org", place="CA-ON-TOR", language="fr")
    first = participation.submit_proposal(
        context_of(author), consultation, "Save my answers", "Let me come back."
    )
    second = participation.submit_proposal(
        context_of(author), consultation, "Fewer questions", "Ask less."
    )
    participation.support(context_of(fan), first)
    decisions.decide(owner, first, "adopted", "Many asked for it.")
    decisions.decide(owner, second, "not_adopted", "The law asks these questions.")
    version = versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json").version
    decisions.link_change(
        owner,
        first,
        "service_version",
        {"en": "Answers are saved as you go.", "fr": "Les réponses sont enregistrées."},
        service_version=version,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert decisions.send_digests() == 2
    sending.send_due()  # what the queue (or the periodic job) does with queued notifications
    by_person = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_person) == ["author@example.org", "fan@example.org"]  # one each
    to_author = by_person["author@example.org"]
    assert "What was decided" in to_author.subject
    assert "Save my answers" in to_author.body and "Fewer questions" in to_author.body
    assert "The law asks these questions." in to_author.body
    assert "Answers are saved as you go." in to_author.body
    assert "/en/consultations/birth-registration-online/results/" in to_author.body
    to_fan = by_person["fan@example.org"]  # in French, only what the fan took part in
    assert "Ce qui a été décidé" in to_fan.subject
    assert "Les réponses sont enregistrées." in to_fan.body
    assert "Fewer questions" not in to_fan.body
    assert Notification.objects.filter(event="engagement_digest", channel="email").count() == 2
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert decisions.send_digests() == 0
    sending.send_due()
    assert mail.outbox == []  # told once
