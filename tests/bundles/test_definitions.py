"""Bundle data files (all or nothing, located problems), conditions in the restricted
language, the field mapping, prefill and the preview per agency."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from joinedup.bundles import loader, mapping, prefill, preview, screening
from joinedup.bundles.models import Bundle
from joinedup.federation.models import Offering

from .conftest import BUNDLES, NEWBORN_LEGS, newborn_answers, newborn_screening

pytestmark = pytest.mark.django_db

GOOD = """
bundles:
  - key: tiny
    names: {en: Tiny, fr: Minuscule}
    screening: {schema: {type: object, properties: {ok: {type: boolean}}}}
    form: {schema: {type: object, properties: {name: {type: string}}}}
    legs:
      - key: sin
        service: ca.social-insurance-number
        mapping: {given_names: name}
        consent: {text: {en: Yes., fr: Oui.}, purposes: [sin-issuance], categories: [identity]}
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_demo_bundles_load_and_reload_unchanged(world):
    assert set(Bundle.objects.values_list("key", flat=True)) == {
        "newborn",
        "moving",
        "death",
        "starting-a-business",
    }
    again = loader.load_bundles([BUNDLES])
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 4}


def test_problems_are_located_and_nothing_is_written(world, tmp_path):
    bad = GOOD.replace("tiny", "broken").replace(
        "service: ca.social-insurance-number",
        "service: ca.no-such-service\n        when: __import__('os')",
    )
    bad = bad.replace("mapping: {given_names: name}", "mapping: {given_names: nam, nope: name}")
    bad = bad.replace("categories: [identity]", "categories: [identity, gossip]")
    good = write(tmp_path, "a-good.yaml", GOOD)
    broken = write(tmp_path, "b-broken.yaml", bad)
    with pytest.raises(loader.BundlesRejected) as rejected:
        loader.load_bundles([good, broken], base=tmp_path)
    problems = [str(p) for p in rejected.value.problems]
    assert any(
        p.startswith(
            "b-broken.yaml:9: bundles[0].legs[0].service: refers to service “ca.no-such-service”"
        )
        for p in problems
    ), problems
    assert any("legs[0].when: the condition cannot be used" in p for p in problems)
    assert any("legs[0].mapping.given_names: reads “nam”" in p for p in problems)
    assert any("unknown data categories: gossip" in p for p in problems)
    # All or nothing: the good file was not loaded either.
    assert not Bundle.objects.filter(key="tiny").exists()


def test_schema_problems_name_the_line(world, tmp_path):
    path = write(tmp_path, "x.yaml", GOOD.replace("key: sin", "key: Not A Key"))
    with pytest.raises(loader.BundlesRejected) as rejected:
        loader.load_bundles([path], base=tmp_path)
    assert str(rejected.value.problems[0]).startswith("x.yaml:8: bundles[0].legs[0].key:")


def test_a_leg_field_unknown_to_the_service_form_is_refused(world, tmp_path):
    path = write(tmp_path, "x.yaml", GOOD.replace("{given_names: name}", "{nickname: name}"))
    with pytest.raises(loader.BundlesRejected) as rejected:
        loader.load_bundles([path], base=tmp_path)
    assert "has no field “nickname”" in str(rejected.value.problems[0])


def test_unknown_condition_names_are_refused():
    assert screening.check_expression('answers.get("x") == True') is None
    assert "not known" in screening.check_expression("secret == 1")
    assert screening.check_expression("answers.__class__") is not None
    assert screening.check_expression("[x for x in answers]") is not None


def test_the_provincial_benefit_only_where_the_province_has_one(world):
    bundle = Bundle.objects.get(key="newborn")
    context = world.context(world.amara)

    def included(**answers):
        plans = screening.plan(bundle, context, world.amara.person, newborn_screening(**answers))
        return {p.key for p in plans if p.included}

    assert "provincial-child-benefit" in included()
    assert "child-benefit" not in included(lives_with_child=False)
    assert "birth-certificate" not in included(wants_certificate=False)
    Offering.objects.filter(service__key="ca.provincial-child-benefit", area__code="CA-ON").delete()
    assert "provincial-child-benefit" not in included()
    assert "child-benefit" in included()


def test_a_condition_that_cannot_be_evaluated_does_not_hold():
    values = screening.variables({}, None)
    assert not screening.holds('answers["missing"] == 1', values)
    assert screening.holds(None, values)


