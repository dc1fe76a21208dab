""" "Where the money goes": the figures the explorer page, the API and the benchmark share.

A selection is a fiscal year, optionally a program, a place (the place an allocation is
for, or else where its recipient is, kept on the allocation as `place_path`; a place includes
the places under it) and an agency (the allocations it funds or receives: the money that
passes through it, each transfer once). Totals count
each transfer once (see `flows.net_total`); spending is what recipients executed, and the
planning phases are shown beside it. Everything here runs a fixed number of queries,
whatever the number of allocations or expenditure lines.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, Round
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from joinedup import prepared
from joinedup.federation.models import Agency, Jurisdiction, Program
from joinedup.performance import kpis
from joinedup.performance.charts import BLUE, Chart

from . import fiscal, indicators, policy
from .models import ZERO, Allocation, Expenditure, Indicator, IndicatorValue, SpendingRollup


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in the reader's locale with its currency: 1,234.56 CAD or 1 234,56 CAD."""
    if amount is None:
        return "—"
    return f"{number_format(amount, 2, use_l10n=True, force_grouping=True)} {currency}".strip()


@dataclass(frozen=True)
class Selection:
    """`unpublished_of`: the agency whose unpublished allocations the reader also sees
    (`policy.unpublished_of`); `published_only=False` is everything (commands, checks)."""

    fiscal_year: int
    program: Program | None = None
    place: Jurisdiction | None = None
    published_only: bool = True
    unpublished_of: str | None = None
    agency: Agency | None = None

    def allocations(self) -> QuerySet[Allocation]:
        rows = Allocation.objects.filter(fiscal_year=self.fiscal_year)
        if self.agency is not None:
            rows = rows.filter(Q(funder=self.agency) | Q(recipient=self.agency))
        if self.program is not None:
            rows = rows.filter(program=self.program)
        if self.place is not None:
            rows = rows.filter(_under(self.place.path))
        if self.published_only:
            rows = policy.visible(rows, self.unpublished_of)
        return rows

    def spending(self) -> QuerySet[SpendingRollup]:
        """The rollup rows of the selection: the same program, place and publication rules as
        `allocations()`, read from the sums kept on write (see `rollup`). The rollup is kept
        by publication, not by funder: an agency's own unpublished spending is read from its
        lines (`own_unpublished_lines`)."""
        rows = SpendingRollup.objects.filter(fiscal_year=self.fiscal_year)
        if self.program is not None:
            rows = rows.filter(program=self.program)
        if self.place is not None:
            rows = rows.filter(_under(self.place.path))
        if self.published_only:
            rows = rows.filter(published=True)
        return rows

    def lines(self) -> QuerySet[Expenditure]:
        """The expenditure lines of every allocation of the selection the reader sees: what an
        agency's spending is read from, since the rollup is not kept by funder or recipient."""
        return Expenditure.objects.filter(allocation__in=self.allocations().values("pk"))

    def own_unpublished_lines(self) -> QuerySet[Expenditure]:
        """The expenditure lines of the unpublished allocations the reader's agency funded
        in the selection (none for the public, nor when everything is read from the rollup)."""
        if not (self.published_only and self.unpublished_of):
            return Expenditure.objects.none()
        return Expenditure.objects.filter(
            allocation__in=self.allocations().filter(published=False).values("pk")
        )

    def spending_sums(self, by: str, **filters: Any) -> dict[Any, tuple[int, int]]:
        """Whole cents and hundredths of FTEs by `phase` or `program`: the rollup's rows, plus
        the lines of the reader's own unpublished allocations (a second query for an analyst).
        With an agency chosen, one query of the selection's lines (`lines`)."""
        sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        if self.agency is None:
            for row in (
                self.spending()
                .filter(**filters)
                .values(by)
                .annotate(cents=Sum("cents"), ftes=Sum("fte_hundredths"))
                .order_by()
            ):
                sums[row[by]][0] += row["cents"] or 0
                sums[row[by]][1] += row["ftes"] or 0
        field = "allocation__program" if by == "program" else by
        for row in (
            (self.lines() if self.agency is not None else self.own_unpublished_lines())
            .filter(**filters)
            .values(field)
            .annotate(cents=_cents_sum(), ftes=_cents_sum("ftes"))
            .order_by()
        ):
            sums[row[field]][0] += row["cents"] or 0
            sums[row[field]][1] += row["ftes"] or 0
        return {key: (cents, ftes) for key, (cents, ftes) in sums.items()}


