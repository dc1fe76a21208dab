"""A change a consultation produced, linked to the service version it made, and its
measured effect from the platform: applications before and after, kept when the owner
records the effect, told once to the participants, and announced on the outbox."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from joinedup.delivery import versions
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import Application
from joinedup.demo import loading
from joinedup.engagement import decisions, effects, participation
from joinedup.engagement.models import Change, Notice
from joinedup.engagement.participation import ParticipationError
from joinedup.identity.policy import PolicyDenied
from joinedup.sharing.models import OutboxEvent
from tests.delivery.conftest import birth_answers

from .conftest import context_of


@pytest.fixture
def resident(make_applicant):
    return make_applicant(email="res@example.org", place="CA-ON-TOR")


@pytest.fixture
def owner(make_staff, federation):
    return make_staff(federation["serviceontario"], "supervisor", "sup@serviceontario.example")


def _applications(context, count, *, days_ago, met):
    made = [
        submit_application(context, "ca.birth-registration", birth_answers())[0]
        for _n in range(count)
    ]
    Application.objects.filter(pk__in=[a.pk for a in made]).update(
        submitted_at=timezone.now() - datetime.timedelta(days=days_ago),
        completed_at=timezone.now(),
        met_standard=None if met is None else False,
    )
    return made


@pytest.fixture
def adopted(consultation, resident, owner, make_applicant):
    """An adopted proposal; four applications on version 1 before the new version (one
    within the standard of the three measured), then version 2 and three after (all three
    within it)."""
    applicant = make_applicant(email="user@example.org")
    context = context_of(applicant)
    old = versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json").version
    Application.objects.all().delete()
    before = _applications(context, 4, days_ago=30, met=False)
    Application.objects.filter(pk=before[0].pk).update(met_standard=True)
    Application.objects.filter(pk=before[3].pk).update(met_standard=None)
    new = versions.deploy(
        "ca.birth-registration", old.bpmn, {**old.form, "title": {"en": "v2"}}
    ).version
    after = _applications(context, 3, days_ago=0, met=True)
    Application.objects.filter(pk__in=[a.pk for a in after]).update(
        met_standard=True, submitted_at=timezone.now()
    )
    proposal = participation.submit_proposal(
        context_of(resident), consultation, "Save my answers", "Let me stop and come back."
    )
    fan = make_applicant(email="fan@example.org")
    participation.support(context_of(fan), proposal)
    decisions.decide(owner, proposal, "adopted", "Many asked for it.")
    return proposal, new


def test_a_service_version_change_is_measured_before_and_after(adopted, owner):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Answers saved."}, service_version=new
    )
    found = effects.measure(change)
    assert (found.before.received, found.after.received) == (4, 3)
    assert found.before.within_standard == pytest.approx(1 / 3)
    assert found.after.within_standard == 1.0
    rows = {row[0]: row[1:] for row in effects.rows(found)}
    assert rows["Finished within the service standard"] == ["33.3 %", "100.0 %", "+66.7 points"]
    # A pilot is not measured by the platform.
    pilot = decisions.link_change(owner, proposal, "pilot", {"en": "Tried at two counters."})
    assert effects.measure(pilot) is None


def test_recording_the_effect_keeps_the_figures_and_tells_participants_once(adopted, owner):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Answers saved."}, service_version=new
    )
    with pytest.raises(ParticipationError):
        decisions.record_effect(owner, change, {"en": "  "})  # words are required
    decisions.record_effect(
        owner, change, {"en": "Fewer people start again.", "fr": "Moins de reprises."}
    )
    change.refresh_from_db()
    assert change.measured["after"]["met_standard"] == 3
    assert change.measured["before"]["received"] == 4
    assert change.effect_recorded_at is not None
    event = OutboxEvent.objects.get(type="org.joinedup.engagement.change.effect_recorded")
    assert event.data["proposal"] == proposal.pk and event.data["kind"] == "service_version"
    assert Notice.objects.filter(kind="effect", change=change).count() == 2  # author, supporter
    # Applications made later do not change what was recorded.
    Application.objects.update(met_standard=False)
    change.refresh_from_db()
    assert effects.Effect.from_data(change.measured).after.within_standard == 1.0
    # Corrected words: no second notice.
    decisions.record_effect(owner, change, {"en": "Far fewer people start again."})
    assert Notice.objects.filter(kind="effect", change=change).count() == 2
    decisions.send_digests()
    digest = OutboxEvent.objects.filter(type="org.joinedup.engagement.digest").first()
    assert digest.data["effects"] == [change.pk]


def test_someone_else_cannot_record_an_effect(adopted, owner, make_staff, federation):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Answers saved."}, service_version=new
    )
    other = make_staff(federation["toronto"], "supervisor", "sup@toronto.example")
    with pytest.raises(PolicyDenied):
        decisions.record_effect(other, change, {"en": "Nothing."})
    assert not Change.objects.get(pk=change.pk).measured


def test_the_owner_links_the_version_by_number_and_records_the_effect_on_the_page(
    adopted, staff_client, federation, consultation
):
    proposal, new = adopted
    browser, _context = staff_client(federation["serviceontario"], "supervisor")
    base = f"/en/consultations/{consultation.key}/proposals/{proposal.pk}/"
    refused = browser.post(base + "change/", {"kind": "service_version", "version": "99"})
    assert refused.status_code == 400
    response = browser.post(
        base + "change/",
        {"kind": "service_version", "version": str(new.number), "description_en": "Saved."},
    )
    assert response.status_code == 302
    change = Change.objects.get(proposal=proposal)
    assert change.service_version == new
    page = browser.get(base).content.decode()
    assert f'data-testid="effect-{change.pk}"' in page and "measured now" in page
    assert "+66.7 points" in page
    missing = browser.post(base + "changes/999999/effect/", {"effect_en": "x"})
    assert missing.status_code == 404
    empty = browser.post(base + f"changes/{change.pk}/effect/", {"effect_en": ""})
    assert empty.status_code == 400
    done = browser.post(
        base + f"changes/{change.pk}/effect/",
        {"effect_en": "Fewer restarts.", "effect_fr": "Moins de reprises."},
    )
    assert done.status_code == 302
    # The public reads the recorded figures and words, in French too.
    public = Client().get(f"/fr/consultations/{consultation.key}/proposals/{proposal.pk}/")
    body = public.content.decode()
    assert "Moins de reprises." in body and "tel qu’enregistré" in body
    assert "Consigner l’effet" not in body  # no form for the public


def test_a_stranger_cannot_post_an_effect(adopted, owner, consultation):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Saved."}, service_version=new
    )
    url = (
        f"/en/consultations/{consultation.key}/proposals/{proposal.pk}/changes/{change.pk}/effect/"
    )
    response = Client().post(url, {"effect_en": "x"})
    assert response.status_code in (302, 403)
    assert not Change.objects.get(pk=change.pk).effects


def test_measuring_does_not_grow_with_the_applications(adopted, owner, make_applicant):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Saved."}, service_version=new
    )
    change = Change.objects.select_related("service_version", "bundle").get(pk=change.pk)
    with CaptureQueriesContext(connection) as small:
        effects.measure(change)
    _applications(context_of(make_applicant(email="more@example.org")), 5, days_ago=0, met=True)
    with CaptureQueriesContext(connection) as large:
        found = effects.measure(change)
    assert found.after.received == 8
    assert len(large) == len(small) == 2


def test_what_we_heard_what_we_did_on_the_results_page(adopted, owner, consultation):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Answers saved."}, service_version=new
    )
    url = f"/en/consultations/{consultation.key}/results/"
    client = Client()
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    decisions.record_effect(owner, change, {"en": "Fewer people start again."})
    page = client.get(url).content.decode()
    assert "What we heard, what we did" in page
    assert "Many asked for it." in page and "Answers saved." in page
    assert "Fewer people start again." in page
    assert "within the service standard: 33.3 % before, 100.0 % after" in page
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_the_tests_are_kept_with_the_figures_and_shown_on_the_page(adopted, owner, consultation):
    proposal, new = adopted
    change = decisions.link_change(
        owner, proposal, "service_version", {"en": "Answers saved."}, service_version=new
    )
    decisions.record_effect(owner, change, {"en": "Fewer restarts.", "fr": "Moins de reprises."})
    change.refresh_from_db()
    kept = change.measured["significance"]
    # 4 applications before, 3 after; within the standard 1 of 3 before, 3 of 3 after.
    assert kept["standard_p"] == pytest.approx(0.4, abs=1e-9)  # Fisher: 1/10 + 3/10
    assert kept["rate_p"] is not None
    for language, heading in (("en", "Could it be chance?"), ("fr", "Est-ce le hasard ?")):
        page = Client().get(
            f"/{language}/consultations/{consultation.key}/proposals/{proposal.pk}/"
        )
        body = page.content.decode()
        assert heading in body and f'data-testid="significance-{change.pk}"' in body
