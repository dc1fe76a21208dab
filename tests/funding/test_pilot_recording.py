"""Recording a pilot through its page: an analyst names what changes, where, since when, the
measure and the comparison places (by hand, or suggested by similarity before the start);
every refusal is named in words, a 400, and nothing is written."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from joinedup.demo.history.places import write_places
from joinedup.funding import pilots, places
from joinedup.funding.models import Pilot, Place, PlaceFigure
from tests.funding.conftest import staff_client


def _history(count: int = 12, months: int = 18) -> None:
    days = [datetime.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(months)]
    write_places(count=count, months=days, seed=7)


def _form(**changes) -> dict:
    form = {
        "key": "joint-counter",
        "name_en": "Joint counter",
        "name_fr": "Comptoir commun",
        "change": "channel",
        "description_en": "One counter for every agency.",
        "description_fr": "Un comptoir pour toutes les agences.",
        "starts_on": "2025-01",
        "measure": "within_standard",
        "treated": ["synthetic-01", "synthetic-02"],
        "comparison_from": "hand",
        "comparison": ["synthetic-03", "synthetic-04", "synthetic-05"],
    }
    form.update(changes)
    return form


@pytest.fixture
def analyst(world):
    places.load_places([])
    _history()
    client, _user = staff_client(world.toronto, "analyst")
    return client


def test_an_analyst_records_a_pilot_chosen_by_hand_and_reads_its_evaluation(analyst):
    listing = analyst.get("/en/funding/places/").content.decode()
    assert 'href="/en/funding/pilots/new/"' in listing  # linked from the places page
    assert analyst.get("/en/funding/pilots/new/").status_code == 200
    response = analyst.post("/en/funding/pilots/new/", _form())
    assert (
        response.status_code == 302 and response["Location"] == "/en/funding/pilots/joint-counter/"
    )
    pilot = Pilot.objects.get(key="joint-counter")
    assert pilot.names == {"en": "Joint counter", "fr": "Comptoir commun"}
    assert pilot.description["fr"] == "Un comptoir pour toutes les agences."
    assert pilot.change == Pilot.Change.CHANNEL and pilot.starts_on == datetime.date(2025, 1, 1)
    assert sorted(p.key for p in pilot.treated.all()) == ["synthetic-01", "synthetic-02"]
    assert pilot.comparison.count() == 3 and not pilot.synthetic
    page = analyst.get("/en/funding/pilots/joint-counter/").content.decode()
    assert "Joint counter" in page and "Comparison places</th><td>3" in page
    french = analyst.get("/fr/funding/pilots/joint-counter/").content.decode()
    assert "Comptoir commun" in french and "Un comptoir pour toutes les agences." in french


def test_suggested_comparison_places_are_the_most_similar_before_the_start(analyst):
    response = analyst.post(
        "/en/funding/pilots/new/", _form(comparison_from="suggested", comparison=[])
    )
    assert response.status_code == 302
    pilot = Pilot.objects.get(key="joint-counter")
    chosen = sorted(p.key for p in pilot.comparison.all())
    treated = list(pilot.treated.all())
    expected = pilots.suggested_comparison(treated, "within_standard", pilot.starts_on)
    assert len(chosen) == 5 and chosen == sorted(p.key for p in expected)
    assert not {p.key for p in treated} & set(chosen)
    # The suggestion is the pilot page's own: the five nearest by pre-period distance.
    first = Place.objects.get(key="synthetic-01")
    pre = dict(
        PlaceFigure.objects.filter(
            place=first, measure="within_standard", period__lt=pilot.starts_on
        ).values_list("period", "value")
    )
    assert len(pre) == 12


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "Not A Key"}, "lower-case letters, digits and hyphens"),
        ({"key": "new"}, "other than “new”"),
        ({"name_fr": "  "}, "name in English and in French"),
        ({"change": "magic"}, "Choose what the pilot changes."),
        ({"measure": "happiness"}, "Choose the outcome measure to watch."),
        ({"starts_on": "2025-13"}, "as YYYY-MM"),
        ({"treated": []}, "at least one place where the pilot runs"),
        ({"comparison": ["synthetic-01"]}, "both a place of the pilot and a comparison place"),
        ({"treated": ["atlantis"]}, "No such place."),
        (
            {"comparison_from": "suggested", "measure": "take_up"},
            "No comparison place can be suggested",
        ),
    ],
)
def test_bad_input_is_refused_in_words_and_nothing_is_written(analyst, changes, message):
    response = analyst.post("/en/funding/pilots/new/", _form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Pilot.objects.exists()


def test_every_problem_is_named_at_once_and_in_french(analyst):
    response = analyst.post("/fr/funding/pilots/new/", _form(key="", name_en="", treated=[]))
    page = response.content.decode()
    assert response.status_code == 400 and "Le projet pilote n’a pas été enregistré" in page
    assert "en anglais et en français" in page and "au moins un lieu" in page
    assert not Pilot.objects.exists()


def test_a_key_already_recorded_is_refused(analyst):
    assert analyst.post("/en/funding/pilots/new/", _form()).status_code == 302
    again = analyst.post("/en/funding/pilots/new/", _form(name_en="Another"))
    assert again.status_code == 400 and "already recorded" in again.content.decode()
    assert Pilot.objects.get().names["en"] == "Joint counter"


def test_auditors_read_pilots_but_only_analysts_and_up_record_them(world):
    places.load_places([])
    auditor, _user = staff_client(world.toronto, "auditor")
    assert auditor.get("/en/funding/places/").status_code == 200
    assert (
        'href="/en/funding/pilots/new/"' not in auditor.get("/en/funding/places/").content.decode()
    )
    assert auditor.get("/en/funding/pilots/new/").status_code == 403
    assert auditor.post("/en/funding/pilots/new/", _form()).status_code == 403
    front_line, _user = staff_client(world.toronto, "front_line")
    assert front_line.post("/en/funding/pilots/new/", _form()).status_code == 403
    assert Client().post("/en/funding/pilots/new/", _form()).status_code in (302, 403)
    assert not Pilot.objects.exists()


def test_a_pilot_with_no_places_or_figures_yet_says_so_instead_of_failing(world):
    """A pilot recorded before its places or figures exist (loaded through the admin or a
    fixture) is shown as not yet estimable: never a 500."""
    Pilot.objects.create(
        key="empty-pilot",
        names={"en": "Empty pilot", "fr": "Projet pilote vide"},
        change="channel",
        starts_on=datetime.date(2025, 1, 1),
        measure="within_standard",
    )
    client, _user = staff_client(world.toronto, "analyst")
    page = client.get("/en/funding/pilots/empty-pilot/")
    assert page.status_code == 200
    assert "cannot be evaluated yet" in page.content.decode()


def _state(pilot: Pilot) -> tuple:
    pilot.refresh_from_db()
    return (
        pilot.names,
        pilot.change,
        pilot.description,
        pilot.starts_on,
        pilot.measure,
        sorted(p.key for p in pilot.treated.all()),
        sorted(p.key for p in pilot.comparison.all()),
    )


def test_an_analyst_changes_a_pilot_on_its_page_and_bad_input_changes_nothing(analyst, world):
    assert analyst.post("/en/funding/pilots/new/", _form()).status_code == 302
    pilot = Pilot.objects.get(key="joint-counter")
    page = analyst.get("/en/funding/pilots/joint-counter/").content.decode()
    assert 'href="/en/funding/pilots/joint-counter/edit/"' in page  # linked from the pilot
    form = analyst.get("/en/funding/pilots/joint-counter/edit/")
    text = form.content.decode()
    # The form holds the pilot as it is; its key (its address) is not offered for change.
    assert form.status_code == 200 and "Change Joint counter" in text
    assert 'value="Comptoir commun"' in text and 'value="2025-01"' in text
    assert '<option value="synthetic-03" selected>' in text and 'name="key"' not in text
    # What changes, where, since when, the measure and the comparison places chosen by hand.
    response = analyst.post(
        "/en/funding/pilots/joint-counter/edit/",
        _form(
            key="ignored",
            name_en="Joint counter, second wave",
            change="navigator",
            starts_on="2025-03",
            measure="completed",
            treated=["synthetic-01"],
            comparison=["synthetic-02", "synthetic-06"],
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/funding/pilots/joint-counter/"
    assert Pilot.objects.count() == 1
    names, change, _description, starts_on, measure, treated, comparison = _state(pilot)
    assert names["en"] == "Joint counter, second wave" and change == "navigator"
    assert starts_on == datetime.date(2025, 3, 1) and measure == "completed"
    assert treated == ["synthetic-01"] and comparison == ["synthetic-02", "synthetic-06"]
    # The suggested comparison places instead of those chosen by hand.
    response = analyst.post(
        "/en/funding/pilots/joint-counter/edit/",
        _form(treated=["synthetic-01"], comparison_from="suggested", comparison=[]),
    )
    assert response.status_code == 302
    expected = pilots.suggested_comparison(
        [Place.objects.get(key="synthetic-01")], "within_standard", datetime.date(2025, 1, 1)
    )
    assert _state(pilot)[6] == sorted(p.key for p in expected)
    # Bad input: every problem named, in English and in French, a 400, nothing changed.
    before = _state(pilot)
    for url, changes, message in [
        ("/en/", {"name_fr": ""}, "name in English and in French"),
        ("/en/", {"starts_on": "2025-13"}, "as YYYY-MM"),
        ("/en/", {"treated": ["synthetic-01"], "comparison": ["synthetic-01"]}, "both a place"),
        ("/en/", {"comparison": ["atlantis"]}, "No such place."),
        ("/fr/", {"treated": [], "measure": "happiness"}, "au moins un lieu"),
    ]:
        refused = analyst.post(f"{url}funding/pilots/joint-counter/edit/", _form(**changes))
        assert refused.status_code == 400 and message in refused.content.decode()
        assert _state(pilot) == before
    assert "Le projet pilote n’a pas été modifié" in refused.content.decode()
    assert analyst.get("/en/funding/pilots/atlantis/edit/").status_code == 404
    # Auditors read the pilot but neither see the link nor change it.
    auditor, _user = staff_client(world.toronto, "auditor")
    assert "/edit/" not in auditor.get("/en/funding/pilots/joint-counter/").content.decode()
    assert auditor.get("/en/funding/pilots/joint-counter/edit/").status_code == 403
    assert auditor.post("/en/funding/pilots/joint-counter/edit/", _form()).status_code == 403
    assert _state(pilot) == before