def _under(prefix: str) -> Q:
    """A place and everything under it, as paths. The prefix alone first: on PostgreSQL it
    is one range of the place index (an index-only read where the index covers the columns
    summed), the exact rule after it a filter on the same index entries."""
    return Q(place_path__startswith=prefix) & (
        Q(place_path=prefix) | Q(place_path__startswith=prefix + "/")
    )


def _cents_sum(field_name: str = "amount") -> Sum:
    return Sum(Cast(Round(F(field_name) * 100), output_field=BigIntegerField()))


def _cents_sum_where(condition: Q) -> Sum:
    return Sum(Cast(Round(F("amount") * 100), output_field=BigIntegerField()), filter=condition)


@dataclass
class Totals:
    fiscal_year: int
    currency: str
    first_month: int
    allocated: Decimal
    gross: Decimal
    phases: dict[str, Decimal]
    ftes: Decimal
    allocations: int

    @property
    def label(self) -> str:
        return fiscal.label(self.fiscal_year, self.first_month)

    @property
    def executed(self) -> Decimal:
        return self.phases.get(Expenditure.Phase.EXECUTED, ZERO)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "fiscal_year_label": self.label,
            "currency": self.currency,
            "allocated": str(self.allocated),
            "allocated_gross": str(self.gross),
            "phases": {
                phase: str(self.phases.get(phase, ZERO)) for phase in Expenditure.Phase.values
            },
            "ftes": str(self.ftes),
            "allocations": self.allocations,
        }


def calendar_jurisdiction(selection: Selection) -> Jurisdiction | None:
    """The jurisdiction whose currency and fiscal calendar the selection is read in: the
    place's, else the program owner's, else the chosen agency's (None when none is chosen)."""
    if selection.place is not None:
        return selection.place
    if selection.program is not None:
        return selection.program.agency.jurisdiction
    if selection.agency is not None:
        return selection.agency.jurisdiction
    return None


def calendar_of(selection: Selection) -> tuple[str, int]:
    """The currency and first fiscal month the selection is read in."""
    if (jurisdiction := calendar_jurisdiction(selection)) is not None:
        return jurisdiction.fiscal_terms()
    first = selection.allocations().select_related("calendar").first()
    return first.calendar.fiscal_terms() if first else ("", 1)


#: A part of `_union`: a tag, the rows (a queryset, or this module's own SQL reading the
#: statement's common rows) and the names of the five columns read from them.
Part = tuple[str, "QuerySet | str", tuple[str | None, ...]]


def _union(parts: list[Part], common: tuple[str, tuple[str, ...], QuerySet] | None = None):
    """Several read-only querysets as one statement (one round trip), as a function of the
    database alias giving its SQL and parameters. Each part is a tag, its rows and the
    names of the five columns read from them (two of text, then three integers; None reads
    '' or 0): `SELECT 'tag', q.c1, ..., q.c5 FROM (the part) q UNION ALL ...`. Each queryset
    is compiled by the ORM exactly as it would run alone (the same filters, the same policy),
    its parameters passed as parameters. `common` is (name, columns, queryset): rows read
    once (`WITH name (columns) AS (...)`) that parts given as SQL text read by name. The tags,
    names and SQL texts are this module's own constants, never input."""

    def compiled(alias: str) -> tuple[str, list]:
        connection = connections[alias]
        quote = connection.ops.quote_name
        pieces, params, head = [], [], ""
        if common is not None:
            name, columns, rows = common
            sql, params = rows.query.get_compiler(connection=connection).as_sql()
            head = f"WITH {name} ({', '.join(columns)}) AS ({sql}) "
            params = list(params)
        for index, (tag, rows, names) in enumerate(parts):
            if isinstance(rows, str):
                sql, part_params = rows, ()
            else:
                sql, part_params = rows.query.get_compiler(connection=connection).as_sql()
            columns = ", ".join(
                f"q{index}.{quote(name)}" if name else ("''" if position < 2 else "0")
                for position, name in enumerate(names)
            )
            pieces.append(f"SELECT '{tag}', {columns} FROM ({sql}) q{index}")  # noqa: S608
            params.extend(part_params)
        return head + " UNION ALL ".join(pieces), params

    return compiled


