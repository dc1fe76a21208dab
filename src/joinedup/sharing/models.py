"""Sharing records: data categories, sharing rules, consent, break-glass, the access ledger and
the event outbox.

The ledger (`AccessEvent`) stores plain values, not foreign keys: a row must never change
after it is written (its hash covers it), so deleting an account, an agency or a person
elsewhere cannot be allowed to cascade into it or null a column of it.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from joinedup.federation.localization import pick
from joinedup.federation.models import validate_texts


class Sensitivity(models.IntegerChoices):
    LOW = 1, _("Low")
    MODERATE = 2, _("Moderate")
    HIGH = 3, _("High")
    SPECIAL = 4, _("Special category")


class LegalBasis(models.TextChoices):
    """Why a disclosure is lawful. Agreements name the first three; the rest are the gate's."""

    STATUTE = "statute", _("A law requires or permits it")
    PUBLIC_TASK = "public_task", _("A public task of the agency")
    CONSENT = "consent", _("Your consent")
    MANDATE = "mandate", _("A mandate you gave to act for you")
    OWN_AGENCY = "own_agency", _("The agency's own record")
    BREAK_GLASS = "break_glass", _("Emergency access")
    ADMINISTRATION = "administration", _("Platform administration")


#: The legal bases a data-sharing agreement may name.
AGREEMENT_BASES = (LegalBasis.STATUTE, LegalBasis.PUBLIC_TASK, LegalBasis.CONSENT)


class DataCategory(models.Model):
    """A kind of personal data (identity, income, health…) with its sensitivity and retention."""

    class RetentionAction(models.TextChoices):
        DELETE = "delete", _("Delete")
        ANONYMISE = "anonymise", _("Anonymise")

    key = models.SlugField(_("key"), max_length=40, unique=True)
    names = models.JSONField(_("name"), default=dict, validators=[validate_texts])
    descriptions = models.JSONField(_("description"), default=dict, blank=True)
    sensitivity = models.PositiveSmallIntegerField(
        _("sensitivity"), choices=Sensitivity.choices, default=Sensitivity.MODERATE
    )
    retention_days = models.PositiveIntegerField(
        _("retention (days)"),
        null=True,
        blank=True,
        help_text=_("How long data of this category is kept once it is no longer current."),
    )
    retention_action = models.CharField(
        _("when the period ends"),
        max_length=12,
        choices=RetentionAction.choices,
        default=RetentionAction.DELETE,
    )

    class Meta:
        verbose_name = _("data category")
        verbose_name_plural = _("data categories")
        ordering = ["sensitivity", "key"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return pick(self.names) or self.key


class SharingRule(models.Model):
    """A machine-checkable flow: these fields, from this agency to that one, for these purposes."""

    class Source(models.TextChoices):
        AGREEMENT = "agreement", _("Derived from an agreement")
        MANUAL = "manual", _("Entered by an administrator")

    agreement = models.ForeignKey(
        "federation.Agreement",
        verbose_name=_("agreement"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sharing_rules",
    )
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    provider = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("from agency"),
        on_delete=models.CASCADE,
        related_name="rules_providing",
    )
    recipient = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("to agency"),
        on_delete=models.CASCADE,
        related_name="rules_receiving",
    )
    categories = models.JSONField(_("data categories"), default=list)
    fields = models.JSONField(
        _("fields"),
        default=list,
        blank=True,
        help_text=_("Leave empty for every field of the categories."),
    )
    purposes = models.JSONField(_("purposes"), default=list)
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=16,
        choices=[(b.value, b.label) for b in AGREEMENT_BASES],
    )
    roles = models.JSONField(
        _("roles with a need to know"),
        default=list,
        blank=True,
        help_text=_("Staff roles of the receiving agency; empty means the usual roles."),
    )
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")
        ordering = ["provider__key", "recipient__key", "pk"]

    def __str__(self) -> str:
        return f"{self.provider.key} → {self.recipient.key}: {', '.join(self.categories)}"


