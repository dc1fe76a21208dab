"""A service-version file whose text people see lacks English or French is not deployed.

Form labels, choices, page titles and document titles are shown on French pages as well as
English ones; the loader names the file and the field that lacks a language, and deploys
nothing from that file.
"""

import json
from pathlib import Path

import pytest
from django.utils import translation

from joinedup.delivery import versions
from joinedup.delivery.models import ServiceVersion
from joinedup.federation.localization import language_gaps

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "src" / "joinedup" / "demo" / "data"
PROCESS = DEMO / "delivery" / "processes" / "birth-certificate.bpmn"


def _version(label: dict, title: dict) -> dict:
    return {
        "service": "ca.birth-registration",
        "process": str(PROCESS),
        "documents": {"certificate": {"title": title, "fields": ["given_names"]}},
        "form": {
            "schema": {
                "type": "object",
                "required": ["given_names"],
                "properties": {"given_names": {"type": "string", "minLength": 1}},
            },
            "ui": {"fields": {"given_names": {"label": label}}},
        },
    }


def _write(tmp_path: Path, content: dict) -> Path:
    path = tmp_path / "birth.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


BOTH_LABEL = {"en": "Given names", "fr": "Prénoms"}
BOTH_TITLE = {"en": "Certificate", "fr": "Certificat"}


def test_a_complete_file_deploys(small_federation, tmp_path):
    deployed = versions.load_file(_write(tmp_path, _version(BOTH_LABEL, BOTH_TITLE)))
    assert deployed.created
    assert deployed.version.documents["certificate"]["title"]["fr"] == "Certificat"


def test_a_label_without_french_is_refused_naming_file_and_field(small_federation, tmp_path):
    path = _write(tmp_path, _version({"en": "Given names"}, BOTH_TITLE))
    with pytest.raises(versions.VersionError) as refused:
        versions.load_file(path)
    message = str(refused.value)
    assert str(path) in message
    assert "form.ui.fields.given_names.label" in message
    assert "has no text in French" in message
    assert not ServiceVersion.objects.exists()


def test_every_gap_is_listed_and_read_in_french(small_federation, tmp_path):
    path = _write(tmp_path, _version({"en": "Given names"}, {"fr": "Certificat"}))
    with translation.override("fr"), pytest.raises(versions.VersionError) as refused:
        versions.load_file(path)
    lines = str(refused.value).splitlines()
    assert len(lines) == 2
    assert any("documents.certificate.title" in line and "anglais" in line for line in lines)
    assert any("given_names.label" in line and "français" in line for line in lines)
    assert not ServiceVersion.objects.exists()


@pytest.mark.parametrize("folder", ["delivery/services", "bundles/services"])
def test_the_demo_service_versions_give_every_text_in_both_languages(folder):
    files = sorted((DEMO / folder).glob("*.json"))
    assert files
    for path in files:
        gaps = list(language_gaps(json.loads(path.read_text(encoding="utf-8"))))
        assert not gaps, f"{path.name}: {gaps}"


def test_a_process_task_without_french_is_refused_naming_file_and_task(small_federation, tmp_path):
    process = tmp_path / "process.bpmn"
    process.write_text(
        PROCESS.read_text(encoding="utf-8").replace(
            'joinedup:nameFr="Vérifier la demande dans le registre des naissances"', ""
        ),
        encoding="utf-8",
    )
    version = _version(BOTH_LABEL, BOTH_TITLE) | {"process": str(process)}
    with pytest.raises(versions.VersionError) as refused:
        versions.load_file(_write(tmp_path, version))
    assert "task check" in str(refused.value) and "French" in str(refused.value)
    assert not ServiceVersion.objects.exists()


def test_every_process_names_its_tasks_in_both_languages():
    from joinedup.delivery.workflows import names

    package = Path(__file__).resolve().parents[2] / "src" / "joinedup"
    files = sorted(package.rglob("*.bpmn"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not names.gaps(text), path.name
    named = names.task_names(PROCESS.read_text(encoding="utf-8"))
    assert named["check"] == {
        "en": "Check the request against the birth register",
        "fr": "Vérifier la demande dans le registre des naissances",
    }
