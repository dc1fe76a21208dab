"""The jurisdiction tree keeps its shape: one root per country, no cycles, unique codes."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from joinedup.federation.models import Jurisdiction

pytestmark = pytest.mark.django_db


def make(code: str, level: str, parent: Jurisdiction | None = None, **extra) -> Jurisdiction:
    fields = {"names": {"en": code}, "time_zone": "America/Toronto", **extra}
    jurisdiction = Jurisdiction(code=code, level=level, parent=parent, **fields)
    jurisdiction.full_clean(exclude=["path"])
    jurisdiction.save()
    return jurisdiction


@pytest.fixture
def canada():
    ca = make("CA", "national", holiday_country="CA")
    on = make("CA-ON", "subnational", ca, holiday_country="CA", holiday_subdivision="ON")
    tor = make("CA-ON-TOR", "local", on)
    return ca, on, tor


def test_paths_follow_the_tree(canada):
    ca, on, tor = canada
    assert tor.path == "CA/CA-ON/CA-ON-TOR"
    assert tor.ancestor_codes == ["CA", "CA-ON", "CA-ON-TOR"]
    assert ca.contains(tor) and on.contains(tor) and tor.contains(tor)
    assert not tor.contains(on)
    assert list(ca.descendants().values_list("code", flat=True)) == ["CA-ON", "CA-ON-TOR"]


def test_codes_are_unique(canada):
    with pytest.raises(IntegrityError):
        Jurisdiction.objects.create(
            code="CA-ON",
            level="subnational",
            parent=canada[0],
            names={"en": "Again"},
            time_zone="America/Toronto",
        )


def test_a_jurisdiction_cannot_sit_under_its_own_descendant(canada):
    _ca, on, tor = canada
    on.parent = tor
    with pytest.raises(ValidationError) as caught:
        on.full_clean(exclude=["path"])
    assert "its own descendants" in str(caught.value)


def test_a_jurisdiction_cannot_be_its_own_parent(canada):
    _ca, on, _tor = canada
    on.parent = on
    with pytest.raises(ValidationError):
        on.full_clean(exclude=["path"])


@pytest.mark.parametrize(
    ("code", "level", "parent_code", "message"),
    [
        ("CA-QC", "subnational", None, "needs a parent"),
        ("XX", "national", "CA", "national jurisdiction has no parent"),
        ("CA-ON-TOR-X", "subnational", "CA-ON-TOR", "cannot sit under"),
        ("US-NY", "subnational", "CA", "must extend the parent"),
        ("ca-bc", "subnational", "CA", "ISO 3166-2"),
    ],
)
def test_the_tree_reads_like_a_constitution(canada, code, level, parent_code, message):
    parent = Jurisdiction.objects.get(code=parent_code) if parent_code else None
    with pytest.raises(ValidationError) as caught:
        make(code, level, parent)
    assert message in str(caught.value)


def test_moving_a_subtree_rewrites_every_descendant_path(canada):
    ca, on, tor = canada
    qc = make("CA-QC", "subnational", ca)
    # A renamed code (as after a correction) moves the whole subtree's paths with it.
    on.code = "CA-ONT"
    on.save()
    tor.refresh_from_db()
    assert tor.path == "CA/CA-ONT/CA-ON-TOR"
    assert Jurisdiction.objects.get(code="CA-QC").path == qc.path == "CA/CA-QC"


def test_holiday_calendars_must_exist(canada):
    ca = canada[0]
    with pytest.raises(ValidationError) as caught:
        make("CA-ZZ", "subnational", ca, holiday_country="CA", holiday_subdivision="ZZ")
    assert "subdivision ZZ" in str(caught.value)
    with pytest.raises(ValidationError):
        make("CA-QC", "subnational", ca, holiday_country="QQ")


def test_time_zone_must_be_real(canada):
    with pytest.raises(ValidationError) as caught:
        make("CA-BC", "subnational", canada[0], time_zone="Mars/Olympus")
    assert "time zone" in str(caught.value)
