"""The engagement app's records: consultations and what people contribute to them, the
decisions that close the loop, complaints (each part an application of an agency's
complaints service), and change initiatives with their readiness and training.

Texts shown to people are stored per language (`{"en": ..., "fr": ...}`) and read with
`pick`; contributions are stored as their author wrote them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from joinedup.bundles.models import Bundle, BundleSubmission
from joinedup.care.models import IntegratedCase
from joinedup.channels.models import Interaction
from joinedup.delivery.models import Application, ServiceVersion
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Program, Service
from joinedup.funding.models import Pilot
from joinedup.identity.models import Person, StaffMembership


class Audience(models.TextChoices):
    PUBLIC = "public", _("The public")
    RESIDENTS = "residents", _("Residents of the place")
    PARTNERS = "partners", _("Partner organisations")
    STAFF = "staff", pgettext_lazy("consultations and complaints", "Staff")


class Consultation(models.Model):
    """A question put to stakeholders about a service, a bundle, a place or a program."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    titles = models.JSONField(_("title"), default=dict)
    questions = models.JSONField(_("question"), default=dict)
    backgrounds = models.JSONField(_("background"), default=dict, blank=True)
    #: [{"title": {"en":..,"fr":..}, "url": ...}]
    documents = models.JSONField(_("background documents"), default=list, blank=True)
    owner = models.ForeignKey(
        Agency, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="consultations"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="consultations"
    )
    bundle = models.ForeignKey(
        Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="consultations"
    )
    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.PROTECT, related_name="consultations"
    )
    place = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultations",
        help_text=_("The place it is about; residents are verified by their address there."),
    )
    audiences = models.JSONField(_("who may take part"), default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(service__isnull=False)
                | Q(bundle__isnull=False)
                | Q(program__isnull=False)
                | Q(place__isnull=False),
                name="consultation_is_about_something",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return pick(self.titles)

    @property
    def question(self) -> str:
        return pick(self.questions)

    @property
    def background(self) -> str:
        return pick(self.backgrounds)


class Phase(models.Model):
    class Kind(models.TextChoices):
        INFORMATION = "information", _("Information")
        PROPOSALS = "proposals", _("Proposals")
        DELIBERATION = "deliberation", _("Deliberation")
        DECISION = "decision", _("Decision")
        FOLLOW_UP = "follow_up", _("Follow-up")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(
        pgettext_lazy("consultations and complaints", "phase"), max_length=16, choices=Kind.choices
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(pgettext_lazy("consultations and complaints", "until"))

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "kind"], name="one_phase_of_a_kind"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="phase_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.starts_on} – {self.ends_on}"


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        CHOICE = "choice", _("One choice")
        SCALE = "scale", _("Scale from 1 to 5")
        TEXT = "text", _("Free text")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="survey_questions"
    )
    key = models.SlugField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    texts = models.JSONField(default=dict)
    #: For choices: [{"key": "yes", "en": "Yes", "fr": "Oui"}]
    options = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "key"], name="question_key_once")
        ]

    @property
    def text(self) -> str:
        return pick(self.texts)

    def option_label(self, key: str) -> str:
        for option in self.options:
            if option.get("key") == key:
                return pick(option)
        return key

    def __str__(self) -> str:
        return self.text


class SurveyAnswer(models.Model):
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=2000)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "person"], name="one_answer_per_person")
        ]

    def __str__(self) -> str:
        return self.value[:60]


class Visibility(models.TextChoices):
    VISIBLE = "visible", _("Published")
    HIDDEN = "hidden", _("Hidden by a moderator")


class ModerationReason(models.TextChoices):
    OFF_TOPIC = "off_topic", _("Not about the consultation")
    PERSONAL_DATA = "personal_data", _("Reveals someone's personal information")
    ABUSE = "abuse", _("Insulting, threatening or hateful")
    SPAM = "spam", _("Advertising or repeated content")
    ILLEGAL = "illegal", _("Breaks the law")


class Contribution(models.Model):
    """What proposals and comments share: an author (a person, through an account),
    moderation with a stated reason, and a time."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="+")
    #: The person who wrote it; none for staff writing for their organisation.
    author = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The organisation a partner's or staff member's contribution speaks for.
    organisation = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("text"))
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.VISIBLE, db_index=True
    )
    moderation_reason = models.CharField(
        _("reason"), max_length=16, choices=ModerationReason.choices, blank=True
    )
    moderation_note = models.CharField(_("note"), max_length=500, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True


class Proposal(Contribution):
    class Kind(models.TextChoices):
        PROPOSAL = "proposal", _("Proposal")
        POSITION = "position", _("Formal position of a partner organisation")

    class Decision(models.TextChoices):
        ADOPTED = "adopted", _("Adopted")
        ADOPTED_IN_PART = "adopted_in_part", _("Adopted in part")
        NOT_ADOPTED = "not_adopted", _("Not adopted")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="proposals"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PROPOSAL)
    title = models.CharField(_("title"), max_length=200)
    supports_count = models.PositiveIntegerField(default=0)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decision_reasons = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-supports_count", "created_at"]
        indexes = [models.Index(fields=["consultation", "visibility", "created_at"])]

    def __str__(self) -> str:
        return self.title


class Comment(Contribution):
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="comments"
    )
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["consultation", "visibility", "created_at"])]

    def __str__(self) -> str:
        return self.body[:60]


class Support(models.Model):
    """One support per person, whichever account (their own, or one acting for them)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "person"], name="one_support_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.proposal_id}"


