"""`eligible("ca.child-benefit")`: whether the rules give a household a benefit, from the
answers a person already gave (a bundle's screening and form answers, an application's
data), for conditions in the screening language and for decision support.

The answers are read in the vocabulary the demo forms use (`answers_to_household`): the
family's income last year (`income_last_year`, or `family_income`), the children (`birth_date`
of a newborn, `children_birth_dates`, `children_ages`, or an application's `children` with
their `birth_date`), and whether two adults share the
household (`marital_status` married or common-law, or a named other parent). Without an
income the rules cannot say: nothing is eligible (a condition does not hold), and
`Eligibility.known` is False so a page can say why.

Computing is lazy (the first call) and done once per answers and place.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import PackageRefused, SituationError
from .screener import Answers, Screening, current_period, screen

logger = logging.getLogger(__name__)

TWO_ADULTS = {"married", "common_law"}


def _age(born: Any, on: datetime.date) -> int | None:
    try:
        day = datetime.date.fromisoformat(str(born))
    except ValueError:
        return None
    age = on.year - day.year - ((on.month, on.day) < (day.month, day.day))
    return age if 0 <= age < 26 else None


def answers_to_household(answers: Mapping[str, Any], place: str, period: str) -> Answers | None:
    """The screener's household from a form's answers, or None when the income is unknown."""
    raw = answers.get("income_last_year", answers.get("family_income"))
    try:
        income = Decimal(str(raw)) if raw not in (None, "") else None
    except InvalidOperation:
        income = None
    if income is None or income < 0:
        return None
    on = datetime.date.fromisoformat(period + "-01")
    ages: list[int] = []
    if isinstance(answers.get("children_ages"), list):
        ages = [int(a) for a in answers["children_ages"] if isinstance(a, int) and 0 <= a < 26]
    else:
        births = answers.get("children_birth_dates")
        if isinstance(answers.get("children"), list):  # an application's children, as objects
            births = [c.get("birth_date") for c in answers["children"] if isinstance(c, dict)]
        if not isinstance(births, list):
            births = [answers["birth_date"]] if answers.get("birth_date") else []
        ages = [a for a in (_age(b, on) for b in births) if a is not None]
    two = answers.get("marital_status") in TWO_ADULTS or bool(
        answers.get("other_parent_given_names")
    )
    return Answers(place=place, adults=2 if two else 1, children=ages, income=income, period=period)


class Eligibility:
    """The benefits the rules give for some answers at a place; callable as `eligible(key)`
    with a service key (`ca.child-benefit`) or a rule variable (`ca_child_benefit`)."""

    def __init__(
        self, answers: Mapping[str, Any], place: str, period: str | None = None, language="en"
    ) -> None:
        self.answers = dict(answers)
        self.place = place
        self.period = period or current_period()
        self.language = language
        self._screening: Screening | None = None
        self._done = False

    @property
    def screening(self) -> Screening | None:
        """The computation, or None when the answers or the place do not allow one."""
        if not self._done:
            self._done = True
            household = answers_to_household(self.answers, self.place, self.period)
            if household is not None and self.place:
                try:
                    self._screening = screen(household, self.language)
                except (SituationError, PackageRefused) as error:
                    logger.warning("eligibility could not be computed at %s: %s", self.place, error)
        return self._screening

    @property
    def known(self) -> bool:
        return self.screening is not None

    def per_month(self, key: str) -> float:
        """The monthly amount of the benefits granted under a service key or variable."""
        if self.screening is None:
            return 0.0
        return round(
            sum(b.per_month for b in self.screening.benefits if key in (b.service_key, b.variable)),
            2,
        )

    def __call__(self, key: str) -> bool:
        return self.per_month(str(key)) > 0
