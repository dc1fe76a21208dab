"""Client satisfaction from `performance`'s own survey, asked of client agencies: a sampled
finished request's invitation waits in the back-office portal, the client's staff answer it
there (anonymously, once), and the provider's dashboard shows the answers per service and
per provider."""

from __future__ import annotations

import datetime

from joinedup.backoffice import dashboard
from joinedup.backoffice.models import ClientSurveyAnswer
from joinedup.backoffice.requests import submit_request
from joinedup.delivery.models import Application
from joinedup.performance import surveys, transactions
from joinedup.performance.models import SurveyInvitation, SurveyResponse


def _finished_and_sampled(shared, make_staff, settings):
    settings.PERFORMANCE_SURVEY_RATE = 1
    requester = make_staff(shared["ministry"], "service_requester")
    request, _ = submit_request(requester, shared["ministry"], "on.onboarding", {"details": "x"})
    Application.objects.filter(pk=request.pk).update(status="approved", met_standard=True)
    txn = transactions.record_submitted(request.pk)
    assert surveys.invite(txn, request.pk, "event-1") is not None
    return request


def test_a_client_agency_answers_the_survey_in_the_portal(
    shared, make_staff, staff_client, settings
):
    request = _finished_and_sampled(shared, make_staff, settings)
    browser, _ = staff_client(shared["ministry"], "supervisor")
    home = browser.get("/en/backoffice/").content.decode()
    assert "Surveys waiting for your agency" in home and request.application.reference in home
    page = browser.get(f"/en/backoffice/requests/{request.pk}/").content.decode()
    assert f"/backoffice/requests/{request.pk}/survey/" in page
    url = f"/en/backoffice/requests/{request.pk}/survey/"
    form = browser.get(url)
    assert form.status_code == 200
    assert "Overall, how satisfied were you with this service?" in form.content.decode()
    french = browser.get(f"/fr/backoffice/requests/{request.pk}/survey/").content.decode()
    assert "jamais avec votre nom ou la demande" in french

    # Other agencies' staff, the provider's included, never answer for the client.
    city, _ = staff_client(shared["city"], "supervisor")
    assert city.get(url).status_code == 403
    provider, _ = staff_client(shared["provincial"], "caseworker")
    assert provider.get(url).status_code == 403

    missing = browser.post(url, {"timeliness": "4"})
    assert missing.status_code == 400
    assert "Tell us how satisfied you were overall." in missing.content.decode()
    assert not SurveyResponse.objects.exists()
    sent = browser.post(url, {"satisfaction": "4", "timeliness": "5", "courtesy": "na"})
    assert sent.status_code == 302
    answer = SurveyResponse.objects.get()
    assert (answer.service_key, answer.jurisdiction) == ("on.onboarding", "CA-ON")
    assert (answer.satisfaction, answer.timeliness, answer.courtesy) == (4, 5, None)
    assert answer.mode == SurveyResponse.Mode.PORTAL
    assert not SurveyInvitation.objects.exists()  # one answer per invitation
    # Kept once more with the client agency (an agency, not a person): never the request
    # nor who answered.
    kept = ClientSurveyAnswer.objects.get()
    assert (kept.client, kept.provider, kept.service.key) == (
        shared["ministry"],
        shared["provincial"],
        "on.onboarding",
    )
    assert (kept.satisfaction, kept.timeliness) == (4, 5)
    fields = {f.name for f in ClientSurveyAnswer._meta.get_fields()}
    assert not fields & {"request", "application", "user", "answered_by", "person"}
    assert browser.get(url).status_code == 404
    assert "Surveys waiting" not in browser.get("/en/backoffice/").content.decode()