class ConsentRecord(models.Model):
    """A person's consent, shaped after ISO/IEC TS 27560 (consent record information).

    Consent is never edited: it is given, and later withdrawn or left to expire. A new
    choice is a new record.
    """

    class Method(models.TextChoices):
        ONLINE = "online", _("Online, in their account")
        COUNTER = "counter", _("In person, at a counter")
        PHONE = "phone", _("By phone")
        PAPER = "paper", _("On a signed paper form")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(
        "identity.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    provider = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("data from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents_providing",
        help_text=_("The agency that holds the data; empty for any agency."),
    )
    controllers = models.ManyToManyField(
        "federation.Agency",
        verbose_name=_("controllers"),
        related_name="consents_controlled",
    )
    recipients = models.ManyToManyField(
        "federation.Agency", verbose_name=_("recipients"), related_name="consents_receiving"
    )
    purposes = models.JSONField(_("purposes"), default=list)
    categories = models.JSONField(_("data categories"), default=list)
    agreement = models.ForeignKey(
        "federation.Agreement",
        verbose_name=_("agreement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents",
    )
    method = models.CharField(_("how given"), max_length=12, choices=Method.choices)
    notice = models.TextField(_("notice shown"), blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_method = models.CharField(
        _("how withdrawn"), max_length=12, choices=Method.choices, blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["subject", "withdrawn_at"])]

    def __str__(self) -> str:
        return f"{self.subject_id}: {', '.join(self.purposes)} ({self.status})"

    def status_at(self, moment=None) -> "ConsentRecord.Status":
        moment = moment or timezone.now()
        if self.withdrawn_at is not None and self.withdrawn_at <= moment:
            return self.Status.WITHDRAWN
        if self.expires_at is not None and self.expires_at <= moment:
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def status(self) -> "ConsentRecord.Status":
        return self.status_at()


class ConsentEvent(models.Model):
    """A change in a consent's state (27560's event list): given, withdrawn."""

    class Kind(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    consent = models.ForeignKey(
        ConsentRecord, verbose_name=_("consent"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    method = models.CharField(_("how"), max_length=12, choices=ConsentRecord.Method.choices)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["consent", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class BreakGlass(models.Model):
    """Emergency access to a person's data outside the usual rules: stated, timed, reviewed."""

    class Outcome(models.TextChoices):
        JUSTIFIED = "justified", _("Justified")
        NOT_JUSTIFIED = "not_justified", _("Not justified")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="break_glass",
    )
    agency = models.ForeignKey(
        "federation.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("role"), max_length=20)
    subject = models.ForeignKey(
        "identity.Person",
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="break_glass",
    )
    reason = models.TextField(_("reason"))
    categories = models.JSONField(_("data categories"), default=list)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    supervisors_alerted = models.JSONField(_("supervisors alerted"), default=list, blank=True)
    outcome = models.CharField(
        _("review outcome"), max_length=16, choices=Outcome.choices, blank=True
    )
    review_notes = models.TextField(_("review notes"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("break-glass access")
        verbose_name_plural = _("break-glass accesses")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("opened_at")),
                name="break_glass_expires_after_it_opens",
            ),
            models.CheckConstraint(
                condition=models.Q(reviewed_at__isnull=True)
                | (~models.Q(outcome="") & models.Q(reviewed_by__isnull=False)),
                name="break_glass_review_has_outcome_and_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.subject_id} ({self.opened_at:%Y-%m-%d %H:%M})"

    def is_open(self, moment=None) -> bool:
        moment = moment or timezone.now()
        return self.closed_at is None and self.expires_at > moment


class AccessEvent(models.Model):
    """One row of the access ledger: who used whose data, what, why, on which basis.

    `hash` = SHA-256(previous hash + canonical JSON of the row); see `ledger`. The ledger is
    a few parallel chains so that concurrent writers do not queue on one lock: a row's
    place is its position (`seq`) in its chain (`chain`).
    """

    class Action(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Changed")

    class Outcome(models.TextChoices):
        DISCLOSED = "disclosed", _("Disclosed")
        REFUSED = "refused", _("Refused")

    chain = models.PositiveSmallIntegerField(_("chain"), default=1)
    seq = models.BigIntegerField(_("position"))
    occurred_at = models.DateTimeField(_("when"))
    subject_id = models.BigIntegerField(_("person"), db_index=True)
    actor_user_id = models.BigIntegerField(_("account"), null=True, blank=True)
    actor_person_id = models.BigIntegerField(_("acting person"), null=True, blank=True)
    api_client_id = models.BigIntegerField(_("API client"), null=True, blank=True)
    actor_agency = models.CharField(_("agency"), max_length=80, blank=True)
    actor_role = models.CharField(_("role"), max_length=20, blank=True)
    holder_agency = models.CharField(_("data held by"), max_length=80, blank=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    categories = models.JSONField(_("data categories"), default=list)
    fields = models.JSONField(_("fields"), default=list)
    purpose = models.CharField(_("purpose"), max_length=80)
    legal_basis = models.CharField(
        _("legal basis"), max_length=16, choices=LegalBasis.choices, blank=True
    )
    agreement_key = models.CharField(_("agreement"), max_length=80, blank=True)
    consent_id = models.CharField(_("consent"), max_length=36, blank=True)
    break_glass_id = models.BigIntegerField(_("break-glass access"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        ordering = ["chain", "seq"]
        indexes = [models.Index(fields=["subject_id", "-occurred_at"])]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="one_access_event_per_position"),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.chain}.{self.seq} {self.actor_agency or '-'} {self.action} {self.subject_id}"
        )


class LedgerHead(models.Model):
    """The end of one chain of the ledger (its primary key is the chain's number): the last
    position and hash. An append locks one head until its transaction commits."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger head")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}…"


class LedgerCheckpoint(models.Model):
    """A signed statement "the chain had this hash at this position" (Ed25519)."""

    chain = models.PositiveSmallIntegerField(_("chain"), default=1)
    seq = models.BigIntegerField(_("position"))
    hash = models.CharField(_("hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    key_id = models.CharField(_("key id"), max_length=16)
    signature = models.CharField(_("signature"), max_length=128)

    class Meta:
        verbose_name = _("ledger checkpoint")
        verbose_name_plural = _("ledger checkpoints")
        ordering = ["chain", "seq", "pk"]
        # The last checkpoint of a chain is looked up before each signing (every few seconds).
        indexes = [models.Index(fields=["chain", "seq"], name="ledger_checkpoint_chain_seq")]

    def __str__(self) -> str:
        return f"#{self.chain}.{self.seq} {self.hash[:12]}… ({self.signed_at:%Y-%m-%d %H:%M})"


class OutboxEvent(models.Model):
    """A CloudEvents 1.0 event written in the same transaction as the change it announces."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be delivered")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Gave up (dead letter)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    specversion = models.CharField(max_length=8, default="1.0")
    source = models.CharField(_("source"), max_length=200)
    type = models.CharField(_("type"), max_length=200, db_index=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    time = models.DateTimeField(_("time"), default=timezone.now)
    datacontenttype = models.CharField(max_length=80, default="application/json")
    data = models.JSONField(_("data"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    locked_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    locked_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    targets_resolved = models.BooleanField(default=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering = ["time", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The event as CloudEvents 1.0 JSON (structured mode)."""
        envelope = {
            "specversion": self.specversion,
            "id": str(self.id),
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": self.datacontenttype,
            "data": self.data,
        }
        if self.subject:
            envelope["subject"] = self.subject
        return envelope


class WebhookEndpoint(models.Model):
    """An external system that receives events over HTTPS, signed with a shared secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        blank=True,
        help_text=_("Leave empty to have one generated; share it with the receiver."),
    )
    event_types = models.JSONField(
        _("event types"),
        default=list,
        help_text=_('Types to send, e.g. ["org.joinedup.consent.*"]; "*" sends everything.'),
    )
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        for pattern in self.event_types:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


class Delivery(models.Model):
    """One event to one target (an internal subscriber or a webhook), at least once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Gave up")

    event = models.ForeignKey(
        OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    target = models.CharField(_("target"), max_length=200)
    webhook = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["event__time", "target"]
        constraints = [
            models.UniqueConstraint(fields=["event", "target"], name="one_delivery_per_target"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.target} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: each HTTP attempt to a webhook, with its answer."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="log"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


class DispatchWakeup(models.Model):
    """The single row that says when a dispatch task is already scheduled for retries."""

    next_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.next_run_at)


class PeriodicRun(models.Model):
    """When each periodic job was last enqueued, so several schedulers do not repeat it."""

    name = models.CharField(max_length=80, unique=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.last_run_at:%Y-%m-%d %H:%M}"


class RetentionRecord(models.Model):
    """What a retention run deleted or anonymised: category, rule, count, cut-off."""

    run_at = models.DateTimeField(_("run at"), default=timezone.now)
    category = models.CharField(_("data category"), max_length=40)
    rule = models.CharField(_("rule"), max_length=80)
    action = models.CharField(
        _("action"), max_length=12, choices=DataCategory.RetentionAction.choices
    )
    cutoff = models.DateTimeField(_("older than"))
    count = models.PositiveIntegerField(_("records"))

    class Meta:
        verbose_name = _("retention record")
        verbose_name_plural = _("retention records")
        ordering = ["-run_at", "category"]

    def __str__(self) -> str:
        return f"{self.run_at:%Y-%m-%d} {self.rule}: {self.action} {self.count}"


def validate_reason(value: str) -> None:
    if len((value or "").strip()) < 10:
        raise ValidationError(_("Say why in at least a few words (10 characters or more)."))
