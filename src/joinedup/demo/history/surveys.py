"""Survey answers: a sample of the completed transactions answers, better when on time."""

from __future__ import annotations

import random
from collections import defaultdict

from joinedup.performance.models import SurveyResponse, SurveyRollup, Transaction

from .run import HistoryRun, generator
from .transactions import BATCH


@generator("surveys", order=40, help="survey answers that follow timeliness")
def make_surveys(run: HistoryRun) -> int:
    return survey_answers(run.rng)


def survey_answers(rng: random.Random, share: float = 0.02, response_rate: float = 0.25) -> int:
    """Survey answers for a sample of the completions, with invitations to match."""
    completions = (
        Transaction.objects.filter(outcome__in=("completed", "not_eligible"))
        .values_list("service_key", "jurisdiction", "channel", "end_day", "met_standard")
        .order_by()
    )
    invited: dict[tuple, int] = defaultdict(int)
    responses = []
    total = 0
    for service_key, jurisdiction, channel, end_day, met in completions.iterator(chunk_size=BATCH):
        if rng.random() >= share / response_rate:
            continue
        month = end_day.replace(day=1)
        invited[(month, service_key, jurisdiction, channel)] += 1
        if rng.random() >= response_rate:
            continue
        lift = 0.6 if met else (-0.6 if met is False else 0.0)

        def answer(spread: float = 0.9, shift: float = 0.0, lift: float = lift) -> int:
            return max(1, min(5, round(rng.gauss(3.7 + lift + shift, spread))))

        timeliness = answer(shift=0.3 * lift)
        responses.append(
            SurveyResponse(
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
        )
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
    return total
