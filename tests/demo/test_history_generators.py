"""Synthetic history: later work adds generators to the registry without touching the apps."""

import io

import pytest
from django.core.management import call_command

from joinedup.demo.history import run
from joinedup.performance.models import MonthlyRollup, SurveyResponse, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    """The real generators, in a copy this test may add to."""
    monkeypatch.setattr(run, "_GENERATORS", dict(run._GENERATORS))


def test_the_generators_run_in_order_and_a_new_one_sees_what_came_before(
    small_federation, registry
):
    seen = {}

    def pilot_arguments(parser):
        parser.add_argument("--pilots", type=int, default=1)

    @run.generator("pilots", order=25, arguments=pilot_arguments)
    def make_pilots(history: run.HistoryRun) -> int:
        seen["before"] = dict(history.written)
        seen["transactions"] = Transaction.objects.count()
        seen["pilots"] = history.options.get("pilots")
        return history.options.get("pilots", 1)

    names = [step.name for step in run.generators()]
    assert names.index("transactions") < names.index("pilots") < names.index("rollups")

    call_command(
        "generate_history",
        "--transactions",
        "300",
        "--years",
        "1",
        "--seed",
        "5",
        "--pilots",
        "4",
        "--skip",
        "surveys",
        stdout=io.StringIO(),
    )

    assert seen["transactions"] == 300, "the new generator ran after the transactions"
    assert set(seen["before"]) == {"costs", "place-areas", "transactions"}
    assert seen["pilots"] == 4, "the generator's own option reached it"
    assert not SurveyResponse.objects.exists(), "a skipped generator wrote nothing"
    assert MonthlyRollup.objects.exists(), "the rollups were rebuilt after all generators"


def test_the_same_seed_repeats_a_history(small_federation):
    run.generate_history(200, years=1, seed=11, surveys=False)
    first = sorted(
        Transaction.objects.values_list("service_key", "channel", "start_day", "outcome")
    )
    Transaction.objects.all().delete()
    run.generate_history(200, years=1, seed=11, surveys=False)
    second = sorted(
        Transaction.objects.values_list("service_key", "channel", "start_day", "outcome")
    )
    assert first == second


def test_a_generator_that_does_not_exist_cannot_be_skipped(small_federation):
    with pytest.raises(ValueError, match="no history generator named nonesuch"):
        run.generate_history(10, skip=["nonesuch"])
    assert not Transaction.objects.exists()


def test_two_generators_cannot_share_a_name(registry):
    with pytest.raises(ValueError, match="registered already"):

        @run.generator("transactions", order=99)
        def another(history: run.HistoryRun) -> int:
            return 0
