"""Fixtures for engagement: the small federation with ombudsmen, people, staff, consultations."""

from __future__ import annotations

import datetime

import pytest

from joinedup.federation.models import Agency, Jurisdiction
from joinedup.identity import acting
from tests.delivery.conftest import (  # noqa: F401 (fixtures shared with delivery's tests)
    delivery_settings,
    federation,
    make_applicant,
    make_staff,
    sign_in,
    staff_client,
)


@pytest.fixture
def ombudsmen(federation):  # noqa: F811 (the fixture imported above)
    """Ontario's ombudsman and Canada's (Toronto has none: Ontario's answers for it)."""
    made = {}
    for key, code, en, fr in (
        ("ombudsman-on", "CA-ON", "Ombudsman Ontario", "Ombudsman Ontario"),
        ("ombudsman-ca", "CA", "Federal Ombudsperson", "Ombudsman fédéral"),
    ):
        made[key] = Agency.objects.create(
            key=key,
            kind=Agency.Kind.OMBUDSMAN,
            jurisdiction=Jurisdiction.objects.get(code=code),
            names={"en": en, "fr": fr},
        )
    return made


def context_of(user):
    return acting.for_user(user)


def today() -> datetime.date:
    return datetime.date.today()


@pytest.fixture
def consultation(federation):  # noqa: F811 (the fixture imported above)
    """A consultation of ServiceOntario on birth registration, open to Toronto's residents,
    in its proposals phase today."""
    from joinedup.engagement.models import Consultation, Phase, SurveyQuestion
    from joinedup.federation.models import Service

    made = Consultation.objects.create(
        key="birth-registration-online",
        titles={"en": "Registering a birth online", "fr": "Enregistrer une naissance en ligne"},
        questions={
            "en": "What would make it easier?",
            "fr": "Qu'est-ce qui la rendrait plus facile?",
        },
        owner=federation["serviceontario"],
        service=Service.objects.get(key="ca.birth-registration"),
        place=Jurisdiction.objects.get(code="CA-ON-TOR"),
        audiences=["residents", "partners", "staff"],
    )
    day = today()
    Phase.objects.create(
        consultation=made,
        kind="information",
        starts_on=day - datetime.timedelta(days=20),
        ends_on=day - datetime.timedelta(days=11),
    )
    Phase.objects.create(
        consultation=made,
        kind="proposals",
        starts_on=day - datetime.timedelta(days=10),
        ends_on=day + datetime.timedelta(days=10),
    )
    Phase.objects.create(
        consultation=made,
        kind="decision",
        starts_on=day + datetime.timedelta(days=11),
        ends_on=day + datetime.timedelta(days=30),
    )
    SurveyQuestion.objects.create(
        consultation=made,
        key="ease",
        position=1,
        kind="scale",
        texts={"en": "How easy was it?", "fr": "Était-ce facile?"},
    )
    SurveyQuestion.objects.create(
        consultation=made,
        key="channel",
        position=2,
        kind="choice",
        texts={"en": "How did you register?", "fr": "Comment avez-vous enregistré?"},
        options=[
            {"key": "online", "en": "Online", "fr": "En ligne"},
            {"key": "mail", "en": "By mail", "fr": "Par la poste"},
        ],
    )
    return made
