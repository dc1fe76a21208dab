"""Bundles (life events), the people's bundle submissions and their legs, proactive offers,
and the births the platform registered.

A bundle is loaded from a data file (see `loader.py`) and kept whole as JSON: its screening
questions, its unified form, its legs with their conditions, field mapping and consent text,
and the offers its events trigger. A submission keeps the checksum of the definition it was
made with, and each leg keeps what was accepted for it (its checked answers, place, service
version and agency) until the task workers make its one application in the competent agency.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from joinedup import labels
from joinedup.delivery.models import ApplicationStatus
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Offering, Service
from joinedup.identity.models import Person


class Bundle(models.Model):
    """A life event: one guided application whose legs go to several agencies."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    names = models.JSONField(_("names"), default=dict)
    descriptions = models.JSONField(_("descriptions"), default=dict, blank=True)
    life_situation = models.CharField(_("life situation"), max_length=80, blank=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    definition = models.JSONField(_("definition"), default=dict)
    checksum = models.CharField(_("checksum"), max_length=64, editable=False)
    source = models.CharField(_("source"), max_length=300, blank=True)
    illustrative = models.BooleanField(_("illustrative"), default=False)
    active = models.BooleanField(_("taking submissions"), default=True)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.key

    @property
    def name(self) -> str:
        return pick(self.names)

    @property
    def description(self) -> str:
        return pick(self.descriptions)

    @property
    def legs(self) -> list[dict]:
        return list(self.definition.get("legs") or [])

    def leg(self, key: str) -> dict | None:
        return next((leg for leg in self.legs if leg["key"] == key), None)


class BundleDraft(models.Model):
    """A journey under way in the browser: screening answers, the unified form, choices."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bundle_drafts"
    )
    subject = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="bundle_drafts")
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="drafts")
    screening = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    dropped = models.JSONField(default=list, blank=True)
    consents = models.JSONField(default=list, blank=True)
    step = models.CharField(max_length=60, blank=True)
    submitted = models.ForeignKey(
        "BundleSubmission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bundle draft")
        verbose_name_plural = _("bundle drafts")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.bundle.key} draft"


class BundleSubmission(models.Model):
    """One person's bundle: the answers given once, and one application per leg."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    bundle = models.ForeignKey(
        Bundle, verbose_name=_("bundle"), on_delete=models.PROTECT, related_name="submissions"
    )
    subject = models.ForeignKey(
        Person,
        verbose_name=_("for"),
        on_delete=models.PROTECT,
        related_name="bundle_submissions",
    )
    acting_person = models.ForeignKey(
        Person,
        verbose_name=_("submitted by (person)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by (account)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, default="online")
    language = models.CharField(_("language"), max_length=8, default="en")
    screening = models.JSONField(_("screening answers"), default=dict)
    answers = models.JSONField(_("answers"), default=dict)
    dropped = models.JSONField(_("legs left out"), default=list, blank=True)
    definition_checksum = models.CharField(max_length=64, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    idempotency_scope = models.CharField(max_length=40, blank=True, editable=False)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=200, blank=True, editable=False
    )
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    #: Who submitted (the acting context, as JSON): the legs' applications are made later,
    #: by the task workers, in that person's (or agent's) name.
    actor = models.JSONField(default=dict, blank=True, editable=False)
    #: Where the submission came from, for the caller's own records (a counter visit:
    #: "visit:<id>"); the caller's hook reads it when each leg starts.
    origin = models.CharField(max_length=80, blank=True, editable=False)

    class Meta:
        verbose_name = _("bundle submission")
        verbose_name_plural = _("bundle submissions")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_bundle_submission_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.bundle.key})"


class BundleLeg(models.Model):
    """One leg of a submission: accepted with the submission, then started by the task
    workers, which make its one application in the competent agency."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        STARTED = "started", _("Sent to the agency")
        HELD_UP = "held_up", _("Held up: our staff are looking into it")
        ELSEWHERE = "elsewhere", _("Sent to another government's system")

    submission = models.ForeignKey(BundleSubmission, on_delete=models.CASCADE, related_name="legs")
    key = models.SlugField(_("leg"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    application = models.OneToOneField(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bundle_leg",
    )
    consent = models.ForeignKey(
        "sharing.ConsentRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What was accepted, checked against the leg's own form, kept until the leg starts.
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.RECEIVED, db_index=True
    )
    version = models.ForeignKey(
        "delivery.ServiceVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    offering = models.ForeignKey(
        Offering, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    place = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(_("answers"), default=dict, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts to start"), default=0)
    last_error = models.TextField(_("why it could not start"), blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # A leg whose agency is hosted on another node (another government's deployment) is
    # sent there as a signed message (`crossing.py`); its status comes back the same way.
    elsewhere_node = models.CharField(_("sent to node"), max_length=200, blank=True)
    elsewhere_names = models.JSONField(_("name of that node"), default=dict, blank=True)
    elsewhere_message = models.UUIDField(_("message sent"), null=True, blank=True)
    elsewhere_status = models.CharField(_("status on that node"), max_length=24, blank=True)
    elsewhere_reference = models.CharField(_("reference on that node"), max_length=40, blank=True)
    elsewhere_due_date = models.DateField(_("due date on that node"), null=True, blank=True)
    elsewhere_updated_at = models.DateTimeField(_("status sent at"), null=True, blank=True)
    #: A request for information the agency there made, for the person to answer here.
    elsewhere_question = models.TextField(_("message to the applicant"), blank=True)
    elsewhere_question_id = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        verbose_name = _("bundle leg")
        verbose_name_plural = _("bundle legs")
        ordering = ["submission", "position"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "key"], name="one_leg_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.submission.reference}: {self.key}"

    @property
    def elsewhere(self) -> bool:
        """Whether the leg was sent to another government's node."""
        return bool(self.elsewhere_node)

    @property
    def elsewhere_name(self) -> str:
        """The node's name in the reader's language (its member code if it has none)."""
        return pick(self.elsewhere_names) or self.elsewhere_node if self.elsewhere_node else ""

    @property
    def status(self) -> str:
        """The application's status once the leg started (here or on the node it was sent
        to), else the leg's own state."""
        if self.application_id:
            return self.application.status
        return self.elsewhere_status or self.state

    @property
    def status_label(self) -> str:
        if self.application_id:
            return str(labels.display(self.application, "status"))
        if self.elsewhere_status in ApplicationStatus.values:
            return str(ApplicationStatus(self.elsewhere_status).label)
        return str(labels.display(self, "state"))

    @property
    def current_due_date(self):
        """The application's due date once started (pauses move it; on another node, as
        that node reports it), else the one promised when the leg was accepted."""
        if self.application_id:
            return self.application.due_date
        return self.elsewhere_due_date or self.due_date


