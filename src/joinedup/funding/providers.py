"""Contracted providers beside in-house delivery of the same service.

A service's *providers* are the agencies that deliver it: those its offerings name and those
the platform measured delivering it in the fiscal year. A provider is **contracted** when it
received, in that year, an allocation under one of the service's programs with the
*contract* instrument (a community organisation or a firm delivering under contract);
otherwise it delivers **in house** (with its own or transferred money).

For each provider, over the fiscal year of the programs' owner's calendar:

    spending            = executed expenditure lines of the allocations it received under
                          the service's programs
    outcomes            = the values of the programs' outcome-counting indicators whose data
                          owner is the provider (a contract's outcome indicators)
    cost per outcome    = spending ÷ outcomes
    spending per completed transaction = spending ÷ the service's completions it delivered
    within the standard = completions within the service standard ÷ completions with one
    cost per transaction = performance's delivery cost (channel, staff time, overheads)

Each group (contracted, in house) is summed the same way (its spending ÷ its outcomes, its
completions within the standard ÷ its completions with one), never as an average of
averages. Performance's figures resting on fewer than `PERFORMANCE_MIN_COUNT` transactions
are not published, as everywhere. The queries are a fixed number whatever the number of
expenditure lines or transactions (one more per platform-measured outcome indicator).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from django.conf import settings
from django.db.models import BigIntegerField, F, Q, Sum
from django.db.models.functions import Cast, Round
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Offering, Program, Service
from joinedup.performance import kpis
from joinedup.performance.charts import BLUE, Chart

from . import fiscal, indicators, policy
from .explorer import money
from .models import ZERO, Allocation, Expenditure, Indicator, IndicatorValue

CONTRACTED = "contracted"
IN_HOUSE = "in_house"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(fiscal.CENT, rounding=ROUND_HALF_EVEN)


@dataclass
class Figures:
    """One provider's (or one group's) money and results in the year."""

    spending: Decimal = ZERO
    outcomes: Decimal | None = None
    completions: int = 0
    with_standard: int = 0
    met_standard: int = 0
    delivery_cost: Fraction | None = None

    @property
    def cost_per_outcome(self) -> Decimal | None:
        if not self.outcomes:
            return None
        return _cents(self.spending / self.outcomes)

    @property
    def spending_per_completion(self) -> Decimal | None:
        if not self.completions or not self.spending:
            return None
        return _cents(self.spending / self.completions)

    @property
    def within_standard(self) -> float | None:
        if not self.with_standard:
            return None
        return self.met_standard / self.with_standard

    @property
    def cost_per_transaction(self) -> Decimal | None:
        if self.delivery_cost is None or not self.completions:
            return None
        cost = self.delivery_cost / self.completions / 100
        return _cents(Decimal(cost.numerator) / Decimal(cost.denominator))

    def add(self, other: Figures) -> None:
        self.spending += other.spending
        if other.outcomes is not None:
            self.outcomes = (self.outcomes or ZERO) + other.outcomes
        self.completions += other.completions
        self.with_standard += other.with_standard
        self.met_standard += other.met_standard
        if other.delivery_cost is not None:
            self.delivery_cost = (self.delivery_cost or Fraction(0)) + other.delivery_cost


@dataclass
class Provider:
    agency: Agency
    kind: str  # CONTRACTED or IN_HOUSE
    figures: Figures

    @property
    def kind_label(self) -> str:
        return _("Contracted") if self.kind == CONTRACTED else _("In house")


@dataclass
class Comparison:
    service: Service
    fiscal_year: int
    first_month: int
    currency: str
    programs: list[Program]
    providers: list[Provider] = field(default_factory=list)
    groups: dict[str, Figures] = field(default_factory=dict)
    min_count: int = 0

    @property
    def both(self) -> bool:
        """Whether the service is delivered both ways: only then is there a comparison."""
        kinds = {p.kind for p in self.providers}
        return kinds == {CONTRACTED, IN_HOUSE}

    def published(self, figures: Figures) -> bool:
        """Whether the delivery figures rest on enough transactions to be shown."""
        return figures.completions >= self.min_count


def programs_of(service: Service) -> list[Program]:
    """The programs that fund a service: its catalogue entry's and its offerings'."""
    ids = set(Offering.objects.filter(service=service).values_list("program_id", flat=True))
    if service.program_id:
        ids.add(service.program_id)
    ids.discard(None)
    return list(Program.objects.filter(pk__in=ids).select_related("agency__jurisdiction"))


def fiscal_years(service: Service) -> list[int]:
    """The fiscal years with allocations under the service's programs, latest first."""
    return sorted(
        set(
            Allocation.objects.filter(program__in=programs_of(service)).values_list(
                "fiscal_year", flat=True
            )
        ),
        reverse=True,
    )


