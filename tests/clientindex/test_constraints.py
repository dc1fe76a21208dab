"""'Not the same person' holds even when a chain of other links would join the two records:
the component is cut at its weakest link, the rest of the index is left alone, and a rerun of
the whole index keeps the steward's word with every other id unchanged."""

from __future__ import annotations

import pytest

from joinedup.clientindex import constraints, runs
from joinedup.clientindex.loading import load
from joinedup.clientindex.models import ReviewPair, SourceRecord


def test_a_chain_is_cut_at_its_weakest_link():
    # 1–2 strong, 2–3 weak, 3–4 strong: one component; 1 and 4 are not the same person.
    components = {1: 1, 2: 1, 3: 1, 4: 1, 5: 5, 6: 5}
    links = {(1, 2): 12.0, (2, 3): 3.5, (3, 4): 11.0, (5, 6): 9.0}
    result = constraints.enforce(components, links, {(1, 4)})
    assert result[1] == result[2] and result[3] == result[4]
    assert result[1] != result[4]
    # Untouched components keep their numbers; the cut one keeps it for its first part.
    assert result[5] == result[6] == 5 and result[1] == 1


def test_a_stewards_match_outweighs_any_score_and_no_pair_apart_is_joined():
    components = dict.fromkeys(range(1, 6), 1)
    links = {
        (1, 2): constraints.DECIDED,
        (2, 3): 20.0,
        (3, 4): 4.0,
        (4, 5): 30.0,
        (1, 5): 5.0,
    }
    result = constraints.enforce(components, links, {(2, 5), (1, 4)})
    assert result[1] == result[2]
    assert result[2] != result[5] and result[1] != result[4]
    assert result[4] == result[5]


def test_nothing_changes_without_a_pair_kept_apart():
    components = {1: 1, 2: 1, 3: 3}
    assert constraints.enforce(components, {(1, 2): 5.0}, {(1, 3)}) == components


def test_two_phones_in_one_chain_are_two_people_cut_at_the_weakest_link():
    # Namesakes: 1–2 share a phone, 3–4 another; 2–3 agree on name and birth date only
    # (a weak link, nothing personal to compare between those two records).
    components = {1: 1, 2: 1, 3: 1, 4: 1}
    personal = {1: ("", "p1"), 2: (None, "p1"), 3: (None, "p2"), 4: (None, "p2")}
    links = {(1, 2): 20.0, (2, 3): 4.0, (3, 4): 20.0}
    apart = constraints.personal_conflicts(components, personal)
    assert set(apart) == {(1, 3), (1, 4), (2, 3), (2, 4)}
    result = constraints.enforce(components, links, apart)
    assert result[1] == result[2] != result[3] == result[4]


def test_a_stewards_link_or_an_existing_person_is_not_set_apart_by_two_phones():
    components = {1: 1, 2: 1, 3: 1}
    personal = {1: ("x", "p1"), 2: ("x", "p2"), 3: (None, "p3")}
    # 1 and 2 are one existing person: not set apart from each other (3 still is).
    assert set(constraints.personal_conflicts(components, personal, [{1, 2}])) == {(1, 3), (2, 3)}
    # A record a steward linked is never set apart by the rule.
    assert constraints.personal_conflicts(components, personal, held={3}) == [(1, 2)]
    # Records alone in their component, or agreeing, are never in conflict.
    assert constraints.personal_conflicts({1: 1, 2: 2}, personal) == []
    assert constraints.personal_conflicts({1: 1, 2: 1}, {1: ("x", None), 2: ("x", "p")}) == []


@pytest.mark.django_db
def test_not_a_match_keeps_two_records_apart_through_a_chain_in_a_rerun(agencies):
    # Three records of one name and birth date, in three agencies, linked in a chain by
    # the postal code and the phone; a steward says the first and last are not one person.
    # (The first has no phone: two different phones would keep it apart on their own.)
    rows = {
        "esdc": {"postal_code": "K1A 0B1"},
        "serviceontario": {"postal_code": "K1A 0B1", "phone": "613-555-0199"},
        "toronto": {"postal_code": "M5V 2T6", "phone": "613-555-0199"},
    }
    for key, extra in rows.items():
        load(
            agencies[key],
            [
                {
                    "record_id": f"{key}-1",
                    "given_names": "Marie",
                    "family_name": "Tremblay",
                    "birth_date": "1980-01-02",
                    "sex": "F",
                    **extra,
                }
            ],
            channel="api",
        )
    from joinedup.clientindex import synthetic

    population = synthetic.generate(150, ["esdc", "toronto"], seed=11)
    for key, lst in population.lists.items():
        load(agencies[key], lst, channel="file")
    runs.train_model(match_weight=0.0, review_weight=-5.0)
    runs.link_all()
    first = SourceRecord.objects.get(record_id="esdc-1")
    middle = SourceRecord.objects.get(record_id="serviceontario-1")
    last = SourceRecord.objects.get(record_id="toronto-1")
    assert first.cluster_id == middle.cluster_id == last.cluster_id
    untouched = dict(
        SourceRecord.objects.exclude(pk__in=[first.pk, middle.pk, last.pk]).values_list(
            "pk", "cluster__key"
        )
    )
    left, right = sorted([first.pk, last.pk])
    ReviewPair.objects.create(
        left_id=left, right_id=right, match_weight=1.0, match_probability=0.6, status="not_match"
    )
    runs.link_all()
    first, middle, last = (SourceRecord.objects.get(pk=r.pk) for r in (first, middle, last))
    assert first.cluster_id != last.cluster_id
    assert middle.cluster_id in {first.cluster_id, last.cluster_id}
    # The part holding most of the old id keeps it; nobody else's id moved.
    assert (
        dict(
            SourceRecord.objects.exclude(pk__in=[first.pk, middle.pk, last.pk]).values_list(
                "pk", "cluster__key"
            )
        )
        == untouched
    )
