"""The population run: households from the registry, incomes handed over, entitlements
stored once per person, benefit and month, one outbox event per new one."""

import datetime
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from joinedup.identity.client_registry import AddressInput, register_person
from joinedup.identity.models import Relationship
from joinedup.rules.entitlements import EVENT, run_population
from joinedup.rules.models import Entitlement
from joinedup.sharing.models import OutboxEvent

pytestmark = pytest.mark.django_db


def person(name: str, born: str, place: str):
    return register_person(
        given_names=name,
        family_name="Test",
        birth_date=datetime.date.fromisoformat(born),
        address=AddressInput(street_address="1 Main St", locality=name, jurisdiction_code=place),
    )


def parent_of(parent, child) -> None:
    Relationship.objects.create(
        person=parent,
        kind=Relationship.Kind.PARENT_OF,
        related_person=child,
        valid_from=datetime.date(2015, 1, 1),
    )


@pytest.fixture
def people(small_federation):
    toronto = person("Tamara", "1991-05-01", "CA-ON-TOR")
    for born in ("2023-01-15", "2018-03-01"):
        parent_of(toronto, person("Tchild", born, "CA-ON-TOR"))
    ottawa = person("Omar", "1985-02-02", "CA-ON-OTT")
    parent_of(ottawa, person("Ochild", "2020-01-01", "CA-ON-OTT"))
    alone = person("Alex", "1986-06-06", "CA-ON-TOR")
    person("Quentin", "1980-01-01", "CA-QC-MTL")  # not in Ontario
    return {"toronto": toronto, "ottawa": ottawa, "alone": alone}


def stored() -> dict[tuple[str, str], Decimal]:
    return {
        (e.person.given_names, e.benefit): e.amount
        for e in Entitlement.objects.select_related("person")
    }


def test_a_run_stores_each_entitlement_with_one_event_and_a_rerun_adds_none(people):
    incomes = {
        people["toronto"].pk: {2025: 45000},
        people["ottawa"].pk: {2025: 120000},
        people["alone"].pk: {2025: 20000},
    }
    report = run_population("CA-ON", "2026-07", incomes)
    assert (report.people, report.families) == (6, 3)
    # Tamara: the three levels (see test_calculate); Omar, one child of 6 at 120,000:
    # (6,883 − 7% × 44,610 − 3.2% × 37,153) / 12 = 214.28, nothing from Ontario;
    # Alex, alone at 20,000 in Toronto: the transit discount, 160 × 21% = 33.60.
    assert stored() == {
        ("Tamara", "ca_child_benefit"): Decimal("1177.25"),
        ("Tamara", "ca_on_child_benefit"): Decimal("172.94"),
        ("Tamara", "ca_on_tor_transit_discount"): Decimal("33.60"),
        ("Omar", "ca_child_benefit"): Decimal("214.28"),
        ("Alex", "ca_on_tor_transit_discount"): Decimal("33.60"),
    }
    federal = Entitlement.objects.get(person=people["toronto"], benefit="ca_child_benefit")
    assert (federal.service, federal.jurisdiction, federal.version) == (
        "ca.child-benefit",
        "CA",
        "2026.7.0",
    )
    assert federal.trace["place"] == "CA-ON-TOR"
    # One event for the batch of five, each new entitlement in it.
    (event,) = OutboxEvent.objects.filter(type=EVENT)
    assert event.data["period"] == "2026-07"
    items = event.data["entitlements"]
    assert len(items) == 5
    assert {i["benefit"] for i in items if i["person"] == people["toronto"].pk} == {
        "ca_child_benefit",
        "ca_on_child_benefit",
        "ca_on_tor_transit_discount",
    }
    assert {i["entitlement"] for i in items} == set(
        Entitlement.objects.values_list("pk", flat=True)
    )
    # Each item names its own entitlement (on PostgreSQL the ids are taken from the
    # sequence before the rows are written, elsewhere read back).
    stored_rows = {
        e.pk: (e.person_id, e.benefit, e.service or None, e.jurisdiction, e.period, e.amount)
        for e in Entitlement.objects.all()
    }
    for item in items:
        assert set(item) == {
            "entitlement",
            "person",
            "benefit",
            "service",
            "jurisdiction",
            "period",
            "amount",
        }
        assert stored_rows[item["entitlement"]] == (
            item["person"],
            item["benefit"],
            item["service"],
            item["jurisdiction"],
            item["period"],
            Decimal(item["amount"]),
        )

    again = run_population("CA-ON", "2026-07", incomes)
    assert (again.found, again.new, again.updated) == (5, 0, 0)
    assert OutboxEvent.objects.filter(type=EVENT).count() == 1

    # A higher income: the amounts are updated, no new entitlement, no new event.
    # (15,040 − 13.5% × 11,763) / 12 = 1,121.00; (3,524 − 8% × 23,109) / 12 = 139.61
    incomes[people["toronto"].pk] = {2025: 50000}
    changed = run_population("CA-ON", "2026-07", incomes)
    assert (changed.new, changed.updated) == (0, 2)
    assert stored()[("Tamara", "ca_child_benefit")] == Decimal("1121.00")
    assert stored()[("Tamara", "ca_on_child_benefit")] == Decimal("139.61")
    assert OutboxEvent.objects.filter(type=EVENT).count() == 1


