"""The counter's guided life event: the portal's journey (first questions, the person's
services, the unified form prefilled, the preview per agency with a consent per leg),
driven by the agent for the person at the counter; the visit records the applications."""

from __future__ import annotations

import datetime
import re

import pytest

from joinedup.bundles.models import BundleDraft, BundleSubmission
from joinedup.channels import counter
from joinedup.sharing import dispatch
from joinedup.sharing.models import ConsentRecord
from tests.bundles.conftest import newborn_answers, newborn_screening

from .test_appointment_pages import signed_in

pytestmark = pytest.mark.django_db


def form_data(answers: dict) -> dict:
    """The answers as the form's fields post them (a date in three parts, yes/no words)."""
    data = {}
    for name, value in answers.items():
        if name.endswith("date") and isinstance(value, str):
            day = datetime.date.fromisoformat(value)
            data |= {f"{name}__day": day.day, f"{name}__month": day.month}
            data[f"{name}__year"] = day.year
        elif isinstance(value, bool):
            data[name] = "true" if value else "false"
        else:
            data[name] = value
    return data


def prefilled(html: str) -> dict:
    """What the page shows filled in (as a browser would send it back)."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or not value or name.group(1) == "csrfmiddlewaretoken":
            continue
        if kind and kind.group(1) in ("radio", "checkbox") and "checked" not in tag:
            continue
        found[name.group(1)] = value.group(1)
    return found


def walk_to_check(client, start: str, answers: dict) -> str:
    """Answer the form pages from `start` until the preview; returns the preview's URL."""
    url = start
    for _page in range(12):
        if url.endswith("/check/"):
            return url
        shown = client.get(url).content.decode()
        answer = client.post(url, {**prefilled(shown), **form_data(answers)})
        said = re.findall(r'href="#[^"]*">([^<]+)</a>', answer.content.decode())
        assert answer.status_code == 302, (url, said)
        url = answer["Location"]
    raise AssertionError("the form never ended")


def test_the_agent_submits_a_life_event_through_the_guided_pages(world):
    person = world.amara.person
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, person)
    counter.verify_in_person(clerk, visit, ["passport", "driver_licence"])
    client = signed_in(world.esdc_clerk, second_factor=True)

    chosen = client.post(f"/en/counter/visits/{visit.pk}/bundle/", {"bundle": "newborn"})
    assert chosen.status_code == 302
    questions = chosen["Location"]
    assert client.get(questions).status_code == 200
    # A question left unanswered: the page again, with a 400 and the message.
    assert client.post(questions, {}).status_code == 400
    legs = client.post(questions, form_data(newborn_screening()))
    assert legs.status_code == 302
    page = client.get(legs["Location"]).content.decode()
    assert "Birth registration" in page or "birth" in page.lower()
    first = re.search(r'href="([^"]+/(?:form/[^"]+|check)/)"', page).group(1)
    answers = newborn_answers(
        other_parent_given_names="David", spouse_name="David Okafor", marital_status="married"
    )
    check = walk_to_check(client, first, answers)
    preview = client.get(check)
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "Read each consent out to the person" in text
    keys = re.findall(r'name="consent" value="([^"]+)"', text)
    assert keys

    # Without every consent, nothing is sent: the page again, with a 400.
    refused = client.post(check, {"submit": "1", "consent": keys[:1]})
    assert refused.status_code == 400
    assert not BundleSubmission.objects.filter(subject=person).exists()

    sent = client.post(check, {"submit": "1", "consent": keys})
    assert sent.status_code == 302, sent.content.decode()[:3000]
    made = BundleSubmission.objects.get(subject=person)
    assert set(made.legs.values_list("state", flat=True)) == {"received"}
    dispatch.dispatch_pending()  # the task workers make each leg's application
    legs_sent = list(made.legs.values_list("application_id", flat=True))
    assert None not in legs_sent
    assert set(visit.applications.values_list("pk", flat=True)) == set(legs_sent)
    assert BundleDraft.objects.get(submitted=made).user_id == world.esdc_clerk.pk
    records = ConsentRecord.objects.filter(subject=person, method="counter")
    assert records.count() == len(legs_sent)
    assert all(r.recorded_by_id == world.esdc_clerk.pk for r in records)
    assert made.legs.first().application.channel == "counter"
    # Sending again changes nothing (the draft is submitted: not found any more).
    assert client.post(check, {"submit": "1", "consent": keys}).status_code == 404


def test_a_draft_is_the_agents_own(world):
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person)
    client = signed_in(world.esdc_clerk, second_factor=True)
    chosen = client.post(f"/en/counter/visits/{visit.pk}/bundle/", {"bundle": "newborn"})
    city = world.staff(world.city_clerk)
    other_visit = counter.start_visit(city, world.amara.person)
    other = signed_in(world.city_clerk, second_factor=True)
    stolen = chosen["Location"].replace(f"/visits/{visit.pk}/", f"/visits/{other_visit.pk}/")
    assert other.get(stolen).status_code == 404
    assert (
        client.post(f"/en/counter/visits/{visit.pk}/bundle/", {"bundle": "nope"}).status_code == 400
    )


def test_the_agents_form_counts_only_the_pages_shown(world):
    clerk = world.staff(world.esdc_clerk)
    visit = counter.start_visit(clerk, world.amara.person)
    counter.verify_in_person(clerk, visit, ["passport", "driver_licence"])
    client = signed_in(world.esdc_clerk, second_factor=True)
    chosen = client.post(f"/en/counter/visits/{visit.pk}/bundle/", {"bundle": "newborn"})
    legs = client.post(chosen["Location"], form_data(newborn_screening()))
    page = client.get(legs["Location"]).content.decode()
    url = re.search(r'href="([^"]+/form/[^"]+/)"', page).group(1)
    answers = form_data(newborn_answers())
    seen = []
    while not url.endswith("/check/"):
        html = client.get(url).content.decode()
        step = re.search(r"page (\d+) of (\d+)", html).groups()
        seen.append((url.rstrip("/").rsplit("/", 1)[1], step, "registry knows" in html))
        url = client.post(url, {**prefilled(html), **answers})["Location"]
    # The contact page (all known) is skipped and not counted; only the parents' page,
    # where the registry's names and date of birth are filled in, says so.
    assert seen == [
        ("child", ("1", "4"), False),
        ("parents", ("2", "4"), True),
        ("certificate", ("3", "4"), False),
        ("family", ("4", "4"), False),
    ]
