"""The data gate: disclosures allowed by an agreement, by consent, refused without either,
refused after withdrawal, field-level filtering; every decision in the ledger."""

import pytest

from joinedup.federation.models import Agreement
from joinedup.sharing import consent as consents
from joinedup.sharing import ledger
from joinedup.sharing.gate import DisclosureRefused, disclose
from joinedup.sharing.models import AccessEvent, SharingRule

pytestmark = pytest.mark.django_db


def disclosures_of(person):
    return AccessEvent.objects.filter(subject_id=person.pk, outcome="disclosed")


def test_agreement_rules_are_derived_from_the_federation(federation):
    rule = SharingRule.objects.get(agreement__key="sin-at-birth")
    assert (rule.provider.key, rule.recipient.key) == ("serviceontario", "esdc")
    assert rule.categories == ["identity", "birth"]
    assert rule.purposes == ["sin-issuance"]
    assert rule.legal_basis == "statute"


def test_statute_allows_the_agreed_categories_and_logs_it(federation, person, esdc_caseworker):
    result = disclose(
        esdc_caseworker,
        person,
        ["identity", "birth"],
        "sin-issuance",
        holder=federation["serviceontario"],
    )
    assert result.fields["given_names"] == "Amelia"
    assert result.fields["birth_date"] == "1990-04-02"
    assert result.basis == "statute"
    event = result.event
    assert (event.actor_agency, event.actor_role, event.holder_agency) == (
        "esdc",
        "caseworker",
        "serviceontario",
    )
    assert event.agreement_key == "sin-at-birth"
    assert event.outcome == "disclosed"
    assert ledger.verify().ok


def test_fields_outside_the_agreement_are_withheld(federation, person, esdc_caseworker):
    result = disclose(
        esdc_caseworker,
        person,
        ["given_names", "birth_date", "email", "address"],
        "sin-issuance",
        holder=federation["serviceontario"],
    )
    assert set(result.fields) == {"given_names", "birth_date"}
    assert result.withheld == ["email", "address"]
    assert "amelia@example.org" not in str(result.fields)
    assert sorted(result.event.fields) == ["birth_date", "given_names"]


def test_all_or_nothing_refuses_a_partial_disclosure(federation, person, esdc_caseworker):
    with pytest.raises(DisclosureRefused) as refused:
        disclose(
            esdc_caseworker,
            person,
            ["given_names", "email"],
            "sin-issuance",
            holder=federation["serviceontario"],
            partial=False,
        )
    assert refused.value.code == "partial"
    assert not disclosures_of(person).exists()


def test_another_purpose_is_refused(federation, person, esdc_caseworker):
    with pytest.raises(DisclosureRefused) as refused:
        disclose(
            esdc_caseworker, person, ["identity"], "marketing", holder=federation["serviceontario"]
        )
    assert refused.value.code == "no_agreement"
    assert refused.value.event.outcome == "refused"
    assert not disclosures_of(person).exists()


def test_without_agreement_the_other_direction_is_refused(federation, person, ontario_front_line):
    with pytest.raises(DisclosureRefused) as refused:
        disclose(
            ontario_front_line, person, ["identity"], "sin-issuance", holder=federation["esdc"]
        )
    assert refused.value.code == "no_agreement"


def test_a_terminated_agreement_stops_sharing(federation, person, esdc_caseworker):
    import datetime

    Agreement.objects.filter(key="sin-at-birth").update(
        terminated_on=datetime.date.today() - datetime.timedelta(days=1)
    )
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["identity"],
            "sin-issuance",
            holder=federation["serviceontario"],
        )


def consent_rule(federation):
    return SharingRule.objects.create(
        provider=federation["serviceontario"],
        recipient=federation["esdc"],
        categories=["contact"],
        purposes=["benefit-outreach"],
        legal_basis="consent",
        valid_from="2020-01-01",
    )


