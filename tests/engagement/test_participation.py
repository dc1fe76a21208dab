"""Who may take part, one support per person, rate limits, surveys, moderation, the loop."""

from __future__ import annotations

import datetime

import pytest

from joinedup.bundles.models import Bundle
from joinedup.delivery import versions
from joinedup.demo import loading
from joinedup.engagement import decisions, moderation, participation, results
from joinedup.engagement.models import (
    AbuseReport,
    Change,
    Notice,
    Phase,
    Proposal,
    Support,
    SurveyAnswer,
    Visibility,
)
from joinedup.engagement.participation import ParticipationError
from joinedup.identity import mandates
from joinedup.identity.acting import for_user
from joinedup.identity.models import IdentityProofing
from joinedup.identity.policy import PolicyDenied
from joinedup.sharing.models import OutboxEvent

from .conftest import context_of


@pytest.fixture
def resident(make_applicant):
    return make_applicant(email="res@example.org", place="CA-ON-TOR")


@pytest.fixture
def owner(make_staff, federation):
    return make_staff(federation["serviceontario"], "supervisor", "sup@serviceontario.example")


def _propose(user, consultation, title="Save my answers", body="Let me stop and come back."):
    return participation.submit_proposal(context_of(user), consultation, title, body)


def test_residents_verified_by_address_take_part_others_do_not(
    consultation, resident, make_applicant
):
    assert _propose(resident, consultation).author == resident.person
    ottawan = make_applicant(email="ott@example.org", place="CA-ON-OTT")
    with pytest.raises(ParticipationError) as error:
        _propose(ottawan, consultation)
    assert error.value.code == "not_resident" and error.value.status == 403


def test_the_public_may_take_part_when_invited(consultation, make_applicant):
    consultation.audiences = ["public"]
    consultation.save()
    ottawan = make_applicant(email="ott@example.org", place="CA-ON-OTT")
    assert _propose(ottawan, consultation).kind == Proposal.Kind.PROPOSAL


def test_partner_organisations_give_a_formal_position_and_others_are_refused(
    consultation, make_staff, federation
):
    esdc = make_staff(federation["esdc"], "caseworker")  # policy maker of the service
    position = participation.submit_proposal(esdc, consultation, "Our position", "Link the SIN.")
    assert position.kind == Proposal.Kind.POSITION
    assert position.organisation == federation["esdc"] and position.author is None
    owner_staff = make_staff(federation["serviceontario"], "front_line")
    assert participation.submit_proposal(owner_staff, consultation, "Staff view", "x").organisation
    quebec = make_staff(federation["dgeq"], "caseworker")
    with pytest.raises(ParticipationError) as error:
        participation.submit_proposal(quebec, consultation, "Not ours", "x")
    assert error.value.code == "not_invited"
    consultation.audiences = ["residents"]
    consultation.save()
    with pytest.raises(ParticipationError):
        participation.submit_proposal(esdc, consultation, "Again", "x")


def test_nobody_signed_out_takes_part(consultation):
    from joinedup.identity.acting import ANONYMOUS

    with pytest.raises(PolicyDenied):
        participation.submit_proposal(ANONYMOUS, consultation, "t", "b")


def test_proposals_only_in_the_proposals_phase(consultation, resident):
    # Two days ago: phases are read in the owner's time zone (Toronto), which may still be
    # yesterday of the machine's date.
    Phase.objects.filter(consultation=consultation, kind="proposals").update(
        ends_on=datetime.date.today() - datetime.timedelta(days=2)
    )
    with pytest.raises(ParticipationError) as error:
        _propose(resident, consultation)
    assert error.value.code == "closed" and error.value.status == 409


def test_one_support_per_person_whatever_the_account(consultation, resident, make_applicant):
    proposal = _propose(resident, consultation)
    supporter = make_applicant(email="sup@example.org")
    participation.support(context_of(supporter), proposal)
    # The same person again, through another way in (a personal API token's context): refused.
    token_context = for_user(supporter, token_id=99, scopes=("read", "write"))
    with pytest.raises(ParticipationError) as error:
        participation.support(token_context, proposal)
    assert error.value.code == "already_supported"
    # Someone holding a mandate for the supporter cannot add the supporter's support again.
    holder = make_applicant(email="holder@example.org")
    mandates.grant_mandate(
        holder=holder.person,
        subject=supporter.person,
        kind="power_of_attorney",
        scopes=["view", "apply"],
    )
    acting_for = for_user(holder, subject_id=supporter.person.pk)
    assert acting_for.acting_for_other
    with pytest.raises(PolicyDenied):
        participation.support(acting_for, proposal)
    participation.support(context_of(holder), proposal)  # the holder's own support counts
    proposal.refresh_from_db()
    assert proposal.supports_count == 2
    assert Support.objects.filter(proposal=proposal).count() == 2