def _totals_parts(selection: Selection, codes: list[str]) -> tuple[list[Part], tuple]:
    """The parts of the totals' statement: the allocations' sums, the rollup's rows by phase
    (or an agency's lines), an analyst's own unpublished lines, and the levels `codes` the
    calendar is inherited from (none when it is not)."""
    # The selection's allocations are read once, as the statement's common rows
    # (`funding_chosen`), and summed from there: their gross and count, and the money counted
    # already — an allocation whose source is in the selection, or paid from a pool the
    # selection pays into (flows.net_total) — the net being the gross less it. Summed as its
    # own part, a filter on the rows, PostgreSQL hashes the two subqueries once; inside a
    # sum's FILTER it compared each row with every allocation of the selection.
    chosen = (
        selection.allocations()
        .annotate(cents=Cast(Round(F("amount") * 100), output_field=BigIntegerField()))
        .values("pk", "source_id", "from_pool_id", "into_pool_id", "cents")
        .order_by()
    )
    parts: list[Part] = [
        (
            "allocated",
            "SELECT SUM(cents) AS gross, COUNT(*) AS count FROM funding_chosen",
            (None, None, "gross", "count", None),
        ),
        (
            "counted",
            "SELECT SUM(cents) AS counted FROM funding_chosen WHERE source_id IN "
            "(SELECT id FROM funding_chosen) OR from_pool_id IN "
            "(SELECT into_pool_id FROM funding_chosen WHERE into_pool_id IS NOT NULL)",
            (None, None, "counted", None, None),
        ),
    ]
    if selection.agency is not None:
        # The rollup is not kept by funder or recipient: an agency's spending is read from
        # the lines of the allocations it funds or receives (the ones the reader sees).
        parts.append(
            (
                "spent",
                selection.lines()
                .values("phase")
                .annotate(cents=_cents_sum(), ftes=_cents_sum("ftes"))
                .order_by(),
                ("phase", None, "cents", "ftes", None),
            )
        )
    else:
        parts.append(
            (
                "spent",
                selection.spending()
                .values("phase")
                .annotate(cents=Sum("cents"), ftes=Sum("fte_hundredths"))
                .order_by(),
                ("phase", None, "cents", "ftes", None),
            )
        )
    if selection.agency is None and selection.published_only and selection.unpublished_of:
        parts.append(
            (
                "spent",
                selection.own_unpublished_lines()
                .values("phase")
                .annotate(cents=_cents_sum(), ftes=_cents_sum("ftes"))
                .order_by(),
                ("phase", None, "cents", "ftes", None),
            )
        )
    if codes:
        # The levels above the place (or the program owner's jurisdiction) that may set its
        # currency and fiscal year: what `fiscal_terms()` would read in a second round trip.
        parts.append(
            (
                "calendar",
                Jurisdiction.objects.filter(code__in=codes)
                .values("path", "currency", "fiscal_year_first_month")
                .order_by(),
                ("path", "currency", "fiscal_year_first_month", None, None),
            )
        )
    columns = ("id", "source_id", "from_pool_id", "into_pool_id", "cents")
    return parts, ("funding_chosen", columns, chosen)