def test_consent_basis_needs_consent(federation, person, esdc_caseworker):
    consent_rule(federation)
    with pytest.raises(DisclosureRefused) as refused:
        disclose(
            esdc_caseworker,
            person,
            ["email"],
            "benefit-outreach",
            holder=federation["serviceontario"],
        )
    assert refused.value.code == "no_consent"
    record = consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        provider=federation["serviceontario"],
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )
    result = disclose(
        esdc_caseworker, person, ["email"], "benefit-outreach", holder=federation["serviceontario"]
    )
    assert result.fields == {"email": "amelia@example.org"}
    assert result.basis == "consent"
    assert result.event.consent_id == str(record.pk)


def test_no_disclosure_after_withdrawal(federation, person, esdc_caseworker):
    consent_rule(federation)
    record = consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        purposes=["benefit-outreach"],
        categories=["contact"],
        method="online",
    )
    disclose(
        esdc_caseworker, person, ["email"], "benefit-outreach", holder=federation["serviceontario"]
    )
    withdrawn = consents.withdraw_consent(record, method="online")
    for _attempt in range(3):
        with pytest.raises(DisclosureRefused) as refused:
            disclose(
                esdc_caseworker,
                person,
                ["email"],
                "benefit-outreach",
                holder=federation["serviceontario"],
            )
        assert refused.value.code == "no_consent"
    after = disclosures_of(person).filter(occurred_at__gte=withdrawn.withdrawn_at)
    assert after.count() == 0
    assert AccessEvent.objects.filter(subject_id=person.pk, outcome="refused").count() == 3


def test_consent_for_other_categories_does_not_cover(federation, person, esdc_caseworker):
    consent_rule(federation)
    consents.record_consent(
        person,
        recipients=[federation["esdc"]],
        purposes=["benefit-outreach"],
        categories=["income"],
        method="online",
    )
    with pytest.raises(DisclosureRefused):
        disclose(
            esdc_caseworker,
            person,
            ["email"],
            "benefit-outreach",
            holder=federation["serviceontario"],
        )


def test_role_without_need_to_know_is_refused(federation, person):
    from .conftest import make_user, staff_context

    analyst = staff_context(make_user("analyst"), federation["esdc"], "analyst")
    with pytest.raises(DisclosureRefused) as refused:
        disclose(analyst, person, ["identity"], "sin-issuance", holder=federation["serviceontario"])
    assert refused.value.code == "not_allowed"


def test_rule_roles_limit_who_may_see(federation, person, esdc_caseworker):
    SharingRule.objects.filter(agreement__key="sin-at-birth").update(roles=["case_manager"])
    with pytest.raises(DisclosureRefused) as refused:
        disclose(
            esdc_caseworker,
            person,
            ["identity"],
            "sin-issuance",
            holder=federation["serviceontario"],
        )
    assert refused.value.code == "need_to_know"


def test_own_agency_front_line_sees_contact_not_identifiers(federation, person, ontario_front_line):
    result = disclose(
        ontario_front_line, person, ["email", "identifier.ca-sin"], "service-delivery"
    )
    assert "email" in result.fields
    assert result.withheld == ["identifier.ca-sin"]
    assert result.basis == "own_agency"


def test_staff_outside_their_area_are_refused(federation, person):
    from .conftest import make_user, staff_context

    quebec = staff_context(make_user("qc"), federation["dgeq"], "caseworker")
    with pytest.raises(DisclosureRefused) as refused:
        disclose(quebec, person, ["identity"], "service-delivery")
    assert refused.value.code == "out_of_scope"


def test_unknown_fields_and_missing_purpose_are_refused_clearly(person, esdc_caseworker):
    with pytest.raises(DisclosureRefused) as refused:
        disclose(esdc_caseworker, person, ["shoe_size"], "sin-issuance")
    assert refused.value.code == "unknown_field"
    assert "shoe_size" in refused.value.message
    with pytest.raises(DisclosureRefused) as refused:
        disclose(esdc_caseworker, person, ["identity"], "")
    assert refused.value.code == "no_purpose"


def test_anonymous_is_refused(person):
    from joinedup.identity.acting import ANONYMOUS

    with pytest.raises(DisclosureRefused) as refused:
        disclose(ANONYMOUS, person, ["identity"], "sin-issuance")
    assert refused.value.code == "sign_in"