def test_mapping_paths_constants_transforms_objects_and_lists():
    data = mapping.source(
        {"name": " ada ", "code": "m5j2x2", "when": "2026-03-04", "kids": [{"n": "A"}], "n": "5"},
        {"ok": True},
        {"province": "CA-ON", "municipality": "CA-ON-TOR"},
    )
    built = mapping.apply(
        {
            "a": "name",
            "b": {"path": "name", "transform": "strip"},
            "c": {"path": "code", "transform": "postal_code"},
            "d": {"path": "when", "transform": "year"},
            "e": {"const": "fixed"},
            "f": {"object": {"x": "screening.ok", "y": "missing"}},
            "g": {"list": [{"object": {"n": "kids.0.n"}}, {"object": {"n": "missing"}}]},
            "h": {"path": "missing", "default": 0},
            "i": "missing",
            "j": {"path": "n", "transform": "integer"},
            "k": {"path": "place.municipality", "transform": "province"},
        },
        data,
    )
    assert built == {
        "a": " ada ",
        "b": "ada",
        "c": "M5J 2X2",
        "d": 2026,
        "e": "fixed",
        "f": {"x": True},
        "g": [{"n": "A"}],
        "h": 0,
        "j": 5,
        "k": "CA-ON",
    }
    assert mapping.fields_read({"a": "name", "b": {"path": "screening.ok"}}) == {"name": ["a"]}


def test_prefill_reads_the_verified_identity(world):
    known = prefill.known(
        world.context(world.amara), world.amara.person, Bundle.objects.get(key="newborn")
    )
    assert known.values["parent_given_names"] == "Amara"
    assert known.values["parent_birth_date"] == "1988-03-14"
    assert known.values["mailing_address"] == {
        "street_address": "40 Bay St",
        "locality": "Tor",
        "postal_code": "M5J 2X2",
    }
    assert known.values["email"] == "amara@example.org"
    moving = prefill.known(
        world.context(world.amara), world.amara.person, Bundle.objects.get(key="moving")
    )
    assert moving.values["current_province"] == "CA-ON"


def test_the_preview_shows_exactly_what_goes_where(world):
    context = world.context(world.amara)
    bundle = Bundle.objects.get(key="newborn")
    known = prefill.known(context, world.amara.person, bundle)
    seen = preview.build(
        context,
        world.amara.person,
        bundle,
        newborn_screening(),
        prefill.merge(known.values, newborn_answers()),
        ["education-savings"],
    )
    agencies = {group.agency.key: [leg.key for leg in group.legs] for group in seen.agencies}
    assert agencies == {
        "serviceontario": ["birth-registration", "birth-certificate"],
        "esdc": ["social-insurance-number"],
        "cra": ["child-benefit", "provincial-child-benefit"],
    }
    assert seen.jurisdictions == {"CA", "CA-ON"}
    assert [p.key for p in seen.dropped] == ["education-savings"]
    cra = next(leg for leg in seen.legs if leg.key == "child-benefit")
    questions = dict(cra.rows)
    assert questions["Family net income last year (dollars)"] == "85000"
    assert "Hospital or place of birth" not in questions  # the CRA does not get it
    assert cra.consent_text.startswith("I agree that the Canada Revenue Agency")
    assert cra.categories == ["Identity", "Birth", "Family", "Income"]
    assert not seen.errors


def test_the_preview_names_what_is_missing_in_the_unified_words(world):
    context = world.context(world.amara)
    bundle = Bundle.objects.get(key="newborn")
    answers = newborn_answers()
    del answers["income_last_year"]
    seen = preview.build(context, world.amara.person, bundle, newborn_screening(), answers)
    messages = [error.message for _leg, error in seen.errors]
    assert "Canada Child Benefit needs “Family net income last year (dollars)”." in messages


def test_a_future_birth_date_is_refused(world):
    from joinedup.bundles import submission

    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    with pytest.raises(submission.BundleError) as refused:
        submission.submit_bundle(
            world.context(world.amara),
            "newborn",
            newborn_answers(birth_date=tomorrow),
            NEWBORN_LEGS,
            [],
            "k",
            screening=newborn_screening(lives_with_child=False, wants_certificate=False),
        )
    assert refused.value.errors[0]["field"] == "birth_date"
