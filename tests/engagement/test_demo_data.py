"""The demo's engagement data loads on the demo federation and bundles, twice without
duplicates; a Toronto complaint ends with Toronto's own ombudsman."""

from __future__ import annotations

import pytest

from joinedup.demo import loading
from joinedup.engagement.models import Consultation, Initiative
from joinedup.engagement.ombudsman import ombudsman_for
from joinedup.federation.models import Agency, Jurisdiction


@pytest.fixture
def demo(db):
    loading.load_demo_federation(loading.federation_folder("canada"))
    loading.load_demo_bundles()


def test_demo_engagement_loads_and_reloads(demo):
    first = loading.load_demo_engagement()
    again = loading.load_demo_engagement()
    assert first == again and "1 consultations" in first
    assert Agency.objects.filter(kind="ombudsman").count() == 5
    consultation = Consultation.objects.get(key="newborn-registration")
    assert consultation.bundle.key == "newborn" and consultation.phases.count() == 5
    assert Initiative.objects.get().organisations.count() == 2
    toronto = Jurisdiction.objects.get(code="CA-ON-TOR")
    assert ombudsman_for(toronto).key == "ombudsman-tor"
    assert ombudsman_for(Jurisdiction.objects.get(code="CA-ON-OTT")).key == "ombudsman-on"


def test_a_bad_file_loads_nothing(demo, tmp_path):
    from joinedup.engagement.loader import LoadError, load

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ombudsmen:\n  - {key: o1, jurisdiction: CA, names: {en: O}}\n"
        "consultations:\n  - {key: c, titles: {en: C}, questions: {en: Q}, owner: nobody,"
        " place: CA, audiences: [public]}\n"
    )
    with pytest.raises(LoadError):
        load(bad)
    assert not Agency.objects.filter(key="o1").exists()