def _terms(service: Service, programs: list[Program]) -> tuple[str, int]:
    for program in programs:
        if program.agency.jurisdiction is not None:
            return program.agency.jurisdiction.fiscal_terms()
    return service.scope.fiscal_terms()


def compare(service: Service, fiscal_year: int, *, analyst_of: str | None = None) -> Comparison:
    """Every provider of the service in the fiscal year, contracted or in house, with its
    figures, and the two groups' totals. Published allocations only, and the unpublished ones
    the agency `analyst_of` funded (an analyst's own agency's, as elsewhere in funding)."""
    programs = programs_of(service)
    currency, first_month = _terms(service, programs)
    first = fiscal.first_day(fiscal_year, first_month)
    last = fiscal.last_day(fiscal_year, first_month)
    result = Comparison(
        service=service,
        fiscal_year=fiscal_year,
        first_month=first_month,
        currency=currency,
        programs=programs,
        min_count=settings.PERFORMANCE_MIN_COUNT,
    )
    allocations = policy.visible(
        Allocation.objects.filter(program__in=programs, fiscal_year=fiscal_year), analyst_of
    )

    # Delivery, measured by the platform: one pass over the rollups, by agency.
    period = kpis.Period("fy", first, last.replace(day=1))
    measured = {f.key["agency"]: f for f in kpis.compute(period, ("agency",), service=service.key)}
    keys = set(measured) | set(
        Offering.objects.filter(service=service).values_list("agency__key", flat=True)
    )
    contracted = set(
        allocations.filter(instrument=Allocation.Instrument.CONTRACT).values_list(
            "recipient_id", flat=True
        )
    )
    spent = {
        row["allocation__recipient_id"]: Decimal(row["cents"] or 0) / 100
        for row in Expenditure.objects.filter(
            allocation__in=allocations, phase=Expenditure.Phase.EXECUTED
        )
        .values("allocation__recipient_id")
        .annotate(cents=Sum(Cast(Round(F("amount") * 100), output_field=BigIntegerField())))
        .order_by()
    }
    agencies = {a.key: a for a in Agency.objects.filter(Q(key__in=keys) | Q(pk__in=contracted))}
    outcomes = _outcomes(programs, [a.pk for a in agencies.values()], first, last)
    for key in sorted(agencies, key=lambda k: agencies[k].name):
        agency = agencies[key]
        delivered = measured.get(key)
        figures = Figures(
            spending=_cents(spent.get(agency.pk, ZERO)),
            outcomes=outcomes.get(agency.pk),
        )
        if delivered is not None:
            figures.completions = delivered.completions
            figures.with_standard = delivered.with_standard
            figures.met_standard = delivered.met_standard
            figures.delivery_cost = Fraction(delivered.total_cost)
        kind = CONTRACTED if agency.pk in contracted else IN_HOUSE
        result.providers.append(Provider(agency=agency, kind=kind, figures=figures))
    for kind in (CONTRACTED, IN_HOUSE):
        total = Figures()
        for provider in result.providers:
            if provider.kind == kind:
                total.add(provider.figures)
        result.groups[kind] = total
    return result


def _outcomes(
    programs: list[Program], agency_ids: list[int], first: datetime.date, last: datetime.date
) -> dict[int, Decimal]:
    """Outcomes in the year counted by the programs' outcome-counting indicators, per data
    owner: reported values summed in one query, platform-measured ones read each."""
    chosen = Indicator.objects.filter(
        result__program__in=programs, is_outcome_count=True, data_owner_id__in=agency_ids
    )
    found: dict[int, Decimal] = {}
    for row in (
        IndicatorValue.objects.filter(
            indicator__in=chosen.filter(source=Indicator.Source.REPORTED),
            current=True,
            value__isnull=False,
            period_start__gte=first,
            period_end__lte=last,
        )
        .values("indicator__data_owner_id")
        .annotate(total=Sum("value"))
        .order_by()
    ):
        found[row["indicator__data_owner_id"]] = Decimal(row["total"])
    for indicator in chosen.filter(source=Indicator.Source.PLATFORM):
        value = indicators.platform_value(indicator, first, last)
        if value is not None:
            found[indicator.data_owner_id] = found.get(indicator.data_owner_id, ZERO) + value
    return found


# --- What the page shows ------------------------------------------------------------------------


def _share(value: float | None) -> str:
    return "—" if value is None else f"{number_format(round(value * 100, 1), 1, use_l10n=True)} %"


