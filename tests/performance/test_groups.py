"""Client groups: derived when a transaction is recorded, carried by the rollups, published by
one dimension at a time with primary and secondary suppression, and the pages that show
them (results by group, channel appropriateness)."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Sum
from django.test import Client, override_settings
from django.utils import translation

from joinedup.demo.history.run import generate_history
from joinedup.federation.loader import load_federation
from joinedup.performance import groups, insight, kpis, measures, rollups
from joinedup.performance.kpis import Figures
from joinedup.performance.models import GroupRollup, PlaceArea, Transaction
from joinedup.sharing import dispatch
from tests.conftest import SMALL_FEDERATION
from tests.module_data import loaded_once

from .test_transactions import at, decide_at, submit

pytestmark = pytest.mark.django_db


def test_age_bands_by_hand():
    born = datetime.date(2000, 6, 15)
    assert groups.age_band(born, datetime.date(2025, 6, 14)) == "18_24"  # 24 the day before
    assert groups.age_band(born, datetime.date(2025, 6, 15)) == "25_44"  # 25 on the day
    assert groups.age_band(datetime.date(1960, 1, 1), datetime.date(2025, 1, 1)) == "65_plus"
    assert groups.age_band(datetime.date(2010, 1, 1), datetime.date(2025, 1, 1)) == "under_18"
    assert groups.age_band(None, datetime.date(2025, 1, 1)) == ""


def group_rows() -> list[tuple]:
    return sorted(
        (
            r.month,
            r.service_key,
            r.jurisdiction,
            r.agency,
            r.channel,
            r.dimension,
            r.value,
            *(getattr(r, name) for name in r.COUNTERS),
            tuple(r.histogram),
        )
        for r in GroupRollup.objects.all()
    )


def test_a_transaction_records_its_groups_and_the_rollups_carry_them(birth_registration, applicant):
    applicant.person.birth_date = datetime.date(1950, 3, 1)
    applicant.person.save()
    PlaceArea.objects.create(jurisdiction="CA", area="rural")
    first = submit(applicant, "g1")
    second = submit(applicant, "g2")
    dispatch.dispatch_pending()
    decide_at(first, "approved", at("2026-03-10"))
    decide_at(second, "withdrawn", at("2026-03-11"))
    dispatch.dispatch_pending()
    txn = Transaction.objects.get(source=f"application:{first.pk}")
    # The place (Ontario) has no class of its own: the nearest ancestor's applies.
    assert first.place.path.split("/") == ["CA", "CA-ON"]
    assert (txn.age_band, txn.language, txn.area, txn.mandate) == ("65_plus", "en", "rural", "self")
    assert txn.accessibility == "" and txn.business_size == "" and txn.office == ""
    # Nothing that identifies the person is on the fact.
    names = {field.name for field in Transaction._meta.get_fields()}
    assert not names & {"applicant", "person", "birth_date", "address", "application"}
    # Every dimension has one row per month and value, adding up to the monthly rollup.
    elder = GroupRollup.objects.filter(dimension="age_band", value="65_plus").aggregate(
        started=Sum("started"), completed=Sum("completed"), abandoned=Sum("abandoned")
    )
    assert elder == {"started": 2, "completed": 1, "abandoned": 1}
    assert not GroupRollup.objects.filter(dimension="age_band").exclude(value="65_plus").exists()
    assert set(GroupRollup.objects.values_list("dimension", flat=True)) == set(
        rollups.GROUP_DIMENSIONS
    )
    # A more specific place says otherwise.
    PlaceArea.objects.create(jurisdiction="CA-ON", area="urban")
    assert groups.area_of(first.place) == "urban"
    before = group_rows()
    rollups.recompute_rollups()
    assert group_rows() == before


def cell(value: str, completed: int, abandoned: int = 0) -> Figures:
    return Figures(
        key={"group": value},
        started=completed + abandoned,
        completed=completed,
        abandoned=abandoned,
        with_standard=completed,
        met_standard=completed // 2,
        histogram=measures.histogram_of([3] * completed),
    )


def hidden(records: list[dict], measure: str) -> list[str]:
    return [r["group"] for r in records if r[measure] is None]


def test_secondary_suppression_hides_a_second_cell_so_none_can_be_recovered():
    # 30 + 25 + 4 = 59 completions in all. The 4 is below 10 (primary); alone, it would be
    # 59 − 30 − 25: the next smallest (25) is hidden with it.
    cells = [cell("a", 30), cell("b", 25), cell("c", 4)]
    records = groups.publish_cells(cells, min_count=10)
    for measure in ("started", "completions", "completion_rate", "within_standard", "median_days"):
        assert hidden(records, measure) == ["b", "c"], measure
    assert "completion_rate" in records[1]["suppressed"]
    assert records[0]["completion_rate"] == 1.0 and records[0]["completions"] == 30
    # The total (published) minus the shown cell leaves 29: either split is possible.
    # Two small cells hide each other; nothing more is needed.
    records = groups.publish_cells([cell("a", 30), cell("b", 5), cell("c", 4)], min_count=10)
    assert hidden(records, "completions") == ["b", "c"]
    # A group without any case hides no other (its zero is no secret).
    records = groups.publish_cells([cell("a", 30), cell("b", 25), cell("c", 0)], min_count=10)
    assert [r["completions"] for r in records[:2]] == [30, 25]
    # Whatever the counts, no measure ever has exactly one hidden cell among those with cases.
    for counts in ([12, 3, 40, 11], [9, 50], [10, 10, 1], [2, 2, 2]):
        records = groups.publish_cells([cell(str(i), n) for i, n in enumerate(counts)], 10)
        assert len(hidden(records, "completions")) != 1, counts


def test_a_completion_rate_shown_with_its_cases_does_not_give_back_a_hidden_count():
    # Completions 30, 12 and 4 (59 in all); transactions ended 30, 40 and 20. The 4 is
    # hidden, and the 12 with it. Every rate rests on 20 or more endings, but the pages show
    # each rate beside its cases: 12 / 40 = 0.3 shown with 40 would give back the 12, then
    # 59 − 30 − 12 the 4. So a rate is hidden wherever its completions are.
    cells = [cell("a", 30), cell("b", 12, abandoned=28), cell("c", 4, abandoned=16)]
    records = groups.publish_cells(cells, min_count=10)
    assert hidden(records, "completions") == ["b", "c"]
    assert hidden(records, "completion_rate") == ["b", "c"]
    assert records[0]["completion_rate"] == 1.0
    # Within every published table, no count is ever left recoverable from its total.
    for counts in ([(12, 0), (3, 30), (40, 2)], [(9, 50), (50, 9)], [(10, 0), (10, 5), (1, 40)]):
        cells = [cell(str(i), done, gone) for i, (done, gone) in enumerate(counts)]
        records = groups.publish_cells(cells, 10)
        for measure in ("started", "completions", "completion_rate"):
            assert len(hidden(records, measure)) != 1, (counts, measure)
        assert set(hidden(records, "completions")) <= set(hidden(records, "completion_rate"))


def test_histograms_laid_end_to_end_are_merged_by_group():
    """Each database row joins the packed histograms of its rollup rows, with each one's
    number of buckets (2-byte big-endian): merged per group, bucket by bucket, trimmed."""
    first, second, third = [1, 0, 2], [0, 3], [0] * measures.OVERFLOW + [4]
    lanes = lambda *histograms: b"".join(  # noqa: E731
        len(measures.trim(h)).to_bytes(2, "big") for h in histograms
    )
    packed = lambda *histograms: b"".join(measures.pack(h) for h in histograms)  # noqa: E731
    joined = [
        (("x", "ca"), lanes(first, [], second), packed(first, [], second)),
        (("y",), lanes(third), packed(third)),
        (("x", "ca"), lanes([5]), packed([5])),
    ]
    assert kpis._merged(joined) == {
        ("x", "ca"): measures.merge(first, second, [5]),
        ("y",): third,
    }
    assert kpis._merged([]) == {}
    with pytest.raises(ValueError, match="sizes"):
        kpis._merged([(("x",), lanes([1, 2]), packed([1]))])


def test_newcomers_by_hand():
    on = datetime.date(2026, 3, 10)
    assert groups.newcomer(datetime.date(2021, 3, 11), on) == "newcomer"  # under five years
    assert groups.newcomer(datetime.date(2021, 3, 10), on) == "settled"  # five years that day
    assert groups.newcomer(datetime.date(1999, 1, 1), on) == "settled"
    assert groups.newcomer(None, on) == ""
    assert groups.newcomer(datetime.date(2026, 4, 1), on) == ""  # not yet arrived then
    leap = datetime.date(2024, 2, 29)  # five years before: 28 February 2019
    assert groups.newcomer(datetime.date(2019, 2, 28), leap) == "settled"
    assert groups.newcomer(datetime.date(2019, 3, 1), leap) == "newcomer"


def test_the_profile_facts_give_the_groups_and_nothing_identifying(birth_registration, applicant):
    person = applicant.person
    person.accessibility_needs = "declared"
    person.arrival_date = datetime.date(2024, 8, 1)
    person.save()
    PlaceArea.objects.create(jurisdiction="CA-ON", area="urban")
    application = submit(applicant, "p1")
    dispatch.dispatch_pending()
    txn = Transaction.objects.get(source=f"application:{application.pk}")
    assert (txn.accessibility, txn.newcomer, txn.business_size) == ("declared", "newcomer", "")
    # The place area that gave rural or urban is kept, so places can count by area.
    assert (txn.place_area, txn.area) == ("CA-ON", "urban")
    # Only bands: no arrival date, no name, no person on the fact.
    values = {str(getattr(txn, f.attname)) for f in Transaction._meta.concrete_fields}
    assert "2024-08-01" not in values and person.family_name not in values
    rows = GroupRollup.objects.filter(dimension="newcomer").values_list("value", "started")
    assert list(rows) == [("newcomer", 1)]


def test_a_business_size_comes_from_the_business(db):
    from types import SimpleNamespace

    from joinedup.identity.models import Business

    shop = Business.objects.create(legal_name="Okafor Bakery", size="small")
    application = SimpleNamespace(
        applicant=None,
        applicant_id=None,
        applicant_business=shop,
        applicant_business_id=shop.pk,
        submitted_at=datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC),
        acting_person_id=None,
        language="fr",
        place=None,
        submitted_by_id=None,
    )
    derived = groups.derive(application)
    assert derived["business_size"] == "small"
    assert derived["age_band"] == derived["accessibility"] == derived["newcomer"] == ""
    assert derived["place_area"] == derived["area"] == ""


def test_a_transaction_records_where_the_person_lives_not_only_who_delivered(
    birth_registration, applicant
):
    from joinedup.federation.models import Jurisdiction

    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    applicant.person.addresses.update(
        street_address="1 Ellesmere Rd", postal_code="m1b 2k3", jurisdiction=toronto
    )
    application = submit(applicant, "r1")
    dispatch.dispatch_pending()
    txn = Transaction.objects.get(source=f"application:{application.pk}")
    # Delivered by the province, for a person living in Toronto (the finest level known),
    # in postal area M1B: never the street or the full postal code.
    assert txn.jurisdiction == "CA-ON"
    assert (txn.place, txn.postal_area) == ("CA-ON-TOR", "M1B")
    values = {str(getattr(txn, f.attname)) for f in Transaction._meta.concrete_fields}
    assert not {"M1B 2K3", "m1b 2k3", "1 Ellesmere Rd"} & values
    rows = GroupRollup.objects.filter(dimension__in=["place", "postal_area"])
    assert set(rows.values_list("dimension", "value", "started")) == {
        ("place", "CA-ON-TOR", 1),
        ("postal_area", "M1B", 1),
    }
    # Residents of Toronto, by place: the figures the places read.
    period = kpis.Period("t", datetime.date(2000, 1, 1), datetime.date(2100, 1, 1))
    (figures,) = kpis.compute(period, ("group",), dimension="place", values=["CA-ON-TOR"])
    assert figures.started == 1
    assert kpis.compute(period, ("group",), dimension="place", values=["CA-QC-MTL"]) == []
    before = group_rows()
    rollups.recompute_rollups()
    assert group_rows() == before


def test_postal_areas_by_hand():
    assert groups.postal_area("m1b 2k3") == "M1B"
    assert groups.postal_area("2000") == "200"
    assert groups.postal_area("K1") == groups.postal_area("") == ""


@pytest.fixture(scope="class")
def history(django_db_setup, django_db_blocker, tmp_path_factory):
    """The federation and its history, made once for the class's tests with the settings
    the tests' own fixtures set (conftest.py): no survey invitations, no roster file."""
    with (
        override_settings(
            PERFORMANCE_MIN_COUNT=10,
            PERFORMANCE_SURVEY_RATE=0.0,
            PERFORMANCE_DIGITAL_CHANNELS=["online", "partner"],
            PERFORMANCE_ROSTER_FILE="",
            PERFORMANCE_CASEWORK_ROSTER_FILE="",
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            PUBLIC_URL="https://services.example.org",
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ),
        loaded_once(django_db_blocker),
    ):
        load_federation([SMALL_FEDERATION])
        generate_history(3000, years=2, seed=11)
        yield


