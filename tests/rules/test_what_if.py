"""What-if for an analyst: a figure of the law changed at a place, run on a synthetic
population beside the law in force — who receives each benefit, its cost, who gains and who
loses — without storing anything or changing the law in force. The page is for analysts,
supervisors and administrators, in English and French, and refuses bad input with a 400
naming the field."""

from __future__ import annotations

import pytest

from joinedup.federation.models import Agency
from joinedup.rules import whatif
from joinedup.rules.models import Entitlement
from joinedup.sharing.models import OutboxEvent
from tests.delivery.conftest import make_staff, staff_client  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
TORONTO = ["CA", "CA-ON", "CA-ON-TOR"]
URL = "/en/staff/rules/what-if/"
UNDER_6 = "ca.child_benefit.maximum.under_6"


def test_the_figures_are_those_in_force_that_month():
    now = {f.name: f for f in whatif.figures(TORONTO, "2026-07")}
    before = {f.name: f for f in whatif.figures(TORONTO, "2025-07", "fr")}
    assert now["ca.child_benefit.first_threshold"].value == 38237
    assert before["ca.child_benefit.first_threshold"].value == 37487
    assert now["ca.child_benefit.first_phase_out_rate.one_child"].rate
    assert not now[UNDER_6].rate
    assert before[UNDER_6].description == "Maximum annuel par enfant de moins de 6 ans"
    assert {f.package for f in now.values()} == {"ca", "ca_on", "ca_on_tor"}


def test_a_higher_maximum_costs_more_and_nobody_loses_and_nothing_is_written(db):
    events = OutboxEvent.objects.count()
    outcome = whatif.run(TORONTO, "2026-07", {UNDER_6: 9000.0}, 1_000)
    effects = {e.variable: e for e in outcome.effects}
    federal = effects["ca_child_benefit"]
    assert federal.entity == "families" and outcome.families == 1_000
    assert federal.gaining > 0 and federal.losing == 0
    assert federal.changed_recipients >= federal.current_recipients > 0
    assert federal.cost_per_year > 0
    # The provincial and municipal benefits do not read the federal maximum.
    for variable in ("ca_on_child_benefit", "ca_on_tor_transit_discount"):
        assert effects[variable].cost_per_month == 0 and effects[variable].gaining == 0
    assert outcome.cost_per_year == pytest.approx(federal.cost_per_year, abs=0.1)
    # The same population each time: the law in force gives the same totals.
    again = whatif.run(TORONTO, "2026-07", {UNDER_6: 7000.0}, 1_000)
    lower = {e.variable: e for e in again.effects}["ca_child_benefit"]
    assert lower.current_per_month == federal.current_per_month
    assert lower.losing > 0 and lower.gaining == 0 and lower.cost_per_year < 0
    assert Entitlement.objects.count() == 0 and OutboxEvent.objects.count() == events
    # The law in force is unchanged afterwards.
    now = {f.name: f.value for f in whatif.figures(TORONTO, "2026-07")}
    assert now[UNDER_6] == 8157


def test_bad_changes_are_refused_naming_the_figure():
    known = whatif.figures(TORONTO, "2026-07")
    rate = "ca.child_benefit.first_phase_out_rate.one_child"
    for raw, field, message in (
        ({UNDER_6: "a lot"}, UNDER_6, "Enter a number."),
        ({UNDER_6: "-5"}, UNDER_6, "Enter a number of zero or more."),
        ({rate: "13.5"}, rate, "A rate is a share between 0 and 1"),
        ({"ca.no_such_figure": "1"}, "ca.no_such_figure", "This is not a figure"),
        ({UNDER_6: "8157"}, "", "Change at least one figure of the law."),
    ):
        with pytest.raises(whatif.WhatIfError) as refused:
            whatif.read_changes(raw, known)
        assert refused.value.field == field and message in refused.value.message
    assert whatif.read_changes({UNDER_6: "9 000,5"}, known) == {UNDER_6: 9000.5}


@pytest.fixture
def analyst(small_federation, staff_client):  # noqa: F811
    browser, _context = staff_client(Agency.objects.first(), "analyst")
    return browser


def test_an_analyst_sees_the_figures_then_the_effect_in_english_and_french(analyst):
    shown = analyst.get(URL, {"place": "CA-ON-TOR", "period": "2026-07"})
    assert shown.status_code == 200
    html = shown.content.decode()
    assert f'name="figure:{UNDER_6}"' in html and 'value="8157"' in html
    assert 'data-progress="what-if-progress"' in html and "rules/what_if.js" in html
    answer = analyst.get(
        URL,
        {
            "place": "CA-ON-TOR",
            "period": "2026-07",
            "families": "1000",
            f"figure:{UNDER_6}": "9000",
            "run": "1",
        },
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "The effect of the change" in html and "Canada Child Benefit" in html
    assert "a year more than the law in force" in html and "1,000 families" in html
    french = analyst.get(
        URL.replace("/en/", "/fr/"),
        {
            "place": "CA-ON-TOR",
            "period": "2026-07",
            "families": "1000",
            f"figure:{UNDER_6}": "9000",
            "run": "1",
        },
    ).content.decode()
    assert "Que se passerait-il si la loi changeait" in french
    assert "L’effet du changement" in french and "Maximum annuel par enfant" in french


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"place": "XX-NOWHERE"}, "Choose a place from the list."),
        ({"place": "CA-ON-TOR", "period": "July"}, "Enter a month as YYYY-MM"),
        ({"place": "CA-ON-TOR", f"figure:{UNDER_6}": "lots", "run": "1"}, "Enter a number."),
        ({"place": "CA-ON-TOR", "run": "1"}, "Change at least one figure of the law."),
        (
            {"place": "CA-ON-TOR", "families": "7", f"figure:{UNDER_6}": "9000", "run": "1"},
            "Choose one of the sizes of population offered.",
        ),
    ],
)
def test_bad_input_is_a_400_saying_what_to_correct(analyst, query, message):
    refused = analyst.get(URL, query)
    assert refused.status_code == 400
    assert message in refused.content.decode()


def test_only_analysts_supervisors_and_administrators_run_a_what_if(
    small_federation,
    staff_client,  # noqa: F811
    client,
):
    agency = Agency.objects.first()
    caseworker, _context = staff_client(agency, "caseworker")
    assert caseworker.get(URL).status_code == 403
    supervisor, _context = staff_client(agency, "supervisor")
    assert supervisor.get(URL).status_code == 200
    anonymous = client.get(URL)
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]