def _totals_statement(
    a: prepared.Stand,
    *,
    fiscal_year: int,
    program: bool,
    place: bool,
    agency: bool,
    published_only: bool,
    unpublished_of: bool,
    codes: int,
):
    """The totals' statement for one shape of selection, built from stand-in values (the
    fiscal year is part of the shape: the ORM drops a filter on a small positive column
    whose value is out of its range, as a stand-in number would be)."""
    selection = Selection(
        fiscal_year,
        program=Program(pk=a.number("program")) if program else None,
        place=Jurisdiction(path=a.text("place")) if place else None,
        published_only=published_only,
        unpublished_of=a.text("unpublished_of") if unpublished_of else None,
        agency=Agency(pk=a.number("agency")) if agency else None,
    )
    parts, common = _totals_parts(selection, a.texts("codes", codes))
    return _union(parts, common)


#: Compiled once per shape of selection and database: compiling the statement (the policy's
#: filters, the subqueries, the union) costs more than PostgreSQL spends running it.
TOTALS = prepared.Statement("funding-totals", _totals_statement)


def totals(selection: Selection) -> Totals:
    """Money allocated into the selection (transfers inside it counted once) and spent in it,
    by phase, with full-time equivalents, in one statement: the allocations' sums, the
    rollup's rows by phase (a few hundred rows whatever the number of expenditure lines), an
    analyst's own unpublished lines, and the levels the calendar is inherited from. The
    statement is compiled once per shape of selection (`TOTALS`)."""
    home = calendar_jurisdiction(selection)
    inherits = home is not None and not (home.currency and home.fiscal_year_first_month)
    codes = home.ancestor_codes if inherits else []
    shape = {
        "fiscal_year": selection.fiscal_year,
        "program": selection.program is not None,
        "place": selection.place is not None,
        "agency": selection.agency is not None,
        "published_only": selection.published_only,
        "unpublished_of": bool(selection.unpublished_of),
    }
    rows = TOTALS.rows(
        using=Allocation.objects.db,
        shape=shape,
        codes=codes,
        program=selection.program.pk if selection.program is not None else None,
        place=selection.place.path if selection.place is not None else None,
        agency=selection.agency.pk if selection.agency is not None else None,
        unpublished_of=selection.unpublished_of,
    )
    gross = counted = count = 0
    grouped: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    levels = []
    for tag, text, other, first, second, _third in rows:
        if tag == "allocated":
            gross, count = int(first or 0), int(second or 0)
        elif tag == "counted":
            counted = int(first or 0)
        elif tag == "spent":
            grouped[text][0] += int(first or 0)
            grouped[text][1] += int(second or 0)
        else:
            levels.append((text, other, int(first or 0)))
    if inherits:
        currency, first_month = _inherited(home, levels)
    elif home is not None:
        currency, first_month = home.currency, home.fiscal_year_first_month
    else:
        currency, first_month = calendar_of(selection)
    phases = {
        phase: (Decimal(c) / 100).quantize(fiscal.CENT) for phase, (c, _f) in grouped.items() if c
    }
    ftes = Decimal(grouped.get(Expenditure.Phase.EXECUTED, (0, 0))[1]) / 100
    return Totals(
        fiscal_year=selection.fiscal_year,
        currency=currency,
        first_month=first_month,
        allocated=(Decimal(gross - counted) / 100).quantize(fiscal.CENT),
        gross=(Decimal(gross) / 100).quantize(fiscal.CENT),
        phases=phases,
        ftes=Decimal(ftes).quantize(fiscal.CENT),
        allocations=count,
    )


def _inherited(place: Jurisdiction, levels: list[tuple[str, str, int]]) -> tuple[str, int]:
    """`Jurisdiction.fiscal_terms()` from the levels read with the totals: the nearest level
    that sets each term (the deepest path first), January when none does."""
    chain = [(place.path, place.currency, place.fiscal_year_first_month)]
    chain += sorted(levels, key=lambda level: -len(level[0].split("/")))
    currency = next((c for _path, c, _m in chain if c), "")
    month = next((m for _path, _c, m in chain if m), 1)
    return currency, month


