"""Back-office shared services: service levels of shared-service agreements, requests made
by client agencies, breach alerts, monthly statements (chargeback) and joint procurements.

A request is a delivery `Application` whose applicant is the client agency, worked by the
provider with the existing engine; `Request` only adds what the agreement says of it (the
service level, the price at the time it was made, who asked, the employee it concerns).
Money is `Decimal` throughout: a statement reconciles to the cent with its requests.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from joinedup.delivery.models import Application, WorkItem
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Agreement, Service
from joinedup.identity.models import Person

SHARE = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]


class ServiceLevel(models.Model):
    """One service of a shared-service agreement: its levels, price and forecast volume."""

    class DayKind(models.TextChoices):
        BUSINESS = "business", _("business days")
        CALENDAR = "calendar", _("calendar days")

    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.CASCADE,
        related_name="service_levels",
        limit_choices_to={"kind": Agreement.Kind.SHARED_SERVICE},
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+"
    )
    response_hours = models.PositiveIntegerField(
        _("response time (business hours)"),
        null=True,
        blank=True,
        help_text=_("Hours of the provider's working day until someone takes the request up."),
    )
    resolution_days = models.PositiveIntegerField(_("resolution time (days)"))
    day_kind = models.CharField(
        _("counted in"), max_length=10, choices=DayKind.choices, default=DayKind.BUSINESS
    )
    target = models.DecimalField(
        _("share to resolve within the level"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.900"),
        validators=SHARE,
    )
    availability_target = models.DecimalField(
        _("availability target"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=SHARE,
        help_text=_("For a running service such as hosting: 0.9990 for 99.9 %."),
    )
    unit_price = models.DecimalField(
        _("price per request"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="CAD")
    forecast_monthly_volume = models.PositiveIntegerField(_("forecast requests a month"), default=0)
    credit_rate = models.DecimalField(
        _("service credit"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.000"),
        validators=SHARE,
        help_text=_(
            "Share of the month's charge for this service credited back when fewer requests "
            "than the target were resolved within the level."
        ),
    )
    availability_credit_rate = models.DecimalField(
        _("availability credit"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.000"),
        validators=SHARE,
        help_text=_(
            "Share of the month's charge for this service credited back when the service was "
            "available less than its availability target over the month."
        ),
    )

    class Meta:
        verbose_name = _("service level")
        verbose_name_plural = _("service levels")
        ordering = ["agreement__key", "service__key"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "service"], name="one_level_per_service"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} — {self.service}"


class Request(models.Model):
    """What the agreement says of one request (the application carries the rest)."""

    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="shared_request",
    )
    client = models.ForeignKey(
        Agency, verbose_name=_("client agency"), on_delete=models.PROTECT, related_name="+"
    )
    provider = models.ForeignKey(
        Agency, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.ForeignKey(
        ServiceLevel, verbose_name=_("service level"), on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("received at"), db_index=True)
    response_due = models.DateTimeField(_("response due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("taken up at"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("client satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    #: The employee the request concerns (a pay change, an onboarding's pay file): a person of
    #: the registry, whose data anyone reads only through the data gate (`requests.employee_facts`).
    employee = models.ForeignKey(
        Person,
        verbose_name=_("employee concerned"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: Set when this request is a dispute of a statement line.
    disputes = models.ForeignKey(
        "StatementLine",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dispute_requests",
    )

    class Meta:
        verbose_name = _("shared-service request")
        verbose_name_plural = _("shared-service requests")
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["provider", "client", "submitted_at"], name="request_month"),
        ]

    def __str__(self) -> str:
        return self.application.reference


#: At most a working day (8 hours) in one entry of recorded time.
MAX_ENTRY_MINUTES = 8 * 60


class TimeEntry(models.Model):
    """Minutes a provider's staff member says they spent on one task of a request. Cost
    recovery prices these instead of the estimate from the task's times."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="time_entries")
    task = models.ForeignKey(
        WorkItem, verbose_name=_("task"), on_delete=models.CASCADE, related_name="+"
    )
    minutes = models.PositiveIntegerField(
        _("minutes"), validators=[MinValueValidator(1), MaxValueValidator(MAX_ENTRY_MINUTES)]
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("time recorded")
        verbose_name_plural = _("time recorded")
        ordering = ["logged_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gte=1, minutes__lte=MAX_ENTRY_MINUTES),
                name="time_entry_minutes_in_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.minutes} min"


class ClientSurveyAnswer(models.Model):
    """A client agency's answer to the satisfaction survey, kept per client agency: the
    agency is the client, not a person. Never the request nor who answered, so no answer
    leads back to a requester; the dashboard shows a client's figures only from
    `dashboard.SURVEY_MIN_ANSWERS` answers."""

    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"))
    satisfaction = models.PositiveSmallIntegerField(
        _("overall satisfaction"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    timeliness = models.PositiveSmallIntegerField(
        _("timeliness"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    class Meta:
        verbose_name = _("client agency's survey answer")
        verbose_name_plural = _("client agencies' survey answers")
        indexes = [models.Index(fields=["provider", "month"], name="client_survey_month")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.month:%Y-%m}"


class Outage(models.Model):
    """A time a running service (hosting) was unavailable to the clients of an agreement,
    recorded by the provider; availability against the level's target is measured from it."""

    level = models.ForeignKey(
        ServiceLevel, verbose_name=_("service level"), on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(_("unavailable from"))
    ended_at = models.DateTimeField(_("available again at"))
    description = models.CharField(_("what happened"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gt=models.F("started_at")),
                name="outage_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level_id}: {self.started_at:%Y-%m-%d %H:%M}"


class BreachAlert(models.Model):
    """A request past its service level, for one supervisor of the provider."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="alerts")
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("raised at"), default=timezone.now)

    class Meta:
        verbose_name = _("breach alert")
        verbose_name_plural = _("breach alerts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "supervisor"], name="one_alert_each"),
        ]

    def __str__(self) -> str:
        return f"{self.request} → {self.supervisor}"


class Statement(models.Model):
    """A client agency's monthly chargeback statement from one provider."""

    provider = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="statements")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    currency = models.CharField(_("currency"), max_length=3)
    charges = models.DecimalField(_("charges"), max_digits=14, decimal_places=2)
    credits = models.DecimalField(_("service credits"), max_digits=14, decimal_places=2)
    total = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    issued_at = models.DateTimeField(
        pgettext_lazy("shared services", "issued at"), default=timezone.now
    )

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "client__key"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "client", "month"], name="one_statement_a_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.month:%Y-%m}"


class StatementLine(models.Model):
    """One service on a statement: the requests, how many met the level, amount, credit."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting the client")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISPUTED = "disputed", _("Disputed")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    level = models.ForeignKey(ServiceLevel, on_delete=models.PROTECT, related_name="+")
    requests = models.PositiveIntegerField(_("requests"))
    within_level = models.PositiveIntegerField(_("resolved within the level"))
    resolved = models.PositiveIntegerField(_("resolved"))
    amount = models.DecimalField(_("charge"), max_digits=14, decimal_places=2)
    credit = models.DecimalField(
        _("service credit"),
        max_digits=14,
        decimal_places=2,
        help_text=_("All the line's credits: for resolution and for availability."),
    )
    resolution_target = models.DecimalField(
        _("share to resolve within the level"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_(
            "The level's target when the line was issued (a later change of the level does "
            "not rewrite the line)."
        ),
    )
    availability = models.DecimalField(
        _("availability over the month"), max_digits=6, decimal_places=5, null=True, blank=True
    )
    availability_target = models.DecimalField(
        _("availability target"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    unavailable_minutes = models.PositiveIntegerField(
        _("minutes unavailable"), null=True, blank=True
    )
    availability_credit = models.DecimalField(
        _("availability credit"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    status = models.CharField(
        pgettext_lazy("shared services", "status"),
        max_length=12,
        choices=Status.choices,
        default=Status.OPEN,
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "level__service__key"]

    def __str__(self) -> str:
        return f"{self.statement}: {self.level.service}"

    @property
    def service_name(self) -> str:
        return pick(self.level.service.names)

    @property
    def resolution_credit(self) -> Decimal:
        """The part of the credit for requests resolved late (the rest is availability's)."""
        return self.credit - self.availability_credit

    @property
    def target_issued(self) -> Decimal:
        """The share to resolve within the level the line was issued with."""
        if self.resolution_target is not None:
            return self.resolution_target
        return self.level.target

    @property
    def availability_missed(self) -> bool:
        return (
            self.availability is not None
            and self.availability_target is not None
            and self.availability < self.availability_target
        )

    @property
    def level_met_share(self) -> Decimal | None:
        if not self.resolved:
            return None
        return (Decimal(self.within_level) / Decimal(self.resolved)).quantize(Decimal("0.001"))


class JointProcurement(models.Model):
    """Several agencies pool a need; the lead agency runs the procurement."""

    names = models.JSONField(_("title"), default=dict)
    need = models.JSONField(_("pooled need"), default=dict)
    lead = models.ForeignKey(
        Agency, verbose_name=_("lead agency"), on_delete=models.PROTECT, related_name="+"
    )
    estimated_value = models.DecimalField(_("estimated value"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CAD")
    created_at = models.DateTimeField(default=timezone.now)
    request = models.ForeignKey(
        Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("joint procurement")
        verbose_name_plural = _("joint procurements")
        ordering = ["-created_at"]

    @property
    def name(self) -> str:
        return pick(self.names)

    @property
    def need_text(self) -> str:
        return pick(self.need)

    def __str__(self) -> str:
        return self.name


class Participant(models.Model):
    """One agency's share of a joint procurement and its signed commitment."""

    procurement = models.ForeignKey(
        JointProcurement, on_delete=models.CASCADE, related_name="participants"
    )
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT)
    share = models.DecimalField(_("share"), max_digits=5, decimal_places=4, validators=SHARE)
    commitment = models.DecimalField(_("commitment"), max_digits=14, decimal_places=2)
    signed_on = models.DateField(
        pgettext_lazy("shared services", "signed on"), null=True, blank=True
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["procurement", "agency__key"]
        constraints = [
            models.UniqueConstraint(fields=["procurement", "agency"], name="participant_once"),
            models.CheckConstraint(
                condition=models.Q(share__gte=0, share__lte=1), name="participant_share_is_share"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procurement}: {self.agency}"


def fold(text: str | None) -> str:
    """Lower case, accents and punctuation dropped, spaces single: `Côté-Smith` → `cote smith`
    (so that `cote`, `Côté` and `CÔTÉ` find the same employee on any database)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w ]|_", " ", plain).split())


class Employee(models.Model):
    """A client agency's employee as the back office knows them: a person of the registry
    that the agency named in one of its requests. `name_key` is their names folded (no case,
    no accents) for the search by name; the names themselves are read only through the data
    gate. Kept when a request names them, so it follows a renaming at the next request."""

    client = models.ForeignKey(
        Agency, verbose_name=_("client agency"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("employee"), on_delete=models.CASCADE, related_name="+"
    )
    name_key = models.CharField(_("name for the search"), max_length=600, db_index=True)
    first_named_at = models.DateTimeField(_("first named at"), auto_now_add=True)

    class Meta:
        verbose_name = _("employee of a client agency")
        verbose_name_plural = _("employees of client agencies")
        ordering = ["name_key", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["client", "person"], name="employee_once_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.person_id}"


def name_key_of(person: Person) -> str:
    """What the search by name matches: given, preferred and family names, folded."""
    return fold(f"{person.given_names} {person.preferred_name} {person.family_name}")


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
