"""Panels other apps register on the work-item page: shown in order where they have
something for the task, their form handed to them (a refusal comes back on the page with
its message and a 400, nothing else done), an unknown panel is a 404."""

from __future__ import annotations

import pytest

from joinedup.delivery import panels
from joinedup.delivery.applications import submit_application
from joinedup.delivery.models import WorkItem

from .conftest import birth_answers, person_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(birth_registration, applicant):
    application, _ = submit_application(
        person_context(applicant), "ca.birth-registration", birth_answers(), "online", "p-1"
    )
    return WorkItem.objects.get(application=application, status="open")


@pytest.fixture
def notes(item):
    """Two test panels: one for this task (with a form), one with nothing to show."""
    recorded: list[str] = []

    def post(request, acting, work_item):
        note = request.POST.get("note", "").strip()
        if not note:
            raise panels.PanelError("Write a note.")
        recorded.append(note)
        return "The note is kept."

    panels.register(
        panels.Panel(
            "test.notes",
            "delivery/test_panel.html",
            lambda request, acting, work_item: (
                {"notes": recorded} if work_item.pk == item.pk else None
            ),
            post,
            order=10,
        )
    )
    panels.register(
        panels.Panel("test.nothing", "delivery/test_panel.html", lambda *_: None, order=5)
    )
    yield recorded
    panels.unregister("test.notes")
    panels.unregister("test.nothing")


@pytest.fixture
def panel_template(settings, tmp_path):
    (tmp_path / "delivery").mkdir()
    (tmp_path / "delivery" / "test_panel.html").write_text(
        '<section data-testid="test-panel">Notes: {{ notes|join:", " }}'
        '{% if problem %}<p role="alert">{{ problem }}</p>{% endif %}'
        '<input name="note" value="{{ entered.note|default:\'\' }}"></section>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0].get("DIRS", [])]}
    ]


def test_a_registered_panel_shows_and_takes_its_form(
    item, notes, panel_template, federation, staff_client
):
    assert [p.key for p in panels.registered()][:2] == ["test.nothing", "test.notes"]
    browser, _ = staff_client(federation["serviceontario"], "caseworker")
    url = f"/en/staff/work-items/{item.pk}/"
    page = browser.get(url).content.decode()
    assert page.count('data-testid="test-panel"') == 1 and "Notes: <input" in page
    refused = browser.post(url, {"action": "panel", "panel": "test.notes", "note": " "})
    assert refused.status_code == 400 and "Write a note." in refused.content.decode()
    assert notes == []
    kept = browser.post(url, {"action": "panel", "panel": "test.notes", "note": "Called back"})
    assert kept.status_code == 302 and kept["Location"].endswith(url)
    page = browser.get(url).content.decode()
    assert "Notes: Called back" in page and "The note is kept." in page
    # A panel without a form, or none by that key: 404, nothing done.
    assert browser.post(url, {"action": "panel", "panel": "test.nothing"}).status_code == 404
    assert browser.post(url, {"action": "panel", "panel": "nope"}).status_code == 404
    item.refresh_from_db()
    assert item.status == "open"
