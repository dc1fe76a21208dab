"""Survey answers: a sample of the completed transactions answers, better when on time, and
the client groups' survey sums (older clients and those with accessibility needs a little
less satisfied online, as the field reports)."""

from __future__ import annotations

import random
from collections import defaultdict

from joinedup.performance.models import (
    SurveyGroupRollup,
    SurveyResponse,
    SurveyRollup,
    Transaction,
)
from joinedup.performance.rollups import GROUP_DIMENSIONS, QUESTIONS

from .run import HistoryRun, generator
from .transactions import BATCH


@generator("surveys", order=40, help="survey answers that follow timeliness")
def make_surveys(run: HistoryRun) -> int:
    return survey_answers(run.rng)


def survey_answers(rng: random.Random, share: float = 0.02, response_rate: float = 0.25) -> int:
    """Survey answers for a sample of the completions, with invitations to match."""
    completions = (
        Transaction.objects.filter(outcome__in=("completed", "not_eligible"))
        .values_list(
            "service_key", "jurisdiction", "channel", "end_day", "met_standard", *GROUP_DIMENSIONS
        )
        .order_by()
    )
    invited: dict[tuple, int] = defaultdict(int)
    by_group: dict[tuple, list] = {}
    responses = []
    total = 0
    for service_key, jurisdiction, channel, end_day, met, *values in completions.iterator(
        chunk_size=BATCH
    ):
        if rng.random() >= share / response_rate:
            continue
        month = end_day.replace(day=1)
        invited[(month, service_key, jurisdiction, channel)] += 1
        group_keys = [
            (month, service_key, jurisdiction, channel, dimension, value)
            for dimension, value in zip(GROUP_DIMENSIONS, values, strict=True)
        ]
        for key in group_keys:
            by_group.setdefault(key, [0, 0, {}])[0] += 1
        if rng.random() >= response_rate:
            continue
        lift = 0.6 if met else (-0.6 if met is False else 0.0)
        groups = dict(zip(GROUP_DIMENSIONS, values, strict=True))
        if channel == "online" and (
            groups["age_band"] == "65_plus" or groups["accessibility"] == "declared"
        ):
            lift -= 0.5

        def answer(spread: float = 0.9, shift: float = 0.0, lift: float = lift) -> int:
            return max(1, min(5, round(rng.gauss(3.7 + lift + shift, spread))))

        timeliness = answer(shift=0.3 * lift)
        response = SurveyResponse(
            month=month,
            service_key=service_key,
            jurisdiction=jurisdiction,
            channel=channel,
            mode=rng.choice(("portal", "email")),
            satisfaction=max(1, min(5, round((timeliness + answer()) / 2 + 0.2))),
            timeliness=timeliness,
            competence=answer() if channel != "online" or rng.random() < 0.5 else None,
            courtesy=answer(1.0, -0.2) if channel != "online" else None,
            fairness=answer(0.7, 0.2),
            outcome=answer(0.8, 0.3),
            trust=answer(1.0, -0.3),
        )
        responses.append(response)
        answers = {name: getattr(response, name) for name in QUESTIONS}
        for key in group_keys:
            row = by_group[key]
            row[1] += 1
            for name, value in answers.items():
                if value is not None:
                    total_count = row[2].setdefault(name, [0, 0])
                    total_count[0] += value
                    total_count[1] += 1
        if len(responses) >= BATCH:
            SurveyResponse.objects.bulk_create(responses)
            total += len(responses)
            responses = []
    SurveyResponse.objects.bulk_create(responses)
    total += len(responses)
    # The invitation counts join those already kept; the answer sums are rebuilt afterwards.
    for row in SurveyRollup.objects.all():
        invited[(row.month, row.service_key, row.jurisdiction, row.channel)] += row.invited
    SurveyRollup.objects.all().delete()
    SurveyRollup.objects.bulk_create(
        (
            SurveyRollup(
                month=month,
                service_key=service_key,
                jurisdiction=jurisdiction,
                channel=channel,
                invited=count,
            )
            for (month, service_key, jurisdiction, channel), count in invited.items()
        ),
        batch_size=BATCH,
    )
    _write_group_sums(by_group)
    return total


def _write_group_sums(by_group: dict[tuple, list]) -> None:
    """Add the groups' invitations and answer sums to those already kept."""
    for row in SurveyGroupRollup.objects.all():
        key = (row.month, row.service_key, row.jurisdiction, row.channel, row.dimension, row.value)
        found = by_group.setdefault(key, [0, 0, {}])
        found[0] += row.invited
        found[1] += row.responses
        for name, (value, count) in (row.sums or {}).items():
            total_count = found[2].setdefault(name, [0, 0])
            total_count[0] += value
            total_count[1] += count
    SurveyGroupRollup.objects.all().delete()
    SurveyGroupRollup.objects.bulk_create(
        (
            SurveyGroupRollup(
                month=month,
                service_key=service_key,
                jurisdiction=jurisdiction,
                channel=channel,
                dimension=dimension,
                value=value,
                invited=invited_count,
                responses=answered,
                sums=sums,
            )
            for (month, service_key, jurisdiction, channel, dimension, value), (
                invited_count,
                answered,
                sums,
            ) in by_group.items()
        ),
        batch_size=BATCH,
    )
