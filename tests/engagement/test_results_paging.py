"""The results page's "what we heard, what we did" is paged, 50 decided proposals a page,
counted once: the page costs the same statements for 60 decided proposals or 150. The open
data download is streamed."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from joinedup.engagement import participation, results
from joinedup.engagement.models import Change, Proposal

from .conftest import context_of

pytestmark = pytest.mark.django_db


def _decide(consultation, count: int, start: int = 0) -> None:
    made = Proposal.objects.bulk_create(
        Proposal(
            consultation=consultation,
            title=f"Proposal {n:03d}",
            body="A proposal.",
            supports_count=1000 - n,
            decision="adopted" if n % 2 else "not_adopted",
            decision_reasons=f"Reason {n:03d}.",
        )
        for n in range(start, start + count)
    )
    Change.objects.bulk_create(
        Change(proposal=p, kind="pilot", descriptions={"en": f"Change of {p.title}."})
        for p in made
        if p.decision == "adopted"
    )


def _statements(client: Client, url: str) -> tuple[int, str]:
    client.get(url)  # warm: the session and the caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_what_we_did_is_paged_and_the_query_count_does_not_grow(consultation):
    url = f"/en/consultations/{consultation.key}/results/"
    client = Client()
    _decide(consultation, 60)
    small, page = _statements(client, url)
    assert "Reason 000." in page and "Reason 049." in page
    assert "Reason 050." not in page  # on the second page
    assert "Page 1 of 2" in page and "?page=2" in page
    assert "Change of Proposal 001." in page

    _decide(consultation, 90, start=60)
    large, page = _statements(client, url)
    assert large == small
    assert "Page 1 of 3" in page

    second, page = _statements(client, url + "?page=2")
    assert second == small
    assert "Reason 050." in page and "Reason 099." in page and "Reason 049." not in page
    assert "Change of Proposal 051." in page

    # A page past the end shows the last one; a page that is not a number, the first.
    assert "Reason 149." in client.get(url + "?page=99").content.decode()
    assert "Reason 000." in client.get(url + "?page=x").content.decode()
    french = client.get(f"/fr/consultations/{consultation.key}/results/").content.decode()
    assert "Page 1 sur 3" in french


def test_the_open_data_download_is_streamed_without_authors(consultation, make_applicant):
    author = make_applicant(email="author@example.org")
    proposal = participation.submit_proposal(
        context_of(author), consultation, "Save my answers", "Let me come back, later."
    )
    participation.comment(context_of(author), proposal, 'Yes, "please".')
    _decide(consultation, 3)
    response = Client().get(f"/en/consultations/{consultation.key}/open-data.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert body == results.open_data_csv(consultation)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["type", "id", "proposal"] and rows[0][-1] == "text"
    assert len(rows) == 1 + 4 + 1  # four proposals, one comment
    assert rows[-1][0] == "comment" and rows[-1][7] == 'Yes, "please".'
    assert "Okafor" not in body and "author@example.org" not in body