def fiscal_years() -> list[int]:
    return sorted(set(Allocation.objects.values_list("fiscal_year", flat=True)), reverse=True)


# --- The flow diagram ----------------------------------------------------------------------


def sankey(selection: Selection, currency: str) -> Chart:
    """Funders to recipients, one band per pair, its width the money passed."""
    pairs = (
        selection.allocations()
        .values("funder_id", "recipient_id")
        .annotate(cents=_cents_sum())
        .order_by("-cents")
    )
    pairs = list(pairs)
    ids = {p["funder_id"] for p in pairs} | {p["recipient_id"] for p in pairs}
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in=ids)}
    order = sorted(ids, key=lambda pk: agencies[pk].name)
    index = {pk: i for i, pk in enumerate(order)}
    amounts = [(Decimal(p["cents"] or 0) / 100).quantize(fiscal.CENT) for p in pairs]
    figure = {
        "data": [
            {
                "type": "sankey",
                "orientation": "h",
                "node": {
                    "label": [agencies[pk].short_name for pk in order],
                    "pad": 18,
                    "thickness": 16,
                    "color": BLUE,
                },
                "link": {
                    "source": [index[p["funder_id"]] for p in pairs],
                    "target": [index[p["recipient_id"]] for p in pairs],
                    "value": [float(a) for a in amounts],
                    "hovertemplate": "%{source.label} → %{target.label}: %{value:,.2f} "
                    + currency
                    + "<extra></extra>",
                },
            }
        ],
        "layout": {
            "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
            "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
            "paper_bgcolor": "#ffffff",
        },
    }
    rows = [
        [agencies[p["funder_id"]].name, agencies[p["recipient_id"]].name, money(a, currency)]
        for p, a in zip(pairs, amounts, strict=True)
    ]
    summary = _(
        "Money allocated in the fiscal year from %(funders)s funders to %(recipients)s "
        "recipients, in %(links)s flows; each band's width is the amount."
    ) % {
        "funders": len({p["funder_id"] for p in pairs}),
        "recipients": len({p["recipient_id"] for p in pairs}),
        "links": len(pairs),
    }
    return Chart(
        id="flows",
        title=_("Money from funders to recipients"),
        summary=summary,
        figure=figure,
        headers=[pgettext("funding", "From"), _("To"), _("Amount")],
        rows=rows,
    )


# --- Spending against results ------------------------------------------------------------------


@dataclass
class ProgramLine:
    program: Program
    allocated: Decimal = ZERO
    executed: Decimal = ZERO
    outcomes: Decimal | None = None
    open_findings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_per_outcome(self) -> Decimal | None:
        if not self.outcomes:
            return None
        return (self.executed / self.outcomes).quantize(fiscal.CENT)


def programs(selection: Selection, first_month: int) -> list[ProgramLine]:
    """Per program: money allocated into the selection, executed, outcomes counted in the
    fiscal year and the cost per outcome — a fixed number of queries, and no allocation read
    into Python: each program's money entering the selection from outside it is summed in
    the database (`flows.net_total` within each program's allocations: an allocation whose
    source, or the pool it is paid from, is fed by the same program in the selection was
    counted already)."""
    chosen = selection.allocations()
    same_program = {"program_id": OuterRef("program_id")}
    counted_already = Exists(chosen.filter(pk=OuterRef("source_id"), **same_program)) | Exists(
        chosen.filter(into_pool_id=OuterRef("from_pool_id"), **same_program)
    )
    allocated = {
        row["program"]: (Decimal(row["net"] or 0) / 100).quantize(fiscal.CENT)
        for row in chosen.alias(counted=counted_already)
        .values("program")
        .annotate(net=_cents_sum_where(Q(counted=False)))
        .order_by()
    }
    spent = {
        program_id: (Decimal(cents) / 100).quantize(fiscal.CENT)
        for program_id, (cents, _ftes) in selection.spending_sums(
            "program", phase=Expenditure.Phase.EXECUTED
        ).items()
    }
    first = fiscal.first_day(selection.fiscal_year, first_month)
    last = fiscal.last_day(selection.fiscal_year, first_month)
    counted = outcome_counts(list(allocated), first, last)
    lines = [
        ProgramLine(
            program=program,
            allocated=allocated[program.pk],
            executed=spent.get(program.pk, ZERO),
            outcomes=counted.get(program.pk),
        )
        for program in Program.objects.filter(pk__in=list(allocated)).select_related("agency")
    ]
    return sorted(lines, key=lambda line: line.program.name)