def test_new_entitlements_are_announced_in_batches_of_ten_thousand(people, monkeypatch):
    from joinedup.rules import entitlements

    assert entitlements.BATCH == 10_000
    monkeypatch.setattr(entitlements, "BATCH", 2)
    incomes = {p.pk: {2025: 45000} for p in people.values()}
    assert run_population("CA-ON", "2026-07", incomes).new == 5
    batches = [
        e.data["entitlements"] for e in OutboxEvent.objects.filter(type=EVENT).order_by("pk")
    ]
    assert sorted(len(b) for b in batches) == [1, 2, 2]
    assert len({i["entitlement"] for b in batches for i in b}) == 5
    # Ordered by person, cut between people: each person's entitlements are in one batch
    # (bundles tells each person once of everything offered to them), unless they have
    # more than a batch holds (here: one person has three).
    persons = [[i["person"] for i in b] for b in batches]
    assert all(p == sorted(p) for p in persons)
    counts = Counter(q for p in persons for q in p)
    assert sorted(counts.values()) == [2, 3]
    for person, count in counts.items():
        assert sum(person in p for p in persons) == (1 if count <= 2 else 2)
    assert run_population("CA-ON", "2026-07", incomes).new == 0  # a rerun announces nothing
    assert OutboxEvent.objects.filter(type=EVENT).count() == 3


def test_the_command_runs_a_place_from_a_csv_of_incomes(people, tmp_path):
    incomes = tmp_path / "incomes.csv"
    incomes.write_text(f"person,year,amount\n{people['alone'].pk},2025,20000\n")
    out = StringIO()
    call_command(
        "rules",
        "run-population",
        "--jurisdiction",
        "ca-on-tor",
        "--period",
        "2026-07",
        "--incomes",
        str(incomes),
        stdout=out,
    )
    # Tamara's income was not handed over: her family is left out, not computed at zero.
    assert (
        "CA-ON-TOR 2026-07: 4 people in 2 families (1 without income evidence, not computed); "
        "1 entitlements, 1 new, 0 updated." in out.getvalue()
    )
    assert stored() == {("Alex", "ca_on_tor_transit_discount"): Decimal("33.60")}
    with pytest.raises(CommandError, match="XX-NONE"):
        call_command("rules", "run-population", "--jurisdiction", "XX-NONE", "--period", "2026-07")


def test_batches_are_cut_between_people(monkeypatch):
    """A batch ends before a person whose entitlements would straddle it; a person with
    more than a batch's worth is cut at the batch's size."""
    from joinedup.rules import entitlements

    rows = [(person,) for person in (1, 1, 2, 2, 2, 3, 4, 4)]
    monkeypatch.setattr(entitlements, "BATCH", 4)
    assert entitlements._batches(rows) == [(0, 2), (2, 6), (6, 8)]
    assert entitlements._batches([(9,)] * 6) == [(0, 4), (4, 6)]
    assert entitlements._batches([]) == []


def test_the_events_json_is_what_json_dumps_gives():
    """The batch event's data is joined as text from parts: the same text as `json.dumps`
    of the dictionaries, escapes included."""
    import json

    from joinedup.rules.entitlements import _event_data

    rows = [
        (7, "ca_child_benefit", "ca.child-benefit", "CA", "2026-07", "514.07", "ca", "1", ""),
        (8, 'odd"name\\é', "", "CA-ON", "2026-07", "0.01", "ca_on", "1", ""),
    ]
    text = _event_data("2026-07", rows, [41, 42])
    expected = {
        "period": "2026-07",
        "entitlements": [
            {
                "entitlement": pk,
                "person": row[0],
                "benefit": row[1],
                "service": row[2] or None,
                "jurisdiction": row[3],
                "period": row[4],
                "amount": row[5],
            }
            for pk, row in zip([41, 42], rows, strict=True)
        ],
    }
    assert text == json.dumps(expected)


def test_a_traces_incomes_are_what_json_dumps_gives():
    """A parent's incomes in a trace are joined by hand when plain: the same text as
    `json.dumps`, for integers, floats and anything else (which goes to `json.dumps`)."""
    import json

    import numpy as np

    from joinedup.rules.entitlements import _income_json

    for given in (
        {2025: 45000.0},
        {2024: 12, 2025: 0.1 + 0.2},
        {2025: 1e22},
        {2025: float("nan")},
        {2025: np.float64(31000.5)},
        {"2025": 1.5},
        {2025: True},
    ):
        assert _income_json(given) == json.dumps(dict(given))
