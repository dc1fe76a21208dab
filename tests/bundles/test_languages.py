"""A bundle file whose text people see lacks English or French is refused, whole."""

import textwrap

import pytest
from django.utils import translation

from joinedup.bundles import loader
from joinedup.bundles.models import Bundle

pytestmark = pytest.mark.django_db

BUNDLE = """
bundles:
  - key: tiny
    names: {names}
    screening: {{schema: {{type: object, properties: {{ok: {{type: boolean}}}}}}}}
    form: {{schema: {{type: object, properties: {{name: {{type: string}}}}}}}}
    legs:
      - key: sin
        service: ca.social-insurance-number
        mapping: {{given_names: name}}
        consent: {{text: {consent}, purposes: [sin-issuance], categories: [identity]}}
"""


def _refused(tmp_path, names: str, consent: str) -> list[str]:
    path = tmp_path / "10-tiny.yaml"
    path.write_text(textwrap.dedent(BUNDLE.format(names=names, consent=consent)), "utf-8")
    with pytest.raises(loader.BundlesRejected) as rejected:
        loader.load_bundles([path], base=tmp_path)
    return [str(problem) for problem in rejected.value.problems]


def test_a_consent_text_without_french_is_refused(tmp_path):
    problems = _refused(tmp_path, "{en: Tiny, fr: Minuscule}", "{en: I agree.}")
    assert len(problems) == 1
    assert problems[0].startswith("10-tiny.yaml:")
    assert "bundles[0].legs[0].consent.text" in problems[0]
    assert "has no text in French" in problems[0]
    assert not Bundle.objects.exists()


def test_a_name_without_english_is_refused_in_the_readers_language(tmp_path):
    with translation.override("fr"):
        problems = _refused(tmp_path, "{fr: Minuscule}", "{en: I agree., fr: J’accepte.}")
    assert len(problems) == 1
    assert "bundles[0].names" in problems[0]
    assert "n’a pas de texte en anglais" in problems[0]