def test_the_dashboard_shows_the_survey_per_service_and_per_provider(shared, staff_client):
    march = datetime.date(2026, 3, 1)
    for service_key, place, scores in (
        ("on.onboarding", "CA-ON", [(5, 5), (3, None)]),
        ("ca.hosting", "CA", [(1, 1)]),
        ("ca.hosting", "CA-ON", [(5, 5)]),  # nobody's shared service there: left out
    ):
        for satisfaction, timeliness in scores:
            SurveyResponse.objects.create(
                month=march,
                service_key=service_key,
                jurisdiction=place,
                channel="online",
                mode="portal",
                satisfaction=satisfaction,
                timeliness=timeliness,
            )
    (row,) = dashboard.survey_by_service(shared["provincial"], march, march)
    assert (row.label, row.responses, row.satisfaction, row.timeliness) == (
        "New employee onboarding",
        2,
        75.0,
        100.0,
    )
    by_provider = {
        r.label: (r.responses, r.satisfaction)
        for r in dashboard.survey_across_providers(march, march)
    }
    assert by_provider == {
        "Ontario Shared Services": (2, 75.0),
        "Federal Shared Services": (1, 0.0),
    }
    assert dashboard.survey_by_service(shared["provincial"], datetime.date(2026, 4, 1), march) == []
    browser, _ = staff_client(shared["provincial"], "analyst")
    page = browser.get("/en/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Survey answers per service" in page and "Federal Shared Services" in page
    french = browser.get("/fr/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Satisfaction des organismes clients" in french


def _answers(shared, client, scores, month):
    for satisfaction, timeliness in scores:
        ClientSurveyAnswer.objects.create(
            provider=shared["provincial"],
            client=client,
            service=shared["onboarding"],
            month=month,
            satisfaction=satisfaction,
            timeliness=timeliness,
        )


def test_the_dashboard_shows_satisfaction_per_client_agency_small_counts_suppressed(
    shared, staff_client
):
    march = datetime.date(2026, 3, 1)
    ministry, city, third = shared["ministry"], shared["city"], shared["department"]
    _answers(shared, ministry, [(5, 5)] * 4 + [(1, None)] * 2, march)  # 6 answers
    _answers(shared, city, [(3, 3)] * 2, march)  # 2 answers: suppressed
    rows = dashboard.survey_by_client(shared["provincial"], march, march)
    # One client alone suppressed: the next smallest is too, or the provider's total per
    # service would give the city's figures away.
    assert len(rows) == 2 and all(r.suppressed for r in rows)
    assert all(r.responses == 0 and r.satisfaction is None for r in rows)
    browser, _ = staff_client(shared["provincial"], "supervisor")
    page = browser.get("/en/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Survey answers per client agency" in page and city.name in page
    assert page.count("Not shown: too few answers") == 2
    french = browser.get("/fr/backoffice/provider/dashboard/?month=2026-03").content.decode()
    assert "Réponses au sondage par organisme client" in french
    assert "Non affiché : trop peu de réponses" in french

    _answers(shared, third, [(4, 4)] * 8, march)  # a third client with enough answers
    rows = {r.label: r for r in dashboard.survey_by_client(shared["provincial"], march, march)}
    assert rows[city.name].suppressed and rows[ministry.name].suppressed  # 6: smallest shown
    assert not rows[third.name].suppressed
    assert (rows[third.name].responses, rows[third.name].satisfaction) == (8, 75.0)
    assert rows[third.name].timeliness == 75.0

    _answers(shared, city, [(3, 3)] * 3, march)  # the city now has 5
    rows = {r.label: r for r in dashboard.survey_by_client(shared["provincial"], march, march)}
    assert not any(r.suppressed for r in rows.values())
    assert rows[ministry.name].responses == 6
    assert round(rows[ministry.name].satisfaction, 1) == 66.7
    assert rows[ministry.name].timeliness == 100.0
    assert rows[city.name].satisfaction == 50.0
    # Other months and the other provider see none of them.
    assert dashboard.survey_by_client(shared["federal"], march, march) == []
    april = datetime.date(2026, 4, 1)
    assert dashboard.survey_by_client(shared["provincial"], april, april) == []
