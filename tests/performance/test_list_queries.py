"""The performance pages and the KPI API send as many SQL statements with 200 services as
with 10: the all-services page, a jurisdiction's page, an agency's dashboard and
`GET /api/v1/performance/kpis` read monthly rollups with aggregates, whatever the number of
services; a person's feedback list reads its invitations and their services' names once."""

from __future__ import annotations

import datetime
import secrets

import pytest
from django.test import Client
from django.utils import timezone

from joinedup.demo.history.run import generate_history
from joinedup.federation.models import Jurisdiction
from joinedup.performance import rollups
from joinedup.performance.models import SurveyInvitation, Transaction

from .test_pages_and_api import _staff_client
from .test_transactions import submit

pytestmark = pytest.mark.django_db
LIKE = "ca.birth-registration"  # delivered by ServiceOntario in Ontario


@pytest.fixture
def generated(small_federation):
    generate_history(300, years=1, seed=7)


def add_measured_services(add_services):
    """n more services, each with a copy of the birth registration's transactions."""
    template = list(Transaction.objects.filter(service_key=LIKE)[:5])
    assert template

    def add(count: int) -> None:
        made = add_services(count, LIKE)
        copies = []
        for service in made:
            for txn in template:
                fields = {f.attname: getattr(txn, f.attname) for f in Transaction._meta.fields}
                fields.update(id=None, service_key=service.key, source=secrets.token_hex(8))
                copies.append(Transaction(**fields))
        Transaction.objects.bulk_create(copies)
        rollups.recompute_rollups()

    return add


def test_the_performance_pages_and_api_do_not_query_per_service(
    generated, add_services, queries_at_10_and_200
):
    public = Client()
    analyst = _staff_client("serviceontario", "analyst")
    start = len(set(Transaction.objects.values_list("service_key", flat=True)))

    def read():
        measured = len(set(Transaction.objects.values_list("service_key", flat=True)))
        overview = public.get("/en/performance/")
        assert overview.status_code == 200 and len(overview.context["rows"]) == measured
        ontario = public.get("/en/performance/jurisdictions/CA-ON/")
        assert ontario.status_code == 200
        assert sum(LIKE in row["service_key"] for row in ontario.context["rows"]) == (
            measured - start + 1
        )
        dashboard = analyst.get("/en/performance/agencies/serviceontario/")
        assert dashboard.status_code == 200
        assert sum(LIKE in row["service_key"] for row in dashboard.context["rows"]) >= (
            measured - start + 1
        )
        api = public.get("/api/v1/performance/kpis?by=service&limit=500").json()
        assert api["count"] == measured
        by_group = public.get("/api/v1/performance/kpis?by=service&dimension=age_band&limit=5")
        assert by_group.status_code == 200 and by_group.json()["count"] >= measured
        download = public.get("/en/performance/open-data/kpis.csv?period=12m")
        services = {line.split(",")[1] for line in download.content.decode().splitlines()[1:]}
        assert download.status_code == 200 and len(services) == measured
        for page in ("groups", "channels"):
            insight = public.get(f"/en/performance/{page}/?dimension=age_band")
            assert insight.status_code == 200 and len(insight.context["services"]) == measured

    at_10, at_200 = queries_at_10_and_200(
        add_measured_services(add_services), read, start=start - 1
    )
    assert at_200 == at_10


def test_the_feedback_list_does_not_query_per_invitation(
    birth_registration, applicant, queries_at_10_and_200
):
    application = submit(applicant, "feedback")
    browser = Client()
    browser.force_login(applicant)

    def add(count: int) -> None:
        SurveyInvitation.objects.bulk_create(
            SurveyInvitation(
                token_hash=secrets.token_hex(32),
                application_id=application.pk,
                event_id=secrets.token_hex(16),
                service_key="ca.birth-registration",
                jurisdiction="CA-ON",
                channel="online",
                expires_at=timezone.now() + datetime.timedelta(days=30),
            )
            for _n in range(count)
        )

    def read():
        page = browser.get("/en/performance/feedback/").content.decode()
        assert page.count("/en/performance/feedback/") >= SurveyInvitation.objects.count()

    at_10, at_200 = queries_at_10_and_200(add, read)
    assert at_200 == at_10


def add_measured_places(count: int) -> None:
    """n more cities in Ontario (copies of Toronto), each with a copy of the birth
    registration's transactions delivered there."""
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    fields = {f.attname: getattr(toronto, f.attname) for f in Jurisdiction._meta.fields}
    start = Jurisdiction.objects.count()
    codes = [f"CA-ON-X{start + n}" for n in range(count)]
    Jurisdiction.objects.bulk_create(
        Jurisdiction(
            **{
                **fields,
                "id": None,
                "code": code,
                "names": {"en": f"Town {code}", "fr": f"Ville {code}"},
                "path": toronto.path.replace("CA-ON-TOR", code),
            }
        )
        for code in codes
    )
    template = list(Transaction.objects.filter(service_key=LIKE)[:5])
    copies = []
    for code in codes:
        for txn in template:
            row = {f.attname: getattr(txn, f.attname) for f in Transaction._meta.fields}
            row.update(id=None, jurisdiction=code, source=secrets.token_hex(8))
            copies.append(Transaction(**row))
    Transaction.objects.bulk_create(copies)
    rollups.recompute_rollups()


def test_a_services_performance_page_does_not_query_per_jurisdiction(
    generated, queries_at_10_and_200
):
    public = Client()
    start = Transaction.objects.filter(service_key=LIKE).values("jurisdiction").distinct().count()

    def read():
        page = public.get(f"/en/performance/services/{LIKE}/")
        assert page.status_code == 200
        delivering = (
            Transaction.objects.filter(service_key=LIKE).values("jurisdiction").distinct().count()
        )
        assert len(page.context["rows"]) == delivering

    at_10, at_200 = queries_at_10_and_200(add_measured_places, read, start=start)
    assert at_200 == at_10