class AbuseReport(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Waiting for a moderator")
        HIDDEN = "hidden", _("Contribution hidden")
        DISMISSED = "dismissed", _("Report dismissed")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="abuse_reports"
    )
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=ModerationReason.choices)
    note = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.OPEN, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["consultation", "outcome"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(proposal__isnull=False, comment__isnull=True)
                | Q(proposal__isnull=True, comment__isnull=False),
                name="report_is_about_one_contribution",
            )
        ]

    def __str__(self) -> str:
        return self.get_reason_display()


class Invitation(models.Model):
    """A person who used the service recently, sampled and invited to take part."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="invitations"
    )
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        Application, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consultation", "person"], name="invited_once")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.consultation_id}"


class Change(models.Model):
    """What we did: the change an adopted proposal produced, and later its measured effect."""

    class Kind(models.TextChoices):
        SERVICE_VERSION = "service_version", _("A new version of the service")
        BUNDLE_EDIT = "bundle_edit", _("A change to the life-event bundle")
        PILOT = "pilot", _("A pilot")

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    descriptions = models.JSONField(default=dict)
    service_version = models.ForeignKey(
        ServiceVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bundle = models.ForeignKey(
        Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checksum_before = models.CharField(max_length=64, blank=True)
    checksum_after = models.CharField(max_length=64, blank=True)
    #: For a pilot: the funding pilot it belongs to, evaluated there (optional: a pilot not
    #: recorded in funding yet is described in words).
    pilot = models.ForeignKey(
        Pilot,
        verbose_name=_("pilot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    effects = models.JSONField(_("measured effect"), default=dict, blank=True)
    #: The platform's figures before and after the change, kept when its effect is recorded
    #: (see `effects.measure`).
    measured = models.JSONField(_("figures measured"), default=dict, blank=True)
    effect_recorded_at = models.DateTimeField(_("effect recorded at"), null=True, blank=True)
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["linked_at"]

    @property
    def description(self) -> str:
        return pick(self.descriptions)

    @property
    def effect(self) -> str:
        return pick(self.effects)

    def __str__(self) -> str:
        return self.description or self.get_kind_display()


class Notice(models.Model):
    """A decision or a change a participant must hear about; sent in a digest."""

    class Kind(models.TextChoices):
        DECISION = "decision", _("Decision")
        CHANGE = "change", pgettext_lazy("consultations and complaints", "Change")
        EFFECT = "effect", _("Measured effect")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="+")
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    change = models.ForeignKey(Change, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "proposal", "kind", "change"],
                name="notice_once",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


# --- Complaints -----------------------------------------------------------------------


class Complaint(models.Model):
    """One complaint of one person, with one part per agency concerned and one answer."""

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        FEEDBACK = "feedback", _("Feedback")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPLAINT)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="complaints")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16, default="online")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="complaints")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="complaints"
    )
    submission = models.ForeignKey(
        BundleSubmission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: A visit or call the complaint is about (how the person was served).
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: A care plan the complaint is about (every agency of its team answers).
    case = models.ForeignKey(
        IntegratedCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    place = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("what happened"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    answer = models.TextField(_("our answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened = models.PositiveSmallIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    themes = models.JSONField(_("themes"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class ComplaintPart(models.Model):
    """The part of a complaint one agency answers: an application of its complaints service,
    carried by the engine (its process, clock and queue)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="parts")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="complaint_parts")
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="complaint_part"
    )
    finding = models.CharField(max_length=16, blank=True)
    reasons = models.TextField(blank=True)
    #: Applications of earlier rounds, when the person reopened the complaint.
    earlier_applications = models.JSONField(default=list, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    tier = models.PositiveSmallIntegerField(default=1)
    escalated_at = models.DateTimeField(null=True, blank=True)
    ombudsman = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referred_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["complaint", "agency"], name="one_part_per_agency")
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.agency_id}"


# --- Change initiatives ----------------------------------------------------------------


class Initiative(models.Model):
    key = models.SlugField(max_length=80, unique=True)
    names = models.JSONField(default=dict)
    descriptions = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    organisations = models.ManyToManyField(Agency, related_name="initiatives")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_version = models.ForeignKey(
        ServiceVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Work on this version or a later one counts as done in the new process."),
    )
    target_channel = models.CharField(max_length=16, blank=True)
    go_live = models.DateField()

    class Meta:
        ordering = ["go_live", "key"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return pick(self.names)

    @property
    def description(self) -> str:
        return pick(self.descriptions)


class AffectedRole(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=StaffMembership.Role.choices)
    changes = models.JSONField(_("what changes"), default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "role"], name="role_once_per_initiative")
        ]

    @property
    def what_changes(self) -> str:
        return pick(self.changes)

    def __str__(self) -> str:
        return self.get_role_display()


class Champion(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="champions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.user_id}"


class TrainingModule(models.Model):
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="modules")
    key = models.SlugField(max_length=60)
    names = models.JSONField(default=dict)
    role = models.CharField(max_length=20, choices=StaffMembership.Role.choices, blank=True)

    @property
    def name(self) -> str:
        return pick(self.names)

    def __str__(self) -> str:
        return self.name


class TrainingCompletion(models.Model):
    module = models.ForeignKey(TrainingModule, on_delete=models.CASCADE, related_name="completions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "user"], name="module_completed_once")
        ]

    def __str__(self) -> str:
        return f"{self.module_id}: {self.user_id}"


class ReadinessResponse(models.Model):
    """A staff member's readiness, 1 to 5 on each of five dimensions."""

    DIMENSIONS = ("awareness", "desire", "knowledge", "ability", "reinforcement")

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="readiness")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=20, choices=StaffMembership.Role.choices)
    awareness = models.PositiveSmallIntegerField()
    desire = models.PositiveSmallIntegerField()
    knowledge = models.PositiveSmallIntegerField()
    ability = models.PositiveSmallIntegerField()
    reinforcement = models.PositiveSmallIntegerField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["initiative", "user"], name="readiness_once")
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.user_id}"
