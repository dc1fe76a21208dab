"""Delivery records: service versions, applications and their timelines, work items, clocks,
documents, payments, notifications and agency back-ends.

An application keeps the version of the service it started with (form and process) for its
whole life, so deploying a new version never changes a case already in flight. Its process
state is stored as JSON without the process definition, which is kept once per version.
"""

import json
import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Channel, Jurisdiction, Offering, Service
from joinedup.identity.models import Business, Person


class OrderedJSONField(models.TextField):
    """JSON kept as text, so that objects keep the order of their keys.

    PostgreSQL's jsonb stores an object's keys in an order of its own (shortest first), and a
    form definition's order is meaningful: the parts of an address, the questions of a
    repeating group and the order of the answers are shown as they were written."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValidationError(_("Enter valid JSON.")) from None
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""

    def formfield(self, **kwargs):
        return models.Field.formfield(self, **{"form_class": forms.JSONField, **kwargs})


class ServiceVersion(models.Model):
    """One deployed version of a service: its form definition and its BPMN process."""

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    form = OrderedJSONField(_("form definition"), default=dict)
    bpmn = models.TextField(_("BPMN process"))
    process_id = models.CharField(_("process id"), max_length=100)
    #: The parsed process definition, serialised once at deployment and shared by every
    #: application of this version (instances store only their own state).
    spec = models.JSONField(_("parsed process"), default=dict, editable=False)
    checksum = models.CharField(_("checksum"), max_length=64, editable=False)
    place_field = models.CharField(
        _("place field"),
        max_length=100,
        blank=True,
        help_text=_(
            "The form field whose value is the jurisdiction code that decides which agency is "
            "competent; blank: where the applicant lives."
        ),
    )
    money_back_guarantee = models.BooleanField(
        _("money-back guarantee"),
        default=False,
        help_text=_("Refund the fee automatically when the service standard is missed."),
    )
    notifications = models.JSONField(
        _("notification templates"),
        default=dict,
        blank=True,
        help_text=_('{"event": {"en": {"subject": …, "body": …}, "fr": {…}}}'),
    )
    documents = models.JSONField(
        _("document templates"),
        default=dict,
        blank=True,
        help_text=_('{"template-key": {"title": {"en": …, "fr": …}, "facts": [...]}}'),
    )
    active = models.BooleanField(
        _("taking new applications"),
        default=True,
        help_text=_("New applications use the highest active version."),
    )
    source = models.CharField(_("source"), max_length=300, blank=True)
    deployed_at = models.DateTimeField(_("deployed at"), default=timezone.now)

    class Meta:
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")
        ordering = ["service__key", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="one_number_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.service.key} v{self.number}"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Received")
    IN_PROGRESS = "in_progress", _("Being worked on")
    WAITING = "waiting_for_applicant", _("Waiting for you")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", pgettext_lazy("application status", "Refused")
    REFERRED = "referred", _("Referred to another agency")
    WITHDRAWN = "withdrawn", pgettext_lazy("application status", "Withdrawn")
    NEEDS_ATTENTION = "needs_attention", _("Held up: our staff are looking into it")


#: Statuses in which the application is finished: its clock has stopped for good.
CLOSED_STATUSES = frozenset(
    {
        ApplicationStatus.APPROVED,
        ApplicationStatus.REFUSED,
        ApplicationStatus.REFERRED,
        ApplicationStatus.WITHDRAWN,
    }
)


class Application(models.Model):
    """One party's request for one service, worked by one agency: a person's, a business's
    or (a shared service's request) an agency's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="applications"
    )
    version = models.ForeignKey(
        ServiceVersion,
        verbose_name=_("service version"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    # The applicant is a party: a person, a business or an agency (a shared service's
    # client); exactly one of the three is set (see `party` for it in words).
    applicant = models.ForeignKey(
        Person,
        verbose_name=_("applicant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant_business = models.ForeignKey(
        Business,
        verbose_name=_("applicant business"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant_agency = models.ForeignKey(
        Agency,
        verbose_name=_("applicant agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_made",
    )
    acting_person = models.ForeignKey(
        Person,
        verbose_name=_("submitted by (person)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who filled it in, when someone applied for the applicant."),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by (account)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, default="en")
    data = models.JSONField(_("answers"), default=dict)
    place = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The place that decided which agency is competent."),
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("delivering agency"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    offering = models.ForeignKey(
        Offering, verbose_name=_("offering"), null=True, on_delete=models.SET_NULL
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
        db_index=True,
    )
    outcome_reasons = models.TextField(_("reasons for the decision"), blank=True)
    submitted_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The clock (see clock.py): the standard, the due date and whether it was met.
    standard_days = models.PositiveIntegerField(_("service standard (days)"), null=True)
    standard_day_kind = models.CharField(
        _("counted in"), max_length=10, choices=Service.DayKind.choices, default="business"
    )
    due_date = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    paused_days = models.PositiveIntegerField(_("days paused"), default=0)
    met_standard = models.BooleanField(_("met the standard"), null=True)
    breached_at = models.DateTimeField(_("standard missed at"), null=True, blank=True)
    fee_amount = models.DecimalField(_("fee"), max_digits=10, decimal_places=2, default=0)
    fee_currency = models.CharField(_("currency"), max_length=3, blank=True)
    # Idempotency: one application per (who submitted, key), whatever the retries.
    idempotency_scope = models.CharField(max_length=40, blank=True, editable=False)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=200, blank=True, editable=False
    )
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # The process instance's own state (JSON, without the process definition).
    process_state = models.TextField(blank=True, editable=False)
    process_error = models.TextField(_("process error"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_application_per_idempotency_key",
            ),
            models.CheckConstraint(
                condition=(
                    Q(applicant__isnull=False)
                    & Q(applicant_business__isnull=True)
                    & Q(applicant_agency__isnull=True)
                )
                | (
                    Q(applicant__isnull=True)
                    & Q(applicant_business__isnull=False)
                    & Q(applicant_agency__isnull=True)
                )
                | (
                    Q(applicant__isnull=True)
                    & Q(applicant_business__isnull=True)
                    & Q(applicant_agency__isnull=False)
                ),
                name="application_has_one_party",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status"], name="application_agency_status"),
            models.Index(
                fields=["applicant_agency", "submitted_at"], name="application_client_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.service.key})"

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class StatusChange(models.Model):
    """One step of an application's timeline: who changed its status, when, and why."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("at"), default=timezone.now)
    from_status = models.CharField(_("from"), max_length=24, blank=True)
    to_status = models.CharField(_("to"), max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("by (as shown)"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "pk"]

    @property
    def to_label(self) -> str:
        return str(ApplicationStatus(self.to_status).label) if self.to_status else ""

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class ClockPause(models.Model):
    """A time during which the clock stood still: the agency was waiting for the applicant."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="pauses")
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    days = models.PositiveIntegerField(_("days"), default=0)

    class Meta:
        verbose_name = _("clock pause")
        verbose_name_plural = _("clock pauses")
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d} – {self.ended_at or ''}"


class WorkItem(models.Model):
    """A task of a process waiting for someone: staff of an agency in a role, or the applicant."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting")
        CLAIMED = "claimed", _("Being worked on")
        FORWARDED = "forwarded", _("Sent to the agency's own system")
        COMPLETED = "completed", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class RulesDeparture(models.TextChoices):
        """Why a decision departs from what the rules compute (decision support)."""

        FACTS = "facts", _("Facts the answers do not show (checked evidence)")
        DISCRETION = "discretion", _("Discretion the law gives the decision maker")
        RULES = "rules", _("The rules do not match the law or the policy in force")
        OTHER = "other", _("Another reason")

    #: Lane name for the applicant's own tasks (send more information, pay the fee).
    APPLICANT = "applicant"

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="work_items"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="work_items")
    role = models.CharField(_("role"), max_length=20, db_index=True)
    task_id = models.UUIDField(_("process task"))
    task_name = models.CharField(_("step"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, default="review")
    decisions = models.JSONField(_("possible decisions"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("work item", "claimed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_by_label = models.CharField(max_length=200, blank=True)
    decision = models.CharField(_("decision"), max_length=40, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    message = models.TextField(
        _("message to the applicant"),
        blank=True,
        help_text=_("What the applicant is asked for (more information)."),
    )
    # Decision support: whether the decision followed what the rules compute (None: not
    # recorded, as for a service no rule grants), and why not.
    follows_rules = models.BooleanField(_("follows the rules"), null=True, blank=True)
    rules_departure = models.CharField(
        _("why it departs from the rules"),
        max_length=20,
        choices=RulesDeparture.choices,
        blank=True,
    )
    rules_note = models.TextField(_("note on the departure from the rules"), blank=True)
    rules_per_month = models.DecimalField(
        _("amount per month the rules computed"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    #: The rule packages and versions that computed it ("ca 2026.7.0"), kept with the
    #: decision so that a report can tell one version of the law's code from the next.
    rules_version = models.CharField(_("version of the rules"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "task_id"], name="one_item_per_task"),
        ]
        indexes = [models.Index(fields=["agency", "status", "role"], name="workitem_queue")]

    def __str__(self) -> str:
        return f"{self.title} — {self.application.reference}"

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.OPEN, self.Status.CLAIMED, self.Status.FORWARDED}


class Document(models.Model):
    """A certificate or letter issued on an application: signed facts, rendered as PDF/UA."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    issuer = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="documents")
    template = models.CharField(_("kind"), max_length=80)
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=200)
    facts = models.JSONField(_("certified facts"), default=dict)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    key_id = models.CharField(_("signing key"), max_length=32)
    signature = models.CharField(_("signature"), max_length=200)
    pdf = models.FileField(_("PDF"), upload_to="documents/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_signature = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.CharField(_("why revoked"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class Payment(models.Model):
    """A fee paid (or refunded) through a payment provider."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Payment failed")
        REFUNDED = "refunded", _("Refunded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(_("provider"), max_length=40)
    intent_id = models.CharField(_("payment intent"), max_length=100, unique=True)
    checkout_url = models.CharField(_("checkout page"), max_length=500, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    failure_reason = models.CharField(_("why it failed"), max_length=300, blank=True)
    refund_id = models.CharField(_("refund"), max_length=100, blank=True)
    refund_reason = models.CharField(_("why refunded"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class PaymentWebhook(models.Model):
    """A provider's webhook event, kept so that a redelivered event is applied only once."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="one_webhook_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class SandboxIntent(models.Model):
    """The sandbox processor's own books: what a real processor would keep on its side."""

    id = models.CharField(primary_key=True, max_length=40)
    amount = models.PositiveIntegerField(help_text="in cents")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=30, default="requires_payment_method")
    description = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    refunded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class Notification(models.Model):
    """One message to a person, by e-mail or text message, with its delivery status."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", pgettext_lazy("notification status", "Delivered")
        FAILED = "failed", _("Failed")

    # Indexed where set only (`Meta.indexes`): the notices of a population run's offers, by
    # the hundred thousand, name no application.
    application = models.ForeignKey(
        Application,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=60)
    dedupe_key = models.CharField(max_length=100)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(_("provider reference"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(
        pgettext_lazy("notification", "delivered at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key", "channel", "recipient"], name="one_notification_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["application"],
                name="notification_application_set",
                condition=models.Q(application__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient} ({self.status})"


class SandboxSms(models.Model):
    """Text messages the sandbox SMS provider 'sent' (what a real gateway would deliver)."""

    id = models.CharField(primary_key=True, max_length=40)
    to = models.CharField(max_length=40)
    body = models.TextField()
    status = models.CharField(max_length=12, default="accepted")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class Draft(models.Model):
    """Answers saved before submitting, to resume later: a person's own (`applicant`), or a
    business's, saved by the representative who fills it (`applicant_business`; the back
    office's orders for a business)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts"
    )
    applicant = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    applicant_business = models.ForeignKey(
        Business, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="drafts")
    data = models.JSONField(default=dict)
    page = models.CharField(max_length=60, blank=True)
    submitted = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(applicant__isnull=False, applicant_business__isnull=True)
                | Q(applicant__isnull=True, applicant_business__isnull=False),
                name="draft_has_one_party",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} draft"


class Upload(models.Model):
    """A file attached to an answer, checked for size and type when it arrived."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to="uploads/%Y/%m/")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class AgencyBackend(models.Model):
    """How an agency works its applications: in Joinedup's queues or in its own system."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="backend")
    plugin = models.CharField(_("back-end"), max_length=40, default="queues")
    config = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        verbose_name = _("agency back-end")
        verbose_name_plural = _("agency back-ends")

    def __str__(self) -> str:
        return f"{self.agency.key}: {self.plugin}"


class Forwarding(models.Model):
    """A case sent to an agency's own system, with the receipt it sent back."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being sent")
        DELIVERED = "delivered", _("Received by the agency's system")
        FAILED = "failed", _("Could not be delivered")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="forwardings"
    )
    work_item = models.ForeignKey(
        WorkItem, null=True, blank=True, on_delete=models.CASCADE, related_name="forwardings"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    plugin = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    receipt_id = models.CharField(max_length=200, blank=True)
    receipt = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.plugin}:{self.pk} ({self.status})"


def localized(texts: dict | str | None) -> str:
    """A text given per language (or plainly), in the active language."""
    if isinstance(texts, dict):
        return pick(texts)
    return texts or ""