@pytest.fixture
def generated(history, db):
    return kpis.parse_period("12m")


class TestOnAGeneratedHistory:
    """The measures by group on two years of generated history (3,000 transactions on the
    small federation), generated once for these tests (tests/module_data.py): each reads
    it, none writes to it but in its own savepoint."""

    def test_the_groups_page_shows_no_cases_beside_a_hidden_share(self, generated, settings):
        """The chart's data table gives each group's cases only where its share is published: a
        share hidden for resting on too few cases would otherwise show how few."""
        settings.PERFORMANCE_MIN_COUNT = 200
        page = insight.by_group(generated, "age_band", "within_standard")
        chart = next(chart for chart in page["charts"] if chart.id == "chart-groups")
        rows = {row[0]: row for row in chart.rows}
        records = {record["name"]: record for record in page["rows"]}
        assert any(record["within_standard"] is None for record in records.values())
        for name, record in records.items():
            if record["within_standard"] is None:
                assert rows[name][1:] == ["—", "—", "—"], name
            else:
                assert rows[name][1] >= 200, name

    def test_measures_by_group_reconcile_with_the_totals_and_recompute_identically(self, generated):
        total = kpis.compute(generated, ())[0]
        snapshot = {}
        for dimension in rollups.GROUP_DIMENSIONS:
            cells = kpis.compute(generated, ("group",), dimension=dimension)
            assert len(cells) >= 2, dimension
            for name in ("started", "completions", "abandoned", "met_standard", "with_standard"):
                assert sum(getattr(c, name) for c in cells) == getattr(total, name), (
                    dimension,
                    name,
                )
            assert measures.merge(*(c.histogram for c in cells)) == total.histogram
            assert sum(c.channel_cost + c.handle_cost for c in cells) == (
                total.channel_cost + total.handle_cost
            )
            assert sum(c.overhead for c in cells) == total.overhead
            snapshot[dimension] = [(c.key, c.completions, tuple(c.histogram)) for c in cells]
        rollups.recompute_rollups()
        for dimension in rollups.GROUP_DIMENSIONS:
            cells = kpis.compute(generated, ("group",), dimension=dimension)
            assert [(c.key, c.completions, tuple(c.histogram)) for c in cells] == snapshot[
                dimension
            ]

    @pytest.mark.parametrize(
        ("by", "options"),
        [
            (("service_key", "group"), {}),
            (("group",), {}),
            (("jurisdiction", "channel", "group"), {}),
            (("agency", "group"), {}),
            (("month", "group"), {}),
            (("service_key", "group"), {"channel": "online"}),
            (("group",), {"jurisdictions": ["CA", "CA-ON"]}),
        ],
    )
    def test_the_joined_histograms_give_the_figures_of_the_rows_one_by_one(
        self, generated, monkeypatch, by, options
    ):
        """PostgreSQL joins each group's histograms in the sums' own statement and merges them
        with numpy; the portable way (SQLite's) reads them one row each: the same figures, every
        field (histograms, overheads, survey answers, currencies) on every grouping."""
        if not kpis.joins_histograms():
            pytest.skip("the joined statement is PostgreSQL's; SQLite runs the portable way")
        for dimension in ("age_band", "language"):
            joined = kpis.compute(generated, by, dimension=dimension, **options)
            monkeypatch.setattr(kpis, "joins_histograms", lambda: False)
            one_by_one = kpis.compute(generated, by, dimension=dimension, **options)
            monkeypatch.undo()
            assert joined, (by, options)
            assert any(figures.histogram for figures in joined)
            assert joined == one_by_one, (by, options, dimension)

    def test_the_history_gives_groups_realistic_differences(self, generated):
        cells = {
            c.key["group"]: c for c in kpis.compute(generated, ("group",), dimension="age_band")
        }
        assert cells["65_plus"].digital_take_up < cells["25_44"].digital_take_up - 0.1
        assert {"micro", "small"} <= {
            c.key["group"] for c in kpis.compute(generated, ("group",), dimension="business_size")
        }
        assert Transaction.objects.exclude(office="").filter(channel="online").count() == 0
        page = insight.channels(generated, "age_band")
        flagged = {row["name"] for row in page["rows"] if row["flagged"]}
        assert "65 and over" in flagged and "25 to 44" not in flagged

    @pytest.mark.parametrize("language", ["en", "fr"])
    def test_the_group_and_channel_pages_in_both_languages(self, generated, language):
        client = Client()
        page = client.get(
            f"/{language}/performance/groups/?dimension=age_band&measure=digital_take_up"
        )
        assert page.status_code == 200
        text = page.content.decode()
        assert "chart-groups" in text and "<table" in text and "<script>" not in text
        assert ("65 and over" if language == "en" else "65 ans et plus") in text
        page = client.get(f"/{language}/performance/channels/?dimension=area")
        assert page.status_code == 200
        text = page.content.decode()
        assert "chart-channels" in text
        assert ("Rural" if language == "en" else "Rurale") in text

    def test_a_group_or_measure_not_offered_is_a_400_with_a_message(self, generated):
        response = Client().get("/en/performance/groups/?dimension=income")
        assert response.status_code == 400
        assert "Choose one of the client-group dimensions offered." in response.content.decode()
        response = Client().get("/fr/performance/channels/?dimension=income")
        assert response.status_code == 400

    def test_no_channel_of_a_shown_group_can_be_recovered(self, generated, settings):
        settings.PERFORMANCE_MIN_COUNT = 10
        page = insight.channels(generated, "age_band")
        for row in page["rows"]:
            if row["completions"] is None:
                continue
            hidden = [item for item in row["channels"] if item["share"] is None]
            assert len(hidden) != 1, row["name"]

    @pytest.mark.parametrize("service", [None, "ca.birth-registration"])
    def test_the_groups_page_total_and_services_are_those_of_all_clients(self, generated, service):
        """The groups page adds its groups up for the "All clients" row instead of reading the
        rollups again, and lists the services from the rollups' keys: the same figures and the
        same services as computed on their own."""
        expected = kpis.compute(generated, (), service=service)[0].published()
        services = sorted(f.key["service_key"] for f in kpis.compute(generated, ("service_key",)))
        with translation.override("en"):
            for dimension in groups.DIMENSIONS:
                page = insight.by_group(generated, dimension, "completion_rate", service)
                assert page["summary"] == expected | {"name": "All clients"}, dimension
                assert sorted(key for key, _name in page["services"]) == services
