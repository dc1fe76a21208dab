"""Federation data files: loaded whole, or rejected whole with every problem located."""

import json
import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from joinedup.federation.loader import FederationRejected, load_federation
from joinedup.federation.models import (
    Agency,
    Agreement,
    FederationLoad,
    Jurisdiction,
    Offering,
    Service,
)
from tests.conftest import SMALL_FEDERATION as SMALL

pytestmark = pytest.mark.django_db

CANADA = """\
federation: {name: Test, illustrative: true}
jurisdictions:
  - code: CA
    level: national
    names: {en: Canada, fr: Canada}
    time_zone: America/Toronto
    holidays: {country: CA}
  - code: CA-ON
    parent: CA
    level: subnational
    names: {en: Ontario, fr: Ontario}
    time_zone: America/Toronto
    holidays: {country: CA, subdivision: ON}
agencies:
  - key: serviceontario
    kind: agency
    jurisdiction: CA-ON
    names: {en: ServiceOntario, fr: ServiceOntario}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(FederationRejected) as caught:
        load_federation(paths, base=paths[0].parent)
    return [str(problem) for problem in caught.value.problems]


def test_the_small_federation_loads(small_federation):
    assert small_federation.counts == {
        "jurisdictions": 6,
        "agencies": 5,
        "offices": 1,
        "programs": 1,
        "life_situations": 1,
        "services": 3,
        "offerings": 4,
        "partner_roles": 2,
        "agreements": 1,
    }
    assert small_federation.illustrative
    assert Jurisdiction.objects.filter(illustrative=True).count() == 6
    assert FederationLoad.objects.get().name == "Small test federation"


def test_ontario_stays_a_code_not_a_boolean(small_federation):
    # YAML 1.1 would read the subdivision ON as True.
    assert Jurisdiction.objects.get(code="CA-ON").holiday_subdivision == "ON"


def test_loading_again_updates_in_place(small_federation):
    again = load_federation([SMALL])
    assert again.counts == small_federation.counts
    assert Service.objects.count() == 3
    assert Offering.objects.count() == 4
    assert FederationLoad.objects.count() == 2


def test_a_later_file_can_extend_what_is_loaded(small_federation, tmp_path):
    write(
        tmp_path,
        "ottawa.yaml",
        """\
        agencies:
          - key: ottawa
            kind: municipality
            jurisdiction: CA-ON-OTT
            names: {en: City of Ottawa, fr: Ville d'Ottawa}
        services:
          - key: ca.parking-permit
            scope: CA
            names: {en: Residential parking permit, fr: Permis de stationnement résidentiel}
            frame: transactional
            client_type: person
            channels: [online]
            offerings:
              - {area: CA-ON-OTT, agency: ottawa}
        """,
    )
    load_federation([tmp_path])
    assert Offering.objects.filter(service__key="ca.parking-permit").count() == 2
    assert Agency.objects.get(key="ottawa").jurisdiction.code == "CA-ON-OTT"


def test_json_files_load_like_yaml(tmp_path):
    import yaml

    data = yaml.safe_load(CANADA.replace("subdivision: ON", "subdivision: 'ON'"))
    write(tmp_path, "canada.json", json.dumps(data, indent=2))
    result = load_federation([tmp_path])
    assert result.counts["jurisdictions"] == 2


def test_schema_problems_name_file_line_and_path(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """\
        jurisdictions:
          - code: CA
            level: national
            names: {en: Canada, fr: Canada}
            time_zone: America/Toronto
          - code: CA-ON
            parent: CA
            level: province
            names: {en: Ontario, fr: Ontario}
            time_zone: America/Toronto
        """,
    )
    found = problems_of(path)
    assert len(found) == 1
    assert found[0].startswith("bad.yaml:8: jurisdictions[1].level: 'province' is not one of")


def test_every_problem_in_every_file_is_reported(tmp_path):
    first = write(tmp_path, "a.yaml", "agencies:\n  - key: Not A Key\n    kind: agency\n")
    second = write(tmp_path, "b.yaml", "servicez: []\n")
    found = problems_of(first, second)
    assert any(p.startswith("a.yaml:2: agencies[0].key:") for p in found)
    assert any(p.startswith("a.yaml:2: agencies[0]: 'names' is a required property") for p in found)
    assert any(p.startswith("b.yaml:1:") and "servicez" in p for p in found)


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "broken.yaml", "jurisdictions:\n  - code: CA\n   level: [national\n")
    found = problems_of(path)
    assert found[0].startswith("broken.yaml:3: ") and "not valid YAML" in found[0]


def test_a_file_must_hold_sections(tmp_path):
    found = problems_of(write(tmp_path, "list.yaml", "- CA\n- CA-ON\n"))
    assert "must contain a mapping" in found[0]


def test_unknown_references_are_located(tmp_path):
    write(tmp_path, "a.yaml", CANADA)
    path = write(
        tmp_path,
        "b.yaml",
        """\
        services:
          - key: ca.birth-certificate
            scope: CA
            names: {en: Birth certificate, fr: Acte de naissance}
            frame: transactional
            client_type: person
            channels: [online]
            offerings:
              - {area: CA-ON, agency: serviceontaria}
        """,
    )
    found = problems_of(tmp_path / "a.yaml", path)
    assert found == [
        "b.yaml:9: services[0].offerings[0].agency: refers to agency “serviceontaria”, "
        "which is not defined here or already loaded."
    ]


def test_rejection_writes_nothing_at_all(tmp_path):
    write(tmp_path, "a.yaml", CANADA)
    write(
        tmp_path,
        "b.yaml",
        """\
        agencies:
          - key: nowhere
            kind: agency
            jurisdiction: CA-XX
            names: {en: Agency of nowhere, fr: Organisme de nulle part}
        """,
    )
    with pytest.raises(FederationRejected):
        load_federation([tmp_path])
    # a.yaml alone was valid, but the set was rejected whole.
    assert not Jurisdiction.objects.exists()
    assert not Agency.objects.exists()
    assert not FederationLoad.objects.exists()


def test_duplicates_point_to_the_first_definition(tmp_path):
    write(tmp_path, "a.yaml", CANADA)
    write(
        tmp_path,
        "b.yaml",
        """\
        agencies:
          - key: serviceontario
            kind: agency
            jurisdiction: CA-ON
            names: {en: ServiceOntario again, fr: ServiceOntario de nouveau}
        """,
    )
    found = problems_of(tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert found == [
        "b.yaml:2: agencies[0].key: “serviceontario” is defined twice; first at a.yaml:15."
    ]


def test_a_parent_cycle_is_found(tmp_path):
    path = write(
        tmp_path,
        "cycle.yaml",
        """\
        jurisdictions:
          - {code: CA-A, parent: CA-A-B, level: subnational, names: {en: A, fr: A}, time_zone: UTC}
          - {code: CA-A-B, parent: CA-A, level: local, names: {en: B, fr: B}, time_zone: UTC}
        """,
    )
    found = problems_of(path)
    assert len(found) == 2 and all("a cycle" in p for p in found)


def test_model_rules_apply_to_files(tmp_path):
    write(tmp_path, "a.yaml", CANADA)
    path = write(
        tmp_path,
        "b.yaml",
        """\
        jurisdictions:
          - code: AU
            level: national
            names: {en: Australia, fr: Australie}
            time_zone: Australia/Sydney
            holidays: {country: AU, subdivision: ON}
        services:
          - key: ca.fishing-licence
            scope: CA-ON
            names: {en: Fishing licence, fr: Permis de pêche}
            frame: transactional
            client_type: person
            channels: [online]
            fee: {amount: 10, currency: CAD}
            standard: {days: 5, target: 0.9}
            offerings:
              - {area: CA, agency: serviceontario}
        """,
    )
    found = problems_of(tmp_path / "a.yaml", path)
    assert (
        "b.yaml:6: jurisdictions[0].holidays.subdivision: No holiday calendar is known for "
        "subdivision ON of AU." in found
    )
    assert any(
        p.startswith("b.yaml:17: services[0].offerings[0].area: The area lies outside")
        for p in found
    )


def test_agreements_keep_their_sign_offs(small_federation):
    agreement = Agreement.objects.get(key="sin-at-birth")
    assert agreement.status == Agreement.Status.IN_FORCE
    assert [p.agency.key for p in agreement.parties.all()] == ["esdc", "serviceontario"]
    assert agreement.terms["legal_basis"] == "statute"


def test_a_sign_off_in_the_future_is_refused(tmp_path):
    write(
        tmp_path,
        "a.yaml",
        CANADA
        + """\
  - key: esdc
    kind: ministry
    jurisdiction: CA
    names: {en: ESDC, fr: ESDC}
agreements:
  - key: future
    kind: joint_delivery
    names: {en: Future, fr: Avenir}
    start: 2020-01-01
    parties:
      - {agency: esdc, signed_on: 2999-01-01}
      - {agency: serviceontario}
""",
    )
    found = problems_of(tmp_path / "a.yaml")
    assert found == [
        "a.yaml:29: agreements[0].parties[0].signed_on: a sign-off cannot be dated in the future."
    ]


def test_the_command_reports_each_problem_and_fails(tmp_path, capsys):
    write(tmp_path, "bad.yaml", "jurisdictions:\n  - code: CA\n")
    with pytest.raises(CommandError, match="rejected"):
        call_command("load_federation", str(tmp_path), verbosity=0)
    assert "bad.yaml:2: jurisdictions[0]: 'level' is a required property" in capsys.readouterr().err


def test_the_command_loads_and_summarises(capsys):
    call_command("load_federation", str(SMALL), verbosity=0)
    out = capsys.readouterr().out
    assert "Loaded Small test federation (illustrative): 6 jurisdictions, 5 agencies" in out


def test_an_empty_folder_is_a_problem(tmp_path):
    with pytest.raises(FederationRejected) as caught:
        load_federation([tmp_path])
    assert "no .yaml" in str(caught.value.problems[0])