def test_an_unverified_account_cannot_support(consultation, resident, make_applicant):
    proposal = _propose(resident, consultation)
    newcomer = make_applicant(email="new@example.org")
    IdentityProofing.objects.filter(person=newcomer.person).delete()
    with pytest.raises(ParticipationError) as error:
        participation.support(context_of(newcomer), proposal)
    assert error.value.code == "not_verified"
    assert not Support.objects.exists()


def test_contributions_are_rate_limited(consultation, resident, settings):
    settings.ENGAGEMENT_CONTRIBUTIONS_PER_HOUR = 3
    proposal = _propose(resident, consultation)
    participation.comment(context_of(resident), proposal, "One")
    participation.comment(context_of(resident), proposal, "Two")
    with pytest.raises(ParticipationError) as error:
        participation.comment(context_of(resident), proposal, "Three")
    assert error.value.status == 429
    with pytest.raises(ParticipationError):
        _propose(resident, consultation, "Another")
    assert Proposal.objects.count() == 1


def test_threaded_comments(consultation, resident, make_applicant):
    proposal = _propose(resident, consultation)
    other = make_applicant(email="o@example.org")
    first = participation.comment(context_of(other), proposal, "Why?")
    reply = participation.comment(context_of(resident), proposal, "Because.", parent=first)
    assert reply.parent == first and reply.depth == 1
    second = _propose(resident, consultation, "Other")
    with pytest.raises(ParticipationError):
        participation.comment(context_of(other), second, "Wrong thread", parent=first)


def test_survey_answers_as_data_and_validated(consultation, resident):
    context = context_of(resident)
    assert participation.answer_survey(context, consultation, {"ease": "4", "channel": "mail"})
    participation.answer_survey(context, consultation, {"ease": "5"})  # changes, not adds
    assert SurveyAnswer.objects.filter(person=resident.person).count() == 2
    with pytest.raises(ParticipationError):
        participation.answer_survey(context, consultation, {"channel": "pigeon"})
    with pytest.raises(ParticipationError):
        participation.answer_survey(context, consultation, {"ease": "9"})
    with pytest.raises(ParticipationError):
        participation.answer_survey(context, consultation, {"nope": "1"})


def test_moderation_with_reasons(
    consultation, resident, make_applicant, owner, make_staff, federation
):
    proposal = _propose(resident, consultation)
    reporter = make_applicant(email="rep@example.org")
    moderation.report(context_of(reporter), proposal, "abuse", "Insults")
    moderation.report(context_of(reporter), proposal, "abuse")  # once per person
    assert AbuseReport.objects.count() == 1
    queue = moderation.queue(consultation)
    assert queue[0]["item"] == proposal and queue[0]["reasons"] == [
        "Insulting, threatening or hateful"
    ]
    clerk = make_staff(federation["serviceontario"], "front_line")
    with pytest.raises(PolicyDenied):
        moderation.hide(clerk, proposal, "abuse")
    other_owner = make_staff(federation["toronto"], "supervisor")
    with pytest.raises(PolicyDenied):
        moderation.hide(other_owner, proposal, "abuse")
    with pytest.raises(ParticipationError):
        moderation.hide(owner, proposal, "because")
    moderation.hide(owner, proposal, "abuse", "Personal attack")
    proposal.refresh_from_db()
    assert proposal.visibility == Visibility.HIDDEN
    assert proposal.moderation_reason == "abuse"
    assert AbuseReport.objects.get().outcome == AbuseReport.Outcome.HIDDEN
    assert moderation.queue(consultation) == []
    with pytest.raises(ParticipationError):
        participation.support(context_of(reporter), proposal)


def test_decision_change_and_digest_close_the_loop(
    consultation, resident, make_applicant, owner, federation
):
    proposal = _propose(resident, consultation)
    fan = make_applicant(email="fan@example.org")
    participation.support(context_of(fan), proposal)
    talker = make_applicant(email="talk@example.org")
    participation.comment(context_of(talker), proposal, "Yes please")
    with pytest.raises(ParticipationError):
        decisions.link_change(owner, proposal, "pilot", {"en": "Tried it"})  # not adopted yet
    with pytest.raises(ParticipationError):
        decisions.decide(owner, proposal, "adopted", "")  # reasons are required
    decisions.decide(owner, proposal, "adopted", "Many asked for it.")
    with pytest.raises(ParticipationError):
        decisions.decide(owner, proposal, "not_adopted", "Changed our mind.")
    assert Notice.objects.filter(kind="decision").count() == 3  # author, supporter, commenter

    version = versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json").version
    change = decisions.link_change(
        owner,
        proposal,
        "service_version",
        {"en": "Answers are saved as you go.", "fr": "Les réponses sont enregistrées."},
        service_version=version,
    )
    assert change.service_version == version
    assert Notice.objects.filter(kind="change").count() == 3
    assert decisions.send_digests() == 3  # one digest per person, not one per notice
    digests = OutboxEvent.objects.filter(type="org.joinedup.engagement.digest")
    assert digests.count() == 3
    one = digests.get(subject=str(fan.person.pk))
    assert one.data["decisions"] == [proposal.pk] and one.data["changes"] == [change.pk]
    assert decisions.send_digests() == 0  # each told once