class ForeignLeg(models.Model):
    """A bundle's leg another node sent here (`crossing.py`): the application it became in
    this node's agency, and where to report its statuses (the home node, the leg there)."""

    from_node = models.ForeignKey(
        "exchange.PeerNode",
        verbose_name=_("from node"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    message_id = models.UUIDField(_("message"), unique=True)
    conversation = models.CharField(_("conversation"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=80)
    home_leg = models.CharField(_("leg on the home node"), max_length=40)
    home_reference = models.CharField(_("bundle reference on the home node"), max_length=20)
    #: The home node's reference for the person, so that a second leg finds the same person.
    home_person = models.CharField(max_length=80, blank=True, editable=False)
    application = models.OneToOneField(
        "delivery.Application",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="foreign_leg",
    )
    subject = models.ForeignKey(
        Person, verbose_name=_("for"), on_delete=models.PROTECT, related_name="+"
    )
    last_status = models.CharField(_("last status reported"), max_length=24, blank=True)
    last_due_date = models.DateField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("leg from another node")
        verbose_name_plural = _("legs from other nodes")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_node", "home_leg"], name="one_foreign_leg_per_home_leg"
            ),
        ]
        indexes = [models.Index(fields=["from_node", "home_person"])]

    def __str__(self) -> str:
        return f"{self.from_node_id}: {self.home_reference} {self.home_leg}"


class Offer(models.Model):
    """A service offered to a person because of an event (a birth, a move, a death)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("No longer offered")

    class Trigger(models.TextChoices):
        BIRTH_REGISTERED = "birth_registered", _("A birth was registered")
        ADDRESS_CHANGED = "address_changed", _("An address changed")
        DEATH_REGISTERED = "death_registered", _("A death was registered")
        ENTITLEMENT_FOUND = "entitlement_found", _("The rules found you may be entitled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (person, service, event) index starts with it. A
    # population run writes hundreds of thousands of offers, and every index is kept up
    # on each: the ones below are only those that some query reads.
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="offers", db_index=False
    )
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="offers")
    leg = models.SlugField(_("leg"), max_length=60, db_index=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(_("because"), max_length=30, choices=Trigger.choices)
    event_id = models.CharField(max_length=64)
    source_application = models.ForeignKey(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    about = models.ForeignKey(
        Person,
        verbose_name=_("about"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text=_("The person the event was about (the newborn, the person who died)."),
    )
    answers = models.JSONField(_("what we already know"), default=dict)
    place = models.CharField(_("place"), max_length=40, blank=True)
    # An offer of an entitlement the rules found: the estimated amount, for which month.
    amount = models.DecimalField(
        _("estimated amount per month"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    period = models.CharField(_("month"), max_length=7, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    application = models.ForeignKey(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    consent = models.ForeignKey(
        "sharing.ConsentRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("offered at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "service", "event_id"], name="one_offer_per_event_and_service"
            ),
        ]
        # The links that most offers leave empty are indexed where set only (a lookup by
        # one of them names a value, so the partial index serves it). The status has no
        # index: every query of offers by status also names the person (the unique index),
        # or counts them all.
        indexes = [
            *(
                models.Index(
                    fields=[name],
                    name=f"offer_{name}_set",
                    condition=Q(**{f"{name}__isnull": False}),
                )
                for name in ("source_application", "about", "application", "consent")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.key} → {self.person} ({self.status})"


class RegisteredBirth(models.Model):
    """The child registered by a birth registration, so that the record is made once."""

    registration = models.OneToOneField(
        "delivery.Application", on_delete=models.PROTECT, related_name="registered_birth"
    )
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    parents = models.ManyToManyField(Person, related_name="+", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("registered birth")
        verbose_name_plural = _("registered births")

    def __str__(self) -> str:
        return str(self.child)
