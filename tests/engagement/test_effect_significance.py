"""Could a measured effect be chance? The tests on hand-checked numbers, said in words in
English and French (kept with the figures and shown on the page: test_change_effects)."""

from __future__ import annotations

import datetime
from math import comb

import pytest
from django.utils import translation

from joinedup.engagement import effects
from joinedup.engagement.effects import Effect, Side

SINCE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _effect(days_after=90):
    # 100 applications in the 90 days before, 150 in as long after; within the standard
    # 18 of 20 before, 6 of 10 after.
    return Effect(
        since=SINCE,
        until=SINCE + datetime.timedelta(days=days_after),
        before=Side(received=100, finished=100, with_standard=20, met_standard=18),
        after=Side(received=150, finished=150, with_standard=10, met_standard=6),
    )


def test_the_rate_test_is_the_exact_conditional_binomial():
    test = effects.significance(_effect())
    # Equal windows: 150 of 250 under Binomial(250, 1/2), two-sided = 2 × P(X ≥ 150).
    by_hand = 2 * sum(comb(250, k) for k in range(150, 251)) / 2**250
    assert test.rate_p == pytest.approx(by_hand, rel=1e-9)
    assert test.rate_p == pytest.approx(0.001883, abs=1e-6)
    assert test.rate_ratio == pytest.approx(1.5)
    # The exact interval of 150/250 (0.53638 to 0.66122) as odds: 1.157 to 1.952.
    assert test.rate_low == pytest.approx(0.536382 / 0.463618, rel=1e-5)
    assert test.rate_high == pytest.approx(0.661217 / 0.338783, rel=1e-5)


def test_windows_of_different_lengths_are_compared_per_day():
    # 40 after in 45 days against 100 in 90: the after window is a third of the time.
    effect = _effect(days_after=45)
    effect.after.received = 40
    test = effects.significance(effect)
    p = 1 / 3
    observed = comb(100 + 40, 40) * p**40 * (1 - p) ** 100
    by_hand = sum(
        comb(140, k) * p**k * (1 - p) ** (140 - k)
        for k in range(141)
        if comb(140, k) * p**k * (1 - p) ** (140 - k) <= observed * (1 + 1e-7)
    )
    assert test.rate_p == pytest.approx(by_hand, rel=1e-6)
    assert test.rate_before == pytest.approx(100 / 90)
    assert test.rate_after == pytest.approx(40 / 45)


def test_the_share_within_the_standard_by_fishers_exact_test():
    test = effects.significance(_effect())
    # Hypergeometric by hand: 24 within the standard among 30, 20 of them before.
    probability = {a: comb(20, a) * comb(10, 24 - a) / comb(30, 24) for a in range(14, 21)}
    by_hand = sum(v for v in probability.values() if v <= probability[18] * (1 + 1e-7))
    assert test.standard_p == pytest.approx(by_hand, rel=1e-9)
    assert test.standard_p == pytest.approx(0.141316, abs=1e-6)
    assert test.standard_difference == pytest.approx(-0.3)
    # Newcombe's interval of 0.6 − 0.9.
    assert test.standard_low == pytest.approx(-0.596242, abs=1e-5)
    assert test.standard_high == pytest.approx(0.006847, abs=1e-5)


def test_nothing_to_compare_says_nothing():
    empty = Effect(since=SINCE, until=SINCE, before=Side(), after=Side())
    assert effects.significance_words(empty) == []
    assert effects.significance(empty).rate_p is None


def test_the_tests_in_words_in_english_and_french():
    with translation.override("en"):
        english = effects.significance_words(_effect())
    assert english[0] == (
        "Applications a day: 1.11 before the change, 1.67 after. The ratio after to before "
        "is 1.50; with 95 % confidence it lies between 1.16 and 1.95. If the change had made "
        "no difference, a gap at least this large would happen with a probability of 0.002 "
        "(exact test of two rates): unlikely to be chance: statistically significant "
        "(below 0.05)."
    )
    assert "−30.0 points" in english[1] and "between −59.6 and +0.7 points" in english[1]
    assert "0.141 (Fisher's exact test)" in english[1] and "not statistically" in english[1]
    with translation.override("fr"):
        french = effects.significance_words(_effect())
    assert "Demandes par jour : 1,11 avant le changement, 1,67 après." in french[0]
    assert "0,141" in french[1] and "pas statistiquement significatif" in french[1]