def _count(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return number_format(value, 0, use_l10n=True, force_grouping=True)


def row(comparison: Comparison, label: str, kind: str, figures: Figures) -> list[str]:
    """A line of the data table, as people read it."""
    currency, shown = comparison.currency, comparison.published(figures)
    return [
        label,
        kind,
        money(figures.spending, currency),
        _count(figures.outcomes),
        money(figures.cost_per_outcome, currency),
        _count(figures.completions) if shown else "—",
        money(figures.spending_per_completion, currency) if shown else "—",
        _share(figures.within_standard) if shown else "—",
        money(figures.cost_per_transaction, currency) if shown else "—",
    ]


def headers() -> list[str]:
    return [
        _("Provider"),
        _("Delivery"),
        _("Spent"),
        _("Outcomes"),
        _("Cost per outcome"),
        _("Completed transactions"),
        _("Spending per completed transaction"),
        _("Within the service standard"),
        _("Delivery cost per transaction"),
    ]


def table(comparison: Comparison) -> list[list[str]]:
    """Each provider, then each group's total."""
    rows = [row(comparison, p.agency.name, p.kind_label, p.figures) for p in comparison.providers]
    labels = {CONTRACTED: _("All contracted providers"), IN_HOUSE: _("All in-house delivery")}
    for kind in (CONTRACTED, IN_HOUSE):
        rows.append(row(comparison, labels[kind], "", comparison.groups[kind]))
    return rows


def findings(comparison: Comparison) -> list[str]:
    """The comparison in words: what contracted delivery costs per outcome and how timely it
    is, beside in-house delivery."""
    if not comparison.providers:
        return [_("Nobody delivered this service in the fiscal year.")]
    if not comparison.both:
        return [
            _(
                "This service is delivered only one way in the fiscal year (%(kind)s): there "
                "is nothing to compare it with."
            )
            % {"kind": comparison.providers[0].kind_label.lower()}
        ]
    hired, own = comparison.groups[CONTRACTED], comparison.groups[IN_HOUSE]
    lines = []
    a, b = hired.cost_per_outcome, own.cost_per_outcome
    if a is not None and b is not None:
        lines.append(
            _(
                "An outcome cost %(contracted)s from contracted providers and %(own)s in "
                "house (%(ratio)s times)."
            )
            % {
                "contracted": money(a, comparison.currency),
                "own": money(b, comparison.currency),
                "ratio": number_format((a / b).quantize(fiscal.CENT), 2, use_l10n=True)
                if b
                else "—",
            }
        )
    else:
        lines.append(_("The cost per outcome needs outcomes reported by providers of both kinds."))
    if comparison.published(hired) and comparison.published(own):
        x, y = hired.within_standard, own.within_standard
        if x is not None and y is not None:
            lines.append(
                _(
                    "%(contracted)s of contracted providers' completed transactions were "
                    "within the service standard, against %(own)s in house."
                )
                % {"contracted": _share(x), "own": _share(y)}
            )
    else:
        lines.append(
            _(
                "Too few transactions (fewer than %(count)s) to publish the timeliness of "
                "one of the two kinds of delivery."
            )
            % {"count": comparison.min_count}
        )
    return lines


def chart(comparison: Comparison) -> Chart:
    """Cost per outcome (bars) and the share within the standard (markers, second axis),
    per provider, contracted providers in blue and in-house delivery in grey."""
    names = [p.agency.short_name for p in comparison.providers]
    colours = [BLUE if p.kind == CONTRACTED else "#71767a" for p in comparison.providers]
    cpo = [p.figures.cost_per_outcome for p in comparison.providers]
    shares = [
        p.figures.within_standard if comparison.published(p.figures) else None
        for p in comparison.providers
    ]
    figure = {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": [None if v is None else float(v) for v in cpo],
                "name": _("Cost per outcome"),
                "marker": {"color": colours},
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": names,
                "y": [None if v is None else round(v * 100, 1) for v in shares],
                "name": _("Within the service standard (%)"),
                "yaxis": "y2",
                "marker": {"color": "#e5a000", "size": 12, "symbol": "diamond"},
            },
        ],
        "layout": {
            "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
            "margin": {"l": 64, "r": 64, "t": 8, "b": 96},
            "yaxis": {"title": {"text": _("Cost per outcome") + f" ({comparison.currency})"}},
            "yaxis2": {
                "title": {"text": _("Within the service standard (%)")},
                "overlaying": "y",
                "side": "right",
                "range": [0, 100],
                "tickmode": "linear",
                "dtick": 20,
                "showgrid": False,
            },
            "legend": {"orientation": "h", "y": -0.35},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
        },
    }
    return Chart(
        id="providers",
        title=_("Contracted providers and in-house delivery"),
        summary=_(
            "For each provider of the service: the cost per outcome (bars; contracted "
            "providers in blue, in-house delivery in grey) and the share of completed "
            "transactions within the service standard (diamonds, right axis). The table "
            "gives every figure, and each kind of delivery's total."
        ),
        figure=figure,
        headers=headers(),
        rows=table(comparison),
    )