def test_a_bundle_edit_is_named_by_checksums_before_and_after(consultation, resident, owner):
    bundle = Bundle.objects.create(key="newborn", names={"en": "New baby"}, checksum="b" * 64)
    consultation.bundle = bundle
    consultation.save()
    proposal = _propose(resident, consultation)
    decisions.decide(owner, proposal, "adopted_in_part", "The first half.")
    with pytest.raises(ParticipationError) as error:
        decisions.link_change(
            owner, proposal, "bundle_edit", {"en": "x"}, bundle=bundle, checksum_before="b" * 64
        )
    assert error.value.code == "unchanged"
    Bundle.objects.filter(pk=bundle.pk).update(checksum="c" * 64)
    bundle.refresh_from_db()
    change = decisions.link_change(
        owner,
        proposal,
        "bundle_edit",
        {"en": "Asks for the second parent once."},
        bundle=bundle,
        checksum_before="b" * 64,
    )
    assert (change.checksum_before, change.checksum_after) == ("b" * 64, "c" * 64)
    assert Change.objects.count() == 1


def test_results_charts_with_tables_and_anonymous_open_data(consultation, resident, make_applicant):
    proposal = _propose(resident, consultation)
    for n in range(3):
        user = make_applicant(email=f"p{n}@example.org")
        participation.support(context_of(user), proposal)
        participation.answer_survey(context_of(user), consultation, {"ease": str(n + 3)})
    found = results.results(consultation)
    assert found.proposals == 1 and found.supports == 3
    assert found.participants == 4  # the author and three supporters, each once
    chart = next(c for c in found.charts if c.id == "proposals-support")
    assert chart.rows == [["Save my answers", 3]]
    assert chart.figure["data"][0]["x"] == [3]
    ease = next(c for c in found.charts if c.id == "survey-ease")
    assert ease.rows == [["1", 0], ["2", 0], ["3", 1], ["4", 1], ["5", 1]]
    exported = results.open_data_csv(consultation)
    assert "Save my answers" in exported
    assert "Okafor" not in exported and "res@example.org" not in exported


def test_people_who_used_the_service_are_invited_once(consultation, make_applicant):
    from django.utils import timezone

    from joinedup.delivery.applications import submit_application
    from joinedup.delivery.models import Application
    from joinedup.engagement.invitations import invite_recent_users
    from tests.delivery.conftest import birth_answers

    versions.load_file(loading.SERVICE_VERSIONS / "birth-registration.json")
    users = [make_applicant(email=f"u{n}@example.org") for n in range(4)]
    for user in users:
        submit_application(context_of(user), "ca.birth-registration", birth_answers())
    Application.objects.update(completed_at=timezone.now())
    old = Application.objects.first()
    Application.objects.filter(pk=old.pk).update(
        completed_at=timezone.now() - datetime.timedelta(days=400)
    )
    first = invite_recent_users(consultation, months=6, sample=2, seed=1)
    assert len(first) == 2
    second = invite_recent_users(consultation, months=6, sample=10, seed=1)
    invited = {i.person_id for i in consultation.invitations.all()}
    assert len(second) == 1 and len(invited) == 3  # the one from last year is not invited
    assert old.applicant_id not in invited
    assert OutboxEvent.objects.filter(type="org.joinedup.engagement.invitation").count() == 3


def test_two_linked_registry_records_of_one_person_support_once(
    consultation, resident, make_applicant
):
    """The client index links two registry records of one human (one person merged into the
    other): supports given before the link count once, a support after it is refused."""
    from joinedup.clientindex.models import PersonAlias
    from joinedup.engagement import schedule

    proposal = _propose(resident, consultation)
    first = make_applicant(email="first@example.org")
    second = make_applicant(email="second@example.org")  # the same human, another record
    other = make_applicant(email="other@example.org")
    for user in (first, second, other):
        participation.support(context_of(user), proposal)
    proposal.refresh_from_db()
    assert proposal.supports_count == 3
    PersonAlias.objects.create(person=second.person, resolves_to=first.person)
    assert results.results(consultation).supports == 2  # counted once at once on the results
    assert schedule.recount_linked_supports.call() == 1  # the daily job corrects the count
    proposal.refresh_from_db()
    assert proposal.supports_count == 2
    # A third record of the same human, linked through the second: refused, nothing written.
    third = make_applicant(email="third@example.org")
    PersonAlias.objects.create(person=third.person, resolves_to=second.person)
    with pytest.raises(ParticipationError) as error:
        participation.support(context_of(third), proposal)
    assert error.value.code == "already_supported" and error.value.status == 409
    assert Support.objects.filter(proposal=proposal).count() == 3
    # The other person withdraws: the count stays the persons', linked records once.
    participation.withdraw_support(context_of(other), proposal)
    proposal.refresh_from_db()
    assert proposal.supports_count == 1
    assert results.results(consultation).supports == 1
