"""A federation file whose text people see lacks English or French is refused, whole.

The names and descriptions of jurisdictions, agencies, offices, services and agreements are
shown on French pages as well as English ones: a file that leaves one language out would put
English words on a French page (or nothing at all), so the loader says which file and which
field, and writes nothing.
"""

import textwrap
from pathlib import Path

import pytest
import yaml
from django.utils import translation

from joinedup.federation.loader import FederationRejected, load_federation
from joinedup.federation.localization import language_gaps
from joinedup.federation.models import Jurisdiction, Service

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "src" / "joinedup" / "demo" / "data" / "federations"

HEAD = """\
federation: {name: Test, illustrative: true}
jurisdictions:
  - code: XA
    level: national
    names: {en: Exampleland, fr: Exemplie}
    time_zone: America/Toronto
    holidays: {country: CA}
agencies:
  - key: xa-registry
    kind: agency
    jurisdiction: XA
    names: {en: Registry, fr: Registre}
"""

SERVICE = """\
services:
  - key: xa.certificate
    scope: XA
    names: {names}
    frame: transactional
    client_type: person
    channels: [online]
    standard: {{days: 15, count: business, target: 0.9}}
    fee: {{amount: 0, currency: CAD}}
    assurance: 1
    offerings:
      - {{area: XA, agency: xa-registry}}
"""


def _write(folder: Path, names: str) -> Path:
    path = folder / "10-xa.yaml"
    path.write_text(textwrap.dedent(HEAD) + SERVICE.format(names=names), encoding="utf-8")
    return path


def _refused(path: Path) -> list[str]:
    with pytest.raises(FederationRejected) as caught:
        load_federation([path], base=path.parent)
    return [str(problem) for problem in caught.value.problems]


def test_both_languages_load(tmp_path):
    _write(tmp_path, "{en: Certificate, fr: Certificat}")
    load_federation([tmp_path], base=tmp_path)
    with translation.override("fr"):
        assert Service.objects.get(key="xa.certificate").name == "Certificat"


def test_a_name_without_french_is_refused_naming_file_and_field(tmp_path):
    path = _write(tmp_path, "{en: Certificate}")
    problems = _refused(path)
    assert len(problems) == 1
    assert problems[0].startswith("10-xa.yaml:")
    assert "services[0].names" in problems[0]
    assert "has no text in French:" in problems[0]
    # All or nothing: not even the jurisdiction of the same file was written.
    assert not Jurisdiction.objects.filter(code="XA").exists()
    assert not Service.objects.exists()


def test_an_empty_french_text_is_missing_french(tmp_path):
    problems = _refused(_write(tmp_path, '{en: Certificate, fr: "  "}'))
    assert "services[0].names" in problems[0]
    assert "has no text in French:" in problems[0]


def test_a_name_in_another_language_only_lacks_both(tmp_path):
    problems = _refused(_write(tmp_path, "{de: Urkunde}"))
    assert "services[0].names" in problems[0]
    assert "has no text in English, French:" in problems[0]


def test_the_message_is_in_the_readers_language(tmp_path):
    path = _write(tmp_path, "{en: Certificate}")
    with translation.override("fr"):
        problems = _refused(path)
    assert "n’a pas de texte en français" in problems[0].lower()
    assert "services[0].names" in problems[0]


@pytest.mark.parametrize("federation", ["canada", "australia"])
def test_the_demo_federations_give_every_text_in_both_languages(federation):
    files = sorted((DEMO / federation).glob("*.yaml"))
    assert files
    for path in files:
        gaps = list(language_gaps(yaml.safe_load(path.read_text(encoding="utf-8"))))
        assert not gaps, f"{path.name}: {gaps}"


def test_the_australian_demo_federation_loads_in_french(tmp_path):
    load_federation([DEMO / "australia"], base=DEMO)
    with translation.override("fr"):
        assert Jurisdiction.objects.get(code="AU-NSW").name == "Nouvelle-Galles du Sud"
