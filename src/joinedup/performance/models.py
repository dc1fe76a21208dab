"""Performance records: the fact table of transactions, its rollups, costs, surveys, peers.

The fact table holds one row per transaction (an application from submission to decision, or
a draft that was abandoned), without any personal data: the service, where and by whom it was
delivered, the channel, the dates, the outcome, the clock and the cost. Rollups add those rows
up per service × delivering jurisdiction × agency × channel × day (and month) — everything
about a transaction filed under the day it ended, except its start — so that pages read
small tables; `rollups.recompute_rollups()` rebuilds them from the facts, to the same
figures. Money is kept in whole cents of the jurisdiction's currency, so sums are exact.
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from joinedup.federation.localization import pick
from joinedup.federation.models import Channel, validate_texts


class Outcome(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    NOT_ELIGIBLE = "not_eligible", _("Completed: not eligible")
    ABANDONED = "abandoned", _("Abandoned")


#: Outcomes that count as completed: the service did what it should, whatever the decision.
COMPLETIONS = (Outcome.COMPLETED, Outcome.NOT_ELIGIBLE)


class Transaction(models.Model):
    """One transaction with a service: started, then completed, refused or abandoned."""

    #: Where it came from, unique: "application:<uuid>", "draft:<uuid>", "history:<n>".
    source = models.CharField(_("source"), max_length=80, unique=True)
    service_key = models.CharField(_("service"), max_length=100)
    jurisdiction = models.CharField(_("delivering jurisdiction"), max_length=40)
    agency = models.CharField(_("delivering agency"), max_length=64)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    started_at = models.DateTimeField(_("started at"))
    #: The local dates (in the delivering jurisdiction's time zone) the rollups file it under.
    start_day = models.DateField(_("start day"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_day = models.DateField(_("end day"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS
    )
    #: Days the clock ran (business or calendar days, as the standard counts), net of pauses.
    elapsed_days = models.PositiveIntegerField(_("days elapsed"), null=True, blank=True)
    standard_days = models.PositiveIntegerField(_("service standard (days)"), null=True)
    met_standard = models.BooleanField(_("met the standard"), null=True)
    channel_cost = models.BigIntegerField(_("channel cost (cents)"), default=0)
    handle_seconds = models.BigIntegerField(_("staff handle time (seconds)"), default=0)
    handle_cost = models.BigIntegerField(_("staff cost (cents)"), default=0)
    #: Caseworkers' time on the application's work items (claimed to done, each item at most
    #: a working day), added as each item is done (see `casework`).
    casework_seconds = models.BigIntegerField(
        _("caseworker time (seconds)"), default=0, db_default=0
    )
    #: Where it was served (the office of the staff member who recorded it; blank online),
    #: and the client group it falls in, derived when it was recorded (see `groups`): never
    #: who the person is, only bands and kinds. Blank: not known or not applicable.
    office = models.CharField(_("office"), max_length=80, blank=True, default="")
    #: The place area (`PlaceArea`'s jurisdiction code: the application's place, or its
    #: nearest ancestor with a rural/urban class) it was delivered for; blank: none.
    place_area = models.CharField(
        _("place area"), max_length=40, blank=True, default="", db_default=""
    )
    #: Where the person lives, at the finest level known when it was recorded: the code of
    #: the jurisdiction of their residential address (else of the application's place), and
    #: the postal area (the first three characters of the postal code: a forward sortation
    #: area in Canada, a postcode district in Australia), never the address itself. Service
    #: areas are counted from postal areas; blank: not known.
    place = models.CharField(
        _("place where the person lives"), max_length=40, blank=True, default="", db_default=""
    )
    postal_area = models.CharField(
        _("postal area"), max_length=8, blank=True, default="", db_default=""
    )
    age_band = models.CharField(_("age band"), max_length=16, blank=True, default="")
    language = models.CharField(_("language of service"), max_length=8, blank=True, default="")
    area = models.CharField(_("rural or urban"), max_length=8, blank=True, default="")
    mandate = models.CharField(_("served under a mandate"), max_length=8, blank=True, default="")
    accessibility = models.CharField(
        _("accessibility needs declared"), max_length=16, blank=True, default=""
    )
    newcomer = models.CharField(_("newcomer"), max_length=8, blank=True, default="", db_default="")
    business_size = models.CharField(_("business size"), max_length=8, blank=True, default="")

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        indexes = [
            models.Index(fields=["end_day"], name="perf_txn_end_day"),
            models.Index(fields=["service_key", "jurisdiction"], name="perf_txn_service"),
        ]

    def __str__(self) -> str:
        return f"{self.service_key} {self.jurisdiction} {self.channel} {self.outcome}"


class RollupBase(models.Model):
    """Counts, sums and a turnaround histogram for one group of transactions."""

    service_key = models.CharField(max_length=100)
    jurisdiction = models.CharField(max_length=40)
    agency = models.CharField(max_length=64)
    channel = models.CharField(max_length=16)
    #: Transactions started (filed under the day they started).
    started = models.BigIntegerField(default=0)
    #: Transactions that ended (filed under the day they ended), by outcome.
    completed = models.BigIntegerField(default=0)
    not_eligible = models.BigIntegerField(default=0)
    abandoned = models.BigIntegerField(default=0)
    #: Completions that had a service standard, and those of them that met it.
    with_standard = models.BigIntegerField(default=0)
    met_standard = models.BigIntegerField(default=0)
    #: Completions' days elapsed: the sum, and how many took 0, 1, 2 … days (the last bucket
    #: holds every longer one), packed as 32-bit integers (see measures.pack); trailing
    #: empty buckets are left out.
    elapsed_sum = models.BigIntegerField(default=0)
    histogram = models.BinaryField(default=b"")
    #: Their costs: channel unit costs, and the staff time their interactions took.
    channel_cost = models.BigIntegerField(default=0)
    handle_seconds = models.BigIntegerField(default=0)
    handle_cost = models.BigIntegerField(default=0)

    COUNTERS = (
        "started",
        "completed",
        "not_eligible",
        "abandoned",
        "with_standard",
        "met_standard",
        "elapsed_sum",
        "channel_cost",
        "handle_seconds",
        "handle_cost",
    )

    class Meta:
        abstract = True


class DailyRollup(RollupBase):
    day = models.DateField()

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "service_key", "jurisdiction", "agency", "channel"],
                name="perf_one_daily_rollup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.service_key} {self.jurisdiction} {self.channel}"


class MonthlyRollup(RollupBase):
    """The same figures per calendar month (the first day names it): what pages read."""

    month = models.DateField()

    class Meta:
        verbose_name = _("monthly rollup")
        verbose_name_plural = _("monthly rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "service_key", "jurisdiction", "agency", "channel"],
                name="perf_one_monthly_rollup",
            )
        ]
        indexes = [models.Index(fields=["month", "service_key"], name="perf_monthly_service")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.service_key} {self.jurisdiction} {self.channel}"


class GroupRollup(RollupBase):
    """The monthly figures once more per client group: one dimension (age band, language…)
    and its value per row, so that a page reads any measure by one dimension at a time.
    Every transaction falls in exactly one value of each dimension, so the rows of one
    dimension add up to the monthly rollup."""

    month = models.DateField()
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("client group rollup")
        verbose_name_plural = _("client group rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "service_key",
                    "jurisdiction",
                    "agency",
                    "channel",
                    "dimension",
                    "value",
                ],
                name="perf_one_group_rollup",
            )
        ]
        indexes = [
            models.Index(fields=["dimension", "month"], name="perf_group_dimension"),
            models.Index(fields=["dimension", "value", "month"], name="perf_group_value"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.service_key} {self.dimension}={self.value}"


class PlaceArea(models.Model):
    """Whether a place (a jurisdiction, and the places under it unless they say otherwise)
    is rural or urban, as the statistical agency classifies it."""

    class Area(models.TextChoices):
        URBAN = "urban", _("Urban")
        RURAL = "rural", _("Rural")

    jurisdiction = models.CharField(_("jurisdiction"), max_length=40, unique=True)
    area = models.CharField(_("rural or urban"), max_length=8, choices=Area.choices)

    class Meta:
        verbose_name = _("rural or urban place")
        verbose_name_plural = _("rural or urban places")
        ordering = ["jurisdiction"]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.area}"


class Interaction(models.Model):
    """Assisted work reported by an `org.joinedup.interaction.recorded` event."""

    event_id = models.CharField(_("event"), max_length=64, unique=True)
    occurred_at = models.DateTimeField(_("when"))
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=16)
    agency = models.CharField(_("agent's agency"), max_length=64)
    office = models.CharField(_("office"), max_length=80, blank=True)
    seconds = models.BigIntegerField(_("handle time (seconds)"))
    cost = models.BigIntegerField(_("cost (cents)"))

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")

    def __str__(self) -> str:
        return f"{self.channel} {self.agency} {self.day} ({self.seconds} s)"


class InteractionShare(models.Model):
    """The part of an interaction's time and cost that falls on one transaction; with no
    transaction (nothing touched), it is an overhead of the agent's agency for the month."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="shares")
    txn = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField()
    service_key = models.CharField(max_length=100, blank=True)
    jurisdiction = models.CharField(max_length=40, blank=True)
    agency = models.CharField(max_length=64)
    channel = models.CharField(max_length=16)
    seconds = models.BigIntegerField()
    cost = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.service_key or self.agency} {self.day} ({self.seconds} s)"