def outcome_counts(
    program_ids: list[int], first: datetime.date, last: datetime.date
) -> dict[int, Decimal]:
    """Outcomes counted per program in the period: reported values summed in one query,
    platform-bound ones read from one computation of performance's figures."""
    counted: dict[int, Decimal] = defaultdict(lambda: ZERO)
    reported = (
        IndicatorValue.objects.filter(
            current=True,
            indicator__is_outcome_count=True,
            indicator__source=Indicator.Source.REPORTED,
            indicator__result__program__in=program_ids,
            period_start__gte=first,
            period_end__lte=last,
        )
        .values("indicator__result__program")
        .annotate(total=Sum("value"))
        .order_by()
    )
    for row in reported:
        if row["total"] is not None:
            counted[row["indicator__result__program"]] += Decimal(row["total"])
    bound = list(
        Indicator.objects.filter(
            is_outcome_count=True,
            source=Indicator.Source.PLATFORM,
            result__program__in=program_ids,
        ).select_related("result")
    )
    if bound:
        period = kpis.Period("fy", first, last.replace(day=1))
        figures = kpis.compute(period, ("service_key", "jurisdiction"))
        for indicator in bound:
            _label, read = indicators.PLATFORM_MEASURES[indicator.bound_measure]
            for item in figures:
                if indicator.bound_service and item.key["service_key"] != indicator.bound_service:
                    continue
                code = indicator.bound_jurisdiction
                if code and not (item.key["jurisdiction"] + "-").startswith(code + "-"):
                    continue
                value = read(item)
                if value is not None:
                    counted[indicator.result.program_id] += Decimal(str(value))
    return dict(counted)


def spending_chart(lines: list[ProgramLine], currency: str) -> Chart:
    """Spending and cost per outcome per program, as bars with the table beside."""
    names = [line.program.name for line in lines]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [float(line.allocated) for line in lines],
                "name": _("Allocated"),
                "marker": {"color": "#71767a"},
            },
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [float(line.executed) for line in lines],
                "name": _("Spent"),
                "marker": {"color": BLUE},
            },
        ],
        "layout": {
            "barmode": "group",
            "font": {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 13},
            "margin": {"l": 220, "r": 16, "t": 8, "b": 48},
            "xaxis": {"title": {"text": currency}},
            "legend": {"orientation": "h", "y": -0.2},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
        },
    }
    rows = [
        [
            line.program.name,
            money(line.allocated, currency),
            money(line.executed, currency),
            "—"
            if line.outcomes is None
            else number_format(line.outcomes, 0, use_l10n=True, force_grouping=True),
            money(line.cost_per_outcome, currency),
        ]
        for line in lines
    ]
    return Chart(
        id="spending",
        title=_("Spending against results, per program"),
        summary=_(
            "For each program, the money allocated into the selection and the money spent, "
            "with the outcomes counted and the cost per outcome in the table."
        ),
        figure=figure,
        headers=[_("Program"), _("Allocated"), _("Spent"), _("Outcomes"), _("Cost per outcome")],
        rows=rows,
    )
