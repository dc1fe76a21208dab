"""The transparency pages, the dashboard, the survey and the KPI API, as people use them."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from joinedup.demo.history.run import generate_history
from joinedup.federation.models import Agency
from joinedup.identity.models import StaffMembership, User
from joinedup.performance import kpis, rollups
from joinedup.performance.models import (
    PeerGroup,
    SurveyInvitation,
    SurveyResponse,
    SurveyRollup,
    Transaction,
)
from joinedup.sharing import dispatch

from .test_transactions import at, decide_at, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(small_federation):
    """A small synthetic history of the test federation."""
    generate_history(3000, years=2, seed=7)
    return kpis.parse_period("12m")


def test_history_is_realistic_and_the_rollups_match_it(generated):
    facts = Transaction.objects.all()
    assert facts.count() == 3000
    channels = set(facts.values_list("channel", flat=True))
    assert "online" in channels and len(channels) >= 2
    outcomes = set(facts.values_list("outcome", flat=True))
    assert {"completed", "not_eligible", "abandoned"} <= outcomes
    assert SurveyResponse.objects.exists()
    total = kpis.compute(kpis.parse_period("2025"), by=())
    assert total and total[0].completions > 0
    before = sorted(
        (f.key["service_key"], f.completions, tuple(f.histogram), f.total_cost)
        for f in kpis.compute(generated, ("service_key",))
    )
    rollups.recompute_rollups()
    after = sorted(
        (f.key["service_key"], f.completions, tuple(f.histogram), f.total_cost)
        for f in kpis.compute(generated, ("service_key",))
    )
    assert before == after


@pytest.mark.parametrize("language", ["en", "fr"])
def test_public_pages_in_both_languages(generated, language):
    client = Client()
    home = client.get(f"/{language}/performance/")
    assert home.status_code == 200
    text = home.content.decode()
    assert ("Completion rate" if language == "en" else "Taux d’achèvement") in text
    assert "<table" in text and "performance/plotly.min.js" in text
    assert 'type="application/json"' in text and "<script>" not in text  # no inline script
    service = client.get(f"/{language}/performance/services/ca.birth-registration/")
    assert service.status_code == 200
    assert "chart-funnel" in service.content.decode() or "chart-trend" in service.content.decode()
    place = client.get(f"/{language}/performance/jurisdictions/CA-ON/")
    assert place.status_code == 200
    assert client.get(f"/{language}/performance/services/no.such/").status_code == 404
    assert client.get(f"/{language}/performance/jurisdictions/XX/").status_code == 404


def test_a_bad_period_is_a_400_with_a_message(generated):
    response = Client().get("/en/performance/?period=last-week")
    assert response.status_code == 400
    assert "is not a period" in response.content.decode()


def test_peer_groups_narrow_the_comparison(generated):
    PeerGroup.objects.create(key="central", names={"en": "Central"}, jurisdictions=["CA-ON"])
    response = Client().get("/en/performance/services/ca.birth-registration/?peers=central")
    assert response.status_code == 200
    assert "CA-QC" not in re.sub(r"<select.*?</select>", "", response.content.decode(), flags=re.S)


def test_the_kpi_api_is_public_paginated_and_suppresses_small_counts(generated, settings):
    client = Client()
    response = client.get("/api/v1/performance/kpis", {"period": "12m", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 2 and len(body["items"]) == 2
    item = body["items"][0]
    assert {"service", "jurisdiction", "completion_rate", "within_standard", "suppressed"} <= set(
        item
    )
    settings.PERFORMANCE_MIN_COUNT = 10**9
    hidden = client.get("/api/v1/performance/kpis", {"by": "service"}).json()["items"][0]
    assert hidden["completion_rate"] is None and "completion_rate" in hidden["suppressed"]
    bad = client.get("/api/v1/performance/kpis", {"period": "soon"})
    assert bad.status_code == 400 and "not a period" in bad.json()["detail"]
    assert client.get("/api/v1/performance/kpis", {"by": "colour"}).status_code == 422


def _staff_client(agency_key: str, role: str) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY

    email = f"{role}@{agency_key}.example"
    user = User.objects.create_user(username=email, email=email, password="x" * 20)
    StaffMembership.objects.create(user=user, agency=Agency.objects.get(key=agency_key), role=role)
    device = TOTPDevice.objects.create(user=user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_the_dashboard_is_for_the_agencys_analysts(generated):
    analyst = _staff_client("serviceontario", "analyst")
    page = analyst.get("/en/performance/agencies/serviceontario/?goal=0.9")
    assert page.status_code == 200
    assert "Cost per transaction at the goal" in page.content.decode()
    # The measures of the service standard come first, where a narrow window shows them
    # without scrolling the table; each row's cells follow the headings.
    table = page.content.decode().split("<table", 1)[1].split("</table>", 1)[0]
    headings = re.findall(r'<th scope="col">([^<]+)</th>', table)
    assert headings[:8] == [
        "Service",
        "Jurisdiction",
        "Started",
        "Completion rate",
        "Within standard",
        "Digital take-up",
        "Satisfaction (0–100)",
        "Cost per transaction",
    ]
    rows = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", table, re.S)
    assert rows and all(re.findall(r'data-label="([^"]+)"', row) == headings for row in rows)
    assert analyst.get("/en/performance/agencies/esdc/").status_code == 403
    assert analyst.get("/en/performance/agencies/serviceontario/?goal=2").status_code == 400
    caseworker = _staff_client("serviceontario", "caseworker")
    assert caseworker.get("/en/performance/agencies/serviceontario/").status_code == 403
    anonymous = Client().get("/en/performance/agencies/serviceontario/")
    assert anonymous.status_code == 302


def test_the_survey_is_sampled_answered_anonymously_once(
    birth_registration, applicant, settings, django_capture_on_commit_callbacks
):
    settings.PERFORMANCE_SURVEY_RATE = 1.0
    application = submit(applicant, "survey")
    decide_at(application, "approved", at("2026-03-02"))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_pending()
    invitation = SurveyInvitation.objects.get()
    assert SurveyRollup.objects.get().invited == 1
    assert len(mail.outbox) >= 1
    message = next(m for m in mail.outbox if "How did we do" in m.subject)
    link = re.search(r"https?://\S+/performance/survey/(\S+)/", message.body)
    token = link.group(1)
    assert invitation.token_hash != token  # only the hash is kept
    client = Client()
    form = client.get(f"/en/performance/survey/{token}/")
    assert form.status_code == 200 and "Does not apply" in form.content.decode()
    incomplete = client.post(f"/en/performance/survey/{token}/", {"timeliness": "4"})
    assert incomplete.status_code == 400
    assert "overall" in incomplete.content.decode()
    answered = client.post(
        f"/en/performance/survey/{token}/",
        {"satisfaction": "5", "timeliness": "4", "courtesy": "na", "trust": "3"},
    )
    assert answered.status_code == 302
    response = SurveyResponse.objects.get()
    assert (response.satisfaction, response.timeliness, response.courtesy) == (5, 4, None)
    assert response.month.day == 1
    field_names = {f.name for f in SurveyResponse._meta.fields}
    assert not field_names & {"application", "application_id", "person", "token", "created_at"}
    assert not SurveyInvitation.objects.exists()  # discarded
    row = SurveyRollup.objects.get()
    assert (row.invited, row.responses, row.sums["satisfaction"]) == (1, 1, [5, 1])
    again = client.post(f"/en/performance/survey/{token}/", {"satisfaction": "1"})
    assert again.status_code == 404


def test_the_portal_lists_the_persons_own_invitations(birth_registration, applicant, settings):
    settings.PERFORMANCE_SURVEY_RATE = 1.0
    application = submit(applicant, "portal")
    decide_at(application, "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    invitation = SurveyInvitation.objects.get()
    client = Client()
    client.force_login(applicant)
    listing = client.get("/en/performance/feedback/")
    assert listing.status_code == 200
    assert str(invitation.pk) in listing.content.decode()
    page = client.get(f"/fr/performance/feedback/{invitation.pk}/")
    assert page.status_code == 200
    done = client.post(f"/en/performance/feedback/{invitation.pk}/", {"satisfaction": "4"})
    assert done.status_code == 302
    assert SurveyResponse.objects.get().mode == "portal"
    other = User.objects.create_user(
        username="other@example.org", email="other@example.org", password="y" * 20
    )
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(f"/en/performance/feedback/{invitation.pk}/").status_code in (403, 404)


def test_my_applications_links_each_decided_application_to_its_survey(
    birth_registration, applicant, make_applicant, settings
):
    from joinedup.identity import acting, mandates
    from joinedup.identity.models import Mandate

    settings.PERFORMANCE_SURVEY_RATE = 1.0
    decided = submit(applicant, "decided")
    decide_at(decided, "approved", at("2026-03-02"))
    still_open = submit(applicant, "open")
    dispatch.dispatch_pending()
    invitation = SurveyInvitation.objects.get()
    client = Client()
    client.force_login(applicant)
    survey_link = f'href="/en/performance/feedback/{invitation.pk}/"'

    listing = client.get("/en/applications/").content.decode()
    assert listing.count(survey_link) == 1  # the decided one only
    decided_row = next(row for row in listing.split("<tr>") if decided.reference in row)
    open_row = next(row for row in listing.split("<tr>") if still_open.reference in row)
    assert survey_link in decided_row and "Tell us how it went" in decided_row
    assert f'aria-describedby="application-{decided.pk}"' in decided_row
    assert "/performance/feedback/" not in open_row
    french = client.get("/fr/applications/").content.decode()
    assert f'href="/fr/performance/feedback/{invitation.pk}/"' in french

    # Someone acting for the applicant sees the list but is not asked: the survey is theirs.
    helper = make_applicant(email="helper@example.org")
    mandates.grant_mandate(
        holder=helper.person, kind=Mandate.Kind.POWER_OF_ATTORNEY, subject=applicant.person
    )
    on_behalf = Client()
    on_behalf.force_login(helper)
    session = on_behalf.session
    session[acting.SESSION_ACTING_FOR] = applicant.person.pk
    session.save()
    theirs = on_behalf.get("/en/applications/").content.decode()
    assert decided.reference in theirs and "/performance/feedback/" not in theirs

    # Answered from the link, the survey is discarded and the list stops asking.
    answered = client.post(f"/en/performance/feedback/{invitation.pk}/", {"satisfaction": "4"})
    assert answered.status_code == 302
    after = client.get("/en/applications/").content.decode()
    assert decided.reference in after and "/performance/feedback/" not in after


def test_expired_invitations_are_discarded(birth_registration, applicant, settings):
    from joinedup.performance import surveys

    settings.PERFORMANCE_SURVEY_RATE = 1.0
    decide_at(submit(applicant, "old"), "approved", at("2026-03-02"))
    dispatch.dispatch_pending()
    later = SurveyInvitation.objects.get().expires_at + datetime.timedelta(seconds=1)
    assert surveys.expire(later) == 1
    assert not SurveyInvitation.objects.exists()


def test_open_data_is_csv_with_a_frictionless_package(generated, tmp_path):
    import csv
    import json

    from django.core.management import call_command

    call_command("export-open-data".replace("-", "_"), output=str(tmp_path), period="12m")
    package = json.loads((tmp_path / "datapackage.json").read_text())
    assert package["profile"] == "tabular-data-package"
    resource = package["resources"][0]
    fields = {f["name"]: f["type"] for f in resource["schema"]["fields"]}
    assert fields["month"] == "yearmonth" and fields["completion_rate"] == "number"
    assert fields["started"] == "integer"
    with (tmp_path / resource["path"]).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and list(rows[0]) == list(fields)
    assert len({(r["month"], r["service"], r["jurisdiction"]) for r in rows}) == len(rows)
    small = [r for r in rows if r["suppressed"]]
    assert all(r[name] == "" for r in small for name in r["suppressed"].split(";"))
