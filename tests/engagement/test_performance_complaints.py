"""Complaint measures on performance's pages (performance does not import engagement: the
figures come through the registry engagement fills in ready())."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from joinedup.delivery import queues
from joinedup.engagement import complaints
from joinedup.engagement.complaints import file_complaint
from joinedup.federation.models import Service
from joinedup.performance.complaints import source

from .conftest import context_of

URL = "/en/performance/complaints/"


def _complain(make_applicant, make_staff, n: int, start: int = 0, answer: bool = True) -> None:
    parking = Service.objects.get(key="ca.parking-permit")
    for i in range(start, start + n):
        user = make_applicant(email=f"c{i}@example.org")
        complaint = file_complaint(context_of(user), user.person, "Slow.", service=parking)
        if not answer:
            continue
        application = complaint.parts.get().application
        for task, decision in (("acknowledge", "acknowledge"), ("respond", "uphold")):
            item = application.work_items.get(task_name=task, status="open")
            staff = make_staff(application.agency, item.role, f"{item.role}{i}@t.example")
            queues.complete(staff, item, decision, "Sorry.")
        complaints.reply(context_of(user), complaint, "accept")
        tagger = make_staff(application.agency, "caseworker", f"tag{i}@t.example")
        complaints.tag(tagger, complaint, ["delay"])


def test_engagement_registers_its_figures_with_performance(db):
    assert source() is not None


def test_the_page_shows_each_measure_with_a_chart_and_its_table(
    federation, make_applicant, make_staff, settings
):
    settings.PERFORMANCE_MIN_COUNT = 1
    _complain(make_applicant, make_staff, 2)
    client = Client()
    page = client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Parking permit" in text or "parking" in text.lower()
    # No application of the service in the period: no rate to chart, the counts in the table.
    assert 'data-chart="chart-complaint-rate-data"' not in text
    assert 'data-chart="chart-complaint-themes-data"' in text
    assert "Data of the chart" in text  # the table beside each chart
    assert "100.0" in text  # both upheld
    by_agency = client.get(URL + "?by=agency")
    assert by_agency.status_code == 200 and "City of Toronto" in by_agency.content.decode()
    by_place = client.get(URL + "?by=jurisdiction")
    assert by_place.status_code == 200 and "Toronto" in by_place.content.decode()
    french = client.get("/fr/performance/complaints/")
    assert french.status_code == 200
    assert "Plaintes" in french.content.decode()


def test_small_numbers_are_not_published(federation, make_applicant, make_staff, settings):
    settings.PERFORMANCE_MIN_COUNT = 10
    _complain(make_applicant, make_staff, 1)
    text = Client().get(URL).content.decode()
    assert "Too few complaints to publish" in text
    assert "100.0" not in text


def test_an_unknown_grouping_is_a_400_with_a_message(federation):
    page = Client().get(URL + "?by=nothing")
    assert page.status_code == 400
    assert "Choose service, agency or jurisdiction." in page.content.decode()


def test_the_page_costs_the_same_whatever_the_data(
    federation, make_applicant, make_staff, settings
):
    settings.PERFORMANCE_MIN_COUNT = 1
    client = Client()
    client.get(URL)
    _complain(make_applicant, make_staff, 1, answer=False)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL + "?by=agency").status_code == 200
    _complain(make_applicant, make_staff, 4, start=10, answer=False)
    with CaptureQueriesContext(connection) as large:
        assert client.get(URL + "?by=agency").status_code == 200
    assert len(large) == len(small)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_performance_index_links_to_the_complaints_page(client, federation, language):
    page = client.get(f"/{language}/performance/")
    assert page.status_code == 200
    assert reverse("performance:complaints").encode() in page.content
