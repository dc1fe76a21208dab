"""Assisted contacts (interactions), call tasks, appointments, birth notices from partners
and the API clients' rate buckets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from joinedup.federation.models import Agency, Office, Service
from joinedup.identity.models import ApiClient, Person


class Interaction(models.Model):
    """One assisted contact: the unit of assisted work, and of its cost."""

    class Channel(models.TextChoices):
        COUNTER = "counter", _("In person")
        PHONE = "phone", _("By phone")
        VIDEO = "video", _("By video call")

    class Outcome(models.TextChoices):
        OPEN = "", _("Still open")
        RESOLVED = "resolved", _("Answered or resolved")
        SUBMITTED = "submitted", _("Application submitted")
        TRANSFERRED = "transferred", _("Transferred to another agency")
        CALLBACK = "callback", _("Call-back arranged")
        REFERRED = "referred", _("Referred elsewhere")
        NOT_VERIFIED = "not_verified", _("Caller could not be verified")
        ABANDONED = "abandoned", _("Ended without an outcome")

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agent's agency"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("agent's role"), max_length=20)
    office = models.ForeignKey(
        Office,
        verbose_name=_("office"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person served"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default="", blank=True
    )
    applications = models.ManyToManyField(
        "delivery.Application", verbose_name=_("applications touched"), blank=True
    )
    #: Agencies whose services were delivered in this contact under joint delivery.
    served_for = models.JSONField(_("served for agencies"), default=list, blank=True)
    # Phone: caller verification (a one-time code to a verified contact point).
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_to = models.CharField(_("code sent to"), max_length=40, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(_("caller verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["agency", "channel", "started_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def minutes(self) -> float:
        end = self.ended_at or timezone.now()
        return round((end - self.started_at).total_seconds() / 60, 2)


class CallTask(models.Model):
    """A warm transfer or a call-back waiting in an agency's queue, with the call's context."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Warm transfer")
        CALLBACK = "callback", _("Call-back")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    agency = models.ForeignKey(
        Agency, verbose_name=_("queue of"), on_delete=models.PROTECT, related_name="+"
    )
    from_agency = models.ForeignKey(
        Agency, verbose_name=_("from agency"), on_delete=models.PROTECT, related_name="+"
    )
    interaction = models.ForeignKey(
        Interaction, verbose_name=_("call"), on_delete=models.PROTECT, related_name="tasks"
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    summary = models.TextField(_("summary"))
    context = models.JSONField(_("call context"), default=dict)
    phone = models.CharField(_("number to call back"), max_length=40, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")
        ordering = ["status", "due_at", "created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.agency_id} #{self.pk}"


class Slot(models.Model):
    """A time at an office with room for `capacity` appointments."""

    office = models.ForeignKey(
        Office, verbose_name=_("office"), on_delete=models.CASCADE, related_name="slots"
    )
    starts_at = models.DateTimeField(_("starts at"))
    minutes = models.PositiveSmallIntegerField(_("length in minutes"), default=15)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)

    class Meta:
        verbose_name = _("appointment slot")
        verbose_name_plural = _("appointment slots")
        ordering = ["office", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["office", "starts_at"], name="one_slot_per_time"),
        ]

    def __str__(self) -> str:
        return f"{self.office.key} {self.starts_at:%Y-%m-%d %H:%M}"


class Appointment(models.Model):
    """A booked seat of a slot; the seat number makes overbooking impossible."""

    class Status(models.TextChoices):
        # An appointment (un rendez-vous) is masculine in French: its own context.
        BOOKED = "booked", pgettext_lazy("appointment status", "Booked")
        CANCELLED = "cancelled", pgettext_lazy("appointment status", "Cancelled")
        ATTENDED = "attended", pgettext_lazy("appointment status", "Attended")
        NO_SHOW = "no_show", pgettext_lazy("appointment status", "Did not come")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    seat = models.PositiveSmallIntegerField(_("seat"))
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("booked through"), max_length=16)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    created_at = models.DateTimeField(_("booked at"), default=timezone.now)
    #: The counter visit or call in which staff booked it (none when booked online).
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("booked during"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            # A seat stays taken once the person came (or did not): only cancelling frees it.
            models.UniqueConstraint(
                fields=["slot", "seat"],
                condition=~models.Q(status="cancelled"),
                name="one_booking_per_seat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slot_id} seat {self.seat}"


class BirthNotice(models.Model):
    """A hospital's notice of a birth, sent by its system; matched with the registration."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    notice_id = models.CharField(_("the sender's reference"), max_length=100)
    mother_given_names = models.CharField(max_length=100)
    mother_family_name = models.CharField(max_length=100)
    child_birth_date = models.DateField()
    child_sex = models.CharField(max_length=8, blank=True)
    hospital = models.CharField(max_length=200)
    province = models.CharField(max_length=16)
    received_at = models.DateTimeField(default=timezone.now)
    registration = models.OneToOneField(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="birth_notice",
    )
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice of birth")
        verbose_name_plural = _("notices of birth")
        constraints = [
            models.UniqueConstraint(fields=["client", "notice_id"], name="one_notice_per_id"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}: {self.notice_id}"


class RateBucket(models.Model):
    """A token bucket per API client: `tokens` left at `updated_at`, refilled over time."""

    client = models.OneToOneField(ApiClient, on_delete=models.CASCADE, related_name="+")
    tokens = models.FloatField()
    updated_at = models.DateTimeField()
    #: Requests per minute and burst for this client; empty: the platform's defaults.
    per_minute = models.PositiveIntegerField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("API rate bucket")
        verbose_name_plural = _("API rate buckets")

    def __str__(self) -> str:
        return f"{self.client_id}: {self.tokens:.1f}"