class ChannelUnitCost(models.Model):
    """What one transaction costs in a channel (processing, postage, a counter visit), in a
    jurisdiction (blank: everywhere), from a date on."""

    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=40, blank=True, help_text=_("Blank: any jurisdiction.")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    amount = models.BigIntegerField(_("cost per transaction (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default="CAD")
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("channel unit cost")
        verbose_name_plural = _("channel unit costs")
        ordering = ["jurisdiction", "channel", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.jurisdiction or '*'} {self.channel}: {self.amount / 100:.2f} {self.currency}"


class StaffCostRate(models.Model):
    """The full cost of an hour of an agency's staff time (salary, benefits, accommodation)."""

    agency = models.CharField(_("agency"), max_length=64)
    hourly = models.BigIntegerField(_("cost per hour (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default="CAD")
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("staff cost rate")
        verbose_name_plural = _("staff cost rates")
        ordering = ["agency", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.agency}: {self.hourly / 100:.2f} {self.currency}/h"


class OverheadPool(models.Model):
    """A shared cost of an agency for a month (IT, accommodation, a call centre), apportioned
    to its services by their share of the activity."""

    class Basis(models.TextChoices):
        TRANSACTIONS = "transactions", _("Share of transactions")
        HANDLE_TIME = "handle_time", _("Share of staff handle time")

    agency = models.CharField(_("agency"), max_length=64)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.BigIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default="CAD")
    basis = models.CharField(
        _("apportioned by"), max_length=16, choices=Basis.choices, default=Basis.TRANSACTIONS
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("overhead pool")
        verbose_name_plural = _("overhead pools")
        ordering = ["agency", "-month"]

    def __str__(self) -> str:
        return f"{self.agency} {self.month:%Y-%m}: {self.amount / 100:.2f} {self.currency}"


class SurveyInvitation(models.Model):
    """An invitation to rate a completed transaction. It holds the application only so the
    person can find it in the portal; it is deleted when answered or expired, and the
    response never refers to it. The emailed token is stored only as its hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    application_id = models.UUIDField(null=True, blank=True, db_index=True)
    event_id = models.CharField(max_length=64, unique=True)
    service_key = models.CharField(max_length=100)
    jurisdiction = models.CharField(max_length=40)
    channel = models.CharField(max_length=16)
    #: The client groups of the transaction ({dimension: value}, as the transaction records
    #: them), so that an answer adds to its groups' survey sums; it goes with the invitation.
    groups = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")

    def __str__(self) -> str:
        return f"{self.service_key} {self.jurisdiction} ({self.created_at:%Y-%m-%d})"


class SurveyResponse(models.Model):
    """One anonymous answer: the service, jurisdiction, channel and month, nothing else."""

    class Mode(models.TextChoices):
        PORTAL = "portal", _("In the portal")
        EMAIL = "email", _("From an e-mail")

    month = models.DateField()
    service_key = models.CharField(max_length=100)
    jurisdiction = models.CharField(max_length=40)
    channel = models.CharField(max_length=16)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    satisfaction = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    timeliness = models.PositiveSmallIntegerField(null=True, blank=True)
    competence = models.PositiveSmallIntegerField(null=True, blank=True)
    courtesy = models.PositiveSmallIntegerField(null=True, blank=True)
    fairness = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.PositiveSmallIntegerField(null=True, blank=True)
    trust = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [models.Index(fields=["service_key", "month"], name="perf_survey_service")]

    def __str__(self) -> str:
        return f"{self.service_key} {self.jurisdiction} {self.month:%Y-%m}"


class SurveyRollup(models.Model):
    """Invitations sent and answers given per service × jurisdiction × channel × month.

    `invited` is counted when invitations go out (they are discarded later, so it is kept
    here); the answer sums are rebuilt from the responses by a recomputation."""

    month = models.DateField()
    service_key = models.CharField(max_length=100)
    jurisdiction = models.CharField(max_length=40)
    channel = models.CharField(max_length=16)
    invited = models.BigIntegerField(default=0)
    responses = models.BigIntegerField(default=0)
    #: {"satisfaction": [sum, count], "timeliness": [sum, count], …}
    sums = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("survey rollup")
        verbose_name_plural = _("survey rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "service_key", "jurisdiction", "channel"],
                name="perf_one_survey_rollup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.service_key} {self.jurisdiction} {self.channel}"


class SurveyGroupRollup(models.Model):
    """Invitations and answer sums once more per client group: one dimension and its value
    per row (service × jurisdiction × channel × month × dimension × value).

    The answers themselves carry no group (a response is kept with its service, jurisdiction,
    channel and month only), so these sums are kept up as invitations go out and answers come
    in, from the groups the invitation held; a recomputation of the rollups leaves them as
    they are. Each dimension's rows add up to the survey rollup's."""

    month = models.DateField()
    service_key = models.CharField(max_length=100)
    jurisdiction = models.CharField(max_length=40)
    channel = models.CharField(max_length=16)
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=40, blank=True)
    invited = models.BigIntegerField(default=0)
    responses = models.BigIntegerField(default=0)
    #: {"satisfaction": [sum, count], "timeliness": [sum, count], …}
    sums = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("client group survey rollup")
        verbose_name_plural = _("client group survey rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "service_key", "jurisdiction", "channel", "dimension", "value"],
                name="perf_one_survey_group_rollup",
            )
        ]
        indexes = [models.Index(fields=["dimension", "month"], name="perf_survey_group_dim")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.service_key} {self.dimension}={self.value}"


class PeerGroup(models.Model):
    """Jurisdictions an analyst chose to compare with one another (like size, like region)."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    names = models.JSONField(_("names"), default=dict, validators=[validate_texts])
    jurisdictions = models.JSONField(
        _("jurisdictions"),
        default=list,
        help_text=_('Jurisdiction codes, e.g. ["CA-ON", "CA-QC"].'),
    )

    class Meta:
        verbose_name = _("peer group")
        verbose_name_plural = _("peer groups")
        ordering = ["key"]

    @property
    def name(self) -> str:
        return pick(self.names) or self.key

    def __str__(self) -> str:
        return self.name
