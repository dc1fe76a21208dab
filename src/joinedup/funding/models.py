"""Funding and results: the records, and the invariants a single record can check itself.

Money is `Decimal` with two places in the currency of the jurisdiction whose calendar the
record follows; a fiscal year is named by the calendar year it starts in (`2025` is April
2025 to March 2026 in Canada, July 2025 to June 2026 in Australia). Rules that look across
records (over-allocation, a period outside the fiscal year, who may change what) live in the
modules named for them, which write through these models inside one transaction.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import BigIntegerField, F, Sum
from django.db.models.functions import Cast, Round
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Program, validate_texts

MONEY = {"max_digits": 16, "decimal_places": 2}
ZERO = Decimal("0.00")


def sum_money(rows: models.QuerySet, field: str = "amount") -> Decimal:
    """The exact total of a money column, to the cent, on every database.

    SQLite keeps decimals as binary floating point, so a plain SUM can drift by fractions of
    a cent over many rows; each amount is turned into whole cents first, then summed as
    integers (exact on PostgreSQL's numeric too).
    """
    cents = rows.aggregate(total=Sum(Cast(Round(F(field) * 100), output_field=BigIntegerField())))[
        "total"
    ]
    return (Decimal(cents or 0) / 100).quantize(Decimal("0.01"))


class Named(models.Model):
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return pick(self.names)

    def __str__(self) -> str:
        return self.name


# --- Programs, results and indicators ------------------------------------------------------


class Result(Named):
    """One box of a program's logic model: an input, activity, output or outcome."""

    class Level(models.TextChoices):
        INPUT = "input", _("Input")
        ACTIVITY = "activity", _("Activity")
        OUTPUT = "output", _("Output")
        IMMEDIATE = "immediate", _("Immediate outcome")
        INTERMEDIATE = "intermediate", _("Intermediate outcome")
        ULTIMATE = "ultimate", _("Ultimate outcome")

    OUTCOME_LEVELS = (Level.IMMEDIATE, Level.INTERMEDIATE, Level.ULTIMATE)

    key = models.SlugField(_("key"), max_length=80, unique=True)
    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="results"
    )
    level = models.CharField(
        pgettext_lazy("funding", "level"), max_length=16, choices=Level.choices
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    leads_to = models.ManyToManyField(
        "self", verbose_name=_("leads to"), symmetrical=False, blank=True, related_name="comes_from"
    )

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        ordering = ["program__key", "position", "key"]


class Indicator(Named):
    """How a result is measured (the shape of a departmental results framework)."""

    class Unit(models.TextChoices):
        COUNT = "count", pgettext_lazy("funding", "Number")
        SHARE = "share", _("Share (0 to 1)")
        MONEY = "money", _("Amount of money")
        DAYS = "days", _("Days")
        SCORE = "score", _("Score (0 to 100)")

    class Direction(models.TextChoices):
        INCREASE = "increase", _("Higher is better")
        DECREASE = "decrease", _("Lower is better")
        MAINTAIN = "maintain", _("Stay within the range")

    class TargetType(models.TextChoices):
        AT_LEAST = "at_least", _("At least")
        AT_MOST = "at_most", _("At most")
        RANGE = "range", _("Between")
        EXACTLY = "exactly", _("Exactly")

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        ANNUAL = "annual", _("Annual")

    class Source(models.TextChoices):
        REPORTED = "reported", _("Reported by the responsible agency")
        PLATFORM = "platform", _("Measured by the platform")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    result = models.ForeignKey(
        Result, verbose_name=_("result"), on_delete=models.CASCADE, related_name="indicators"
    )
    measures = models.JSONField(_("what is measured"), default=dict, blank=True)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    direction = models.CharField(_("direction sought"), max_length=8, choices=Direction.choices)
    target_type = models.CharField(_("target type"), max_length=8, choices=TargetType.choices)
    target_min = models.DecimalField(
        _("target (minimum)"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    target_max = models.DecimalField(
        _("target (maximum)"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    baseline = models.DecimalField(
        _("baseline"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    methodology = models.JSONField(_("methodology"), default=dict, blank=True)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    data_owner = models.ForeignKey(
        Agency, verbose_name=_("data owner"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    #: For a platform indicator: the measure (see `indicators.PLATFORM_MEASURES`), the
    #: service it is read from and optionally the delivering jurisdiction.
    bound_measure = models.CharField(_("platform measure"), max_length=40, blank=True)
    bound_service = models.CharField(_("service"), max_length=100, blank=True)
    bound_jurisdiction = models.CharField(
        pgettext_lazy("funding", "jurisdiction"), max_length=40, blank=True
    )
    is_outcome_count = models.BooleanField(
        _("counts outcomes"),
        default=False,
        help_text=_("Its values count outcomes achieved: the divisor of the cost per outcome."),
    )

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["key"]


class IndicatorValue(models.Model):
    """An indicator's actual value for one period, as reported; a correction is a new row
    that supersedes the old one, which stays (who said what, when)."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="values"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"), auto_now_add=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrected_by",
    )
    current = models.BooleanField(_("current"), default=True)

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        ordering = ["indicator", "period_start", "-reported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period_start"],
                condition=models.Q(current=True),
                name="funding_one_current_value_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.period_start:%Y-%m}"


# --- Money ---------------------------------------------------------------------------------


class Pool(Named):
    """A pooled fund (place-based or outcome fund) several funders put money in; what it
    pays out is shared among them pro rata of what each put in."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    manager = models.ForeignKey(
        Agency, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="+"
    )
    place = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pooled fund")
        verbose_name_plural = _("pooled funds")
        ordering = ["key"]


class Allocation(models.Model):
    """Money a funder gives a recipient for a fiscal year. An appropriation is a funder's own
    money; an allocation passes on money the funder received (`source`) or that a pool
    holds (`from_pool`)."""

    class Kind(models.TextChoices):
        APPROPRIATION = "appropriation", _("Appropriation")
        ALLOCATION = "allocation", _("Allocation")

    class Instrument(models.TextChoices):
        GRANT = "grant", _("Grant")
        CONTRIBUTION = "contribution", _("Contribution")
        TRANSFER = "transfer", _("Transfer")
        CONTRACT = "contract", _("Contract")
        INTERNAL = "internal", _("Internal")

    class Condition(models.TextChoices):
        RING_FENCED = "ring_fenced", _("Ring-fenced (only for the program)")
        POOLED = "pooled", _("Pooled")

    key = models.SlugField(_("key"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    funder = models.ForeignKey(
        Agency, verbose_name=_("funder"), on_delete=models.PROTECT, related_name="funding_given"
    )
    recipient = models.ForeignKey(
        Agency,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="funding_received",
    )
    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="allocations"
    )
    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"), help_text=_("The calendar year the funder's fiscal year starts in.")
    )
    calendar = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("fiscal calendar of"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The jurisdiction whose fiscal year and currency the amount follows."),
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(ZERO)], **MONEY)
    instrument = models.CharField(_("instrument"), max_length=16, choices=Instrument.choices)
    condition = models.CharField(_("condition"), max_length=16, choices=Condition.choices)
    source = models.ForeignKey(
        "self",
        verbose_name=_("passes on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="passed_on",
    )
    into_pool = models.ForeignKey(
        Pool,
        verbose_name=_("paid into pool"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
    )
    from_pool = models.ForeignKey(
        Pool,
        verbose_name=_("paid from pool"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payouts",
    )
    place = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the money is spent, when it is for one place."),
    )
    place_path = models.CharField(
        _("where spent"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_(
            "The path of the place, or else of the recipient's jurisdiction: kept on save, "
            "so a province and everything under it is one prefix."
        ),
    )
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    published = models.BooleanField(_("published"), default=True)
    illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["fiscal_year", "key"]
        indexes = [
            models.Index(fields=["program", "fiscal_year"]),
            # Prefix reads ("CA/ON" and below) use the index on PostgreSQL whatever the
            # database's collation; other databases ignore the operator classes.
            models.Index(
                fields=["fiscal_year", "place_path"],
                name="funding_allocation_place",
                opclasses=["int2_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def where_spent(self) -> str:
        """The place's path, or else the recipient's jurisdiction's ('' when neither)."""
        if self.place_id:
            return self.place.path
        jurisdiction = self.recipient.jurisdiction if self.recipient_id else None
        return jurisdiction.path if jurisdiction is not None else ""

    def save(self, *args, **kwargs) -> None:
        self.place_path = self.where_spent()
        fields = kwargs.get("update_fields")
        if fields is not None and "place_path" not in fields:
            kwargs["update_fields"] = [*fields, "place_path"]
        super().save(*args, **kwargs)


class Expenditure(models.Model):
    """Money a recipient reports against an allocation, for a month and a category, in one
    phase: proposed, approved, adjusted (the plans) or executed (what was spent)."""

    class Phase(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", pgettext_lazy("funding", "Approved")
        ADJUSTED = "adjusted", _("Adjusted")
        EXECUTED = "executed", _("Executed")

    class Category(models.TextChoices):
        STAFF = "staff", _("Staff")
        OPERATIONS = "operations", _("Operations")
        PAYMENTS = "payments", _("Payments to people")
        CAPITAL = "capital", _("Capital")
        OVERHEAD = "overhead", _("Overhead")

    allocation = models.ForeignKey(
        Allocation,
        verbose_name=_("allocation"),
        on_delete=models.PROTECT,
        related_name="expenditures",
    )
    period = models.DateField(_("month"), help_text=_("The first day of the month."))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    phase = models.CharField(_("phase"), max_length=10, choices=Phase.choices)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(ZERO)], **MONEY)
    ftes = models.DecimalField(
        _("full-time equivalents"), max_digits=9, decimal_places=2, default=ZERO
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("expenditure")
        verbose_name_plural = _("expenditures")
        ordering = ["allocation", "period", "category", "phase"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "period", "category", "phase"],
                name="funding_one_expenditure_line",
            )
        ]

    def __str__(self) -> str:
        return f"{self.allocation} {self.period:%Y-%m} {self.get_category_display()}"


class ChangeRecord(models.Model):
    """Who changed which funding record, when and why (allocations, expenditures, values)."""

    at = models.DateTimeField(_("when"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    agency = models.CharField(_("on behalf of"), max_length=64, blank=True)
    record = models.CharField(pgettext_lazy("funding", "record"), max_length=40)
    record_key = models.CharField(_("record key"), max_length=120)
    action = models.CharField(_("action"), max_length=20)
    reason = models.TextField(_("why"))
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.record} {self.record_key}"


# --- Linking money to results --------------------------------------------------------------


class OutcomeAgreement(Named):
    """Payment by results: a rate per outcome with a floor and a cap, and/or a bonus share of
    the base amount when the indicator meets its target."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    allocation = models.ForeignKey(
        Allocation,
        verbose_name=_("allocation"),
        on_delete=models.PROTECT,
        related_name="outcome_agreements",
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="+"
    )
    rate_per_outcome = models.DecimalField(
        _("rate per outcome"), validators=[MinValueValidator(ZERO)], **MONEY
    )
    floor = models.DecimalField(
        _("floor"), validators=[MinValueValidator(ZERO)], default=ZERO, **MONEY
    )
    cap = models.DecimalField(
        _("cap"), validators=[MinValueValidator(ZERO)], null=True, blank=True, **MONEY
    )
    bonus_share = models.DecimalField(
        _("bonus share"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        help_text=_("Share of the payment added when the indicator meets its target (0.1)."),
    )

    class Meta:
        verbose_name = _("outcome-based agreement")
        verbose_name_plural = _("outcome-based agreements")
        ordering = ["key"]


class OutcomePayment(models.Model):
    """One period's payment computed under an outcome agreement, routed to the funder."""

    class Status(models.TextChoices):
        COMPUTED = "computed", _("Awaiting the funder's approval")
        APPROVED = "approved", pgettext_lazy("funding", "Approved")
        RETURNED = "returned", _("Returned by the funder")

    agreement = models.ForeignKey(
        OutcomeAgreement,
        verbose_name=_("agreement"),
        on_delete=models.CASCADE,
        related_name="payments",
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    outcomes = models.DecimalField(_("outcomes"), max_digits=18, decimal_places=4)
    amount = models.DecimalField(_("amount"), **MONEY)
    steps = models.JSONField(_("how it was computed"), default=list)
    status = models.CharField(
        pgettext_lazy("funding", "status"),
        max_length=10,
        choices=Status.choices,
        default=Status.COMPUTED,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("why"), blank=True)

    class Meta:
        verbose_name = _("outcome payment")
        verbose_name_plural = _("outcome payments")
        ordering = ["agreement", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "period_start"], name="funding_one_payment_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement} {self.period_start:%Y-%m}"


class Scenario(Named):
    """An analyst's what-if: this year's allocations copied, amounts moved; saved, compared
    and proposed, never applied by itself."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")

    funder = models.ForeignKey(
        Agency, verbose_name=_("funder"), on_delete=models.PROTECT, related_name="+"
    )
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    status = models.CharField(
        pgettext_lazy("funding", "status"),
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("allocation scenario")
        verbose_name_plural = _("allocation scenarios")
        ordering = ["-created_at"]


class ScenarioLine(models.Model):
    scenario = models.ForeignKey(
        Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE, related_name="lines"
    )
    allocation = models.ForeignKey(
        Allocation, verbose_name=_("allocation"), on_delete=models.CASCADE, related_name="+"
    )
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(ZERO)], **MONEY)

    class Meta:
        verbose_name = _("scenario line")
        verbose_name_plural = _("scenario lines")
        ordering = ["scenario", "allocation__key"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "allocation"], name="funding_one_line_per_allocation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scenario} {self.allocation}"


# --- Oversight -----------------------------------------------------------------------------


class Review(models.Model):
    """An overseer's inspection or review of a provider."""

    class Kind(models.TextChoices):
        INSPECTION = "inspection", _("Inspection")
        REVIEW = "review", _("Review")
        AUDIT = "audit", _("Audit")

    overseer = models.ForeignKey(
        Agency, verbose_name=_("overseer"), on_delete=models.PROTECT, related_name="+"
    )
    provider = models.ForeignKey(
        Agency,
        verbose_name=pgettext_lazy("funding", "provider"),
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    held_on = models.DateField(pgettext_lazy("funding", "held on"))
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.provider} {self.held_on}"


class Finding(models.Model):
    class Severity(models.IntegerChoices):
        LOW = 1, _("Low")
        MEDIUM = 2, _("Medium")
        HIGH = 3, _("High")
        CRITICAL = 4, _("Critical")

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="findings"
    )
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    text = models.TextField(_("finding"))
    corrective_action = models.TextField(_("corrective action"), blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["review", "-severity"]

    def __str__(self) -> str:
        return self.text[:60]


# --- The explorer's rollup -----------------------------------------------------------------


class CoveringIndex(models.Index):
    """An index that also carries `covering` columns where the database can (PostgreSQL's
    INCLUDE), so a read of only those columns is index-only: no visit to the table's pages.
    Elsewhere (SQLite) a plain index; Django's own `include` would warn there that SQLite has
    no covering indexes."""

    def __init__(self, *args: Any, covering: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.covering = tuple(covering)

    def create_sql(self, model, schema_editor, using="", **kwargs):
        index = copy.copy(self)
        if schema_editor.connection.features.supports_covering_indexes:
            index.include = self.covering
        return models.Index.create_sql(index, model, schema_editor, using=using, **kwargs)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["covering"] = self.covering
        return path, args, kwargs


class SpendingRollup(models.Model):
    """Expenditure lines summed by program, place, fiscal year, phase and publication, so the
    explorer's totals read a few hundred rows instead of millions of lines.

    The place is where the money is spent: the allocation's place, or else its recipient's
    jurisdiction (the same rule as the explorer's selection), kept as the jurisdiction's path
    so "a province and everything under it" is a prefix. Amounts are whole cents (exact on
    every database). Kept up to date inside the transaction of every write (see `rollup`);
    rebuilt whole by `joinedup rebuild-funding-rollup` after a bulk load.
    """

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="+"
    )
    place_path = models.CharField(_("place"), max_length=255, blank=True)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    phase = models.CharField(_("phase"), max_length=10, choices=Expenditure.Phase.choices)
    published = models.BooleanField(_("published"))
    cents = models.BigIntegerField(_("amount in cents"), default=0)
    fte_hundredths = models.BigIntegerField(_("full-time equivalents in hundredths"), default=0)
    lines = models.BigIntegerField(_("expenditure lines"), default=0)

    class Meta:
        verbose_name = _("spending rollup")
        verbose_name_plural = _("spending rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "program", "place_path", "phase", "published"],
                name="funding_one_rollup_row",
            )
        ]
        indexes = [
            # A prefix read uses the index on PostgreSQL whatever the collation (as
            # Allocation's place index).
            # It carries the columns the explorer sums, so a province's few thousand rows are
            # read from the index alone (explorer.totals).
            CoveringIndex(
                fields=["fiscal_year", "place_path"],
                name="funding_rollup_place",
                opclasses=["int2_ops", "varchar_pattern_ops"],
                covering=("published", "phase", "cents", "fte_hundredths", "program"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.place_path} {self.fiscal_year} {self.phase}"


# --- Places and pilots ---------------------------------------------------------------------


class Place(Named):
    """A place counted as a whole ("Total Place"): a jurisdiction of the registry, or a service
    area drawn as a polygon (GeoJSON, loaded from files) inside one.

    `shape` is a GeoJSON geometry (Polygon or MultiPolygon, longitude/latitude); a place made
    by the synthetic history is marked `synthetic` and says so wherever it is shown.
    """

    class Kind(models.TextChoices):
        JURISDICTION = "jurisdiction", _("Jurisdiction")
        AREA = "area", _("Service area")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=pgettext_lazy("funding", "jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The jurisdiction itself, or the one a service area lies in."),
    )
    shape = models.JSONField(_("shape (GeoJSON geometry)"), default=dict, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    source = models.CharField(_("loaded from"), max_length=200, blank=True)
    synthetic = models.BooleanField(_("synthetic"), default=False)
    #: A service area's postal areas (the first three characters of a postal code): the
    #: transactions of people living in them are the area's, as their residence records them.
    postal_codes = models.JSONField(_("postal areas"), default=list, blank=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["key"]


class PlaceFigure(models.Model):
    """One measure of one place for one month (the first day of the month)."""

    class Measure(models.TextChoices):
        COMPLETED = "completed", _("Completed transactions")
        WITHIN_STANDARD = "within_standard", _("Share within the service standard (%)")
        SATISFACTION = "satisfaction", _("Satisfaction (0 to 100)")
        TAKE_UP = "take_up", _("Take-up of benefits (%)")
        REFERRALS_COMPLETED = "referrals_completed", _("Referrals completed (%)")

    place = models.ForeignKey(
        Place, verbose_name=_("place"), on_delete=models.CASCADE, related_name="figures"
    )
    measure = models.CharField(_("measure"), max_length=40, choices=Measure.choices)
    period = models.DateField(_("month"), help_text=_("The first day of the month."))
    value = models.FloatField(_("value"))
    synthetic = models.BooleanField(_("synthetic"), default=False)

    class Meta:
        verbose_name = _("place figure")
        verbose_name_plural = _("place figures")
        ordering = ["place", "measure", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["place", "measure", "period"], name="funding_one_figure_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.place} {self.measure} {self.period:%Y-%m}"


class Pilot(Named):
    """A locally led pilot: what changes, in which places, since when, the measure watched,
    and the places it is compared with."""

    class Change(models.TextChoices):
        SERVICE_VERSION = "service_version", _("A new version of a service")
        BUNDLE = "bundle", _("A bundle of services")
        CHANNEL = "channel", _("A channel (such as a joint counter)")
        NAVIGATOR = "navigator", _("A navigator program")
        OTHER = "other", _("Another change")

    key = models.SlugField(_("key"), max_length=80, unique=True)
    change = models.CharField(_("what changes"), max_length=20, choices=Change.choices)
    description = models.JSONField(_("description"), default=dict, blank=True)
    treated = models.ManyToManyField(
        Place, verbose_name=_("places of the pilot"), related_name="pilots"
    )
    comparison = models.ManyToManyField(
        Place, verbose_name=_("comparison places"), related_name="compared_in", blank=True
    )
    starts_on = models.DateField(_("since"))
    measure = models.CharField(
        _("outcome measure"), max_length=40, choices=PlaceFigure.Measure.choices
    )
    injected_effect = models.FloatField(
        _("injected effect"),
        null=True,
        blank=True,
        help_text=_("For a synthetic pilot: the effect the synthetic history added."),
    )
    synthetic = models.BooleanField(_("synthetic"), default=False)

    @property
    def description_text(self) -> str:
        return pick(self.description)

    class Meta:
        verbose_name = _("pilot")
        verbose_name_plural = _("pilots")
        ordering = ["key"]
