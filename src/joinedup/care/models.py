"""The care app's data: the service directory (Open Referral HSDS 3) and the integrated case.

Directory records carry HSDS's own UUIDs, field names and enumerations, so that a data package
loads and exports without a mapping table; French (and any other language) lives beside the
English text in `translations` ({"fr": {"name": ..., "description": ...}}), since HSDS itself
has one text per field.

The integrated case holds what care adds (team, plan, notes, alerts, referrals) and only links
to what the agencies already have: nothing of an application or a bundle is copied here.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Translated(models.Model):
    """A record whose text fields may have translations (HSDS has one language per field)."""

    translations = models.JSONField(_("translations"), default=dict, blank=True)

    class Meta:
        abstract = True

    def text(self, field: str, language: str | None = None) -> str:
        """The field in the reader's language when a translation exists, else as published."""
        language = (language or get_language() or "en").split("-")[0]
        translated = (self.translations or {}).get(language, {}).get(field)
        return translated or getattr(self, field) or ""

    @property
    def local_name(self) -> str:
        return self.text("name")

    @property
    def local_description(self) -> str:
        return self.text("description")


# --- The directory (HSDS 3) ---------------------------------------------------------------


class Organization(Translated):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(_("name"), max_length=300)
    alternate_name = models.CharField(_("alternate name"), max_length=300, blank=True)
    description = models.TextField(_("description"))
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency of the registry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_organizations",
    )
    last_modified = models.DateTimeField(_("last modified"), default=timezone.now)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.text("name")


class Taxonomy(Translated):
    def __str__(self) -> str:
        return self.text("name")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"))
    uri = models.URLField(_("address"), blank=True)
    version = models.CharField(_("version"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("taxonomy")
        verbose_name_plural = _("taxonomies")
        ordering = ["name"]


class TaxonomyTerm(Translated):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    taxonomy = models.ForeignKey(
        Taxonomy, null=True, blank=True, on_delete=models.CASCADE, related_name="terms"
    )
    code = models.CharField(_("code"), max_length=80, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    term_uri = models.URLField(_("address"), blank=True)

    class Meta:
        verbose_name = _("taxonomy term")
        verbose_name_plural = _("taxonomy terms")
        ordering = ["code", "name"]

    def __str__(self) -> str:
        return self.text("name")


class Service(Translated):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        DEFUNCT = "defunct", _("Defunct")
        TEMPORARILY_CLOSED = "temporarily closed", _("Temporarily closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="services"
    )
    name = models.CharField(_("name"), max_length=300)
    alternate_name = models.CharField(_("alternate name"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    url = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices)
    interpretation_services = models.TextField(_("interpretation"), blank=True)
    application_process = models.TextField(_("how to apply"), blank=True)
    fees_description = models.TextField(_("fees"), blank=True)
    eligibility_description = models.TextField(_("who is eligible"), blank=True)
    minimum_age = models.DecimalField(
        _("minimum age"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    maximum_age = models.DecimalField(
        _("maximum age"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    assured_date = models.DateField(_("checked on"), null=True, blank=True)
    assurer_email = models.EmailField(_("checked by"), blank=True)
    alert = models.TextField(_("alert"), blank=True)
    last_modified = models.DateTimeField(_("last modified"), default=timezone.now, db_index=True)
    catalogue_service = models.ForeignKey(
        "federation.Service",
        verbose_name=_("service of the platform's catalogue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_entries",
        help_text=_("Set when the service takes applications on the platform."),
    )
    referral_email = models.EmailField(
        _("e-mail for referrals"),
        blank=True,
        help_text=_("Where referrals go when the service is not on the platform."),
    )

    class Meta:
        verbose_name = _("directory service")
        verbose_name_plural = _("directory services")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.text("name")


class Location(Translated):
    def __str__(self) -> str:
        return self.text("name") or self.address_1

    class Type(models.TextChoices):
        PHYSICAL = "physical", _("A place to visit")
        POSTAL = "postal", _("A postal address")
        VIRTUAL = "virtual", _("Online or by phone")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="locations"
    )
    location_type = models.CharField(_("kind of place"), max_length=12, choices=Type.choices)
    name = models.CharField(_("name"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    transportation = models.TextField(_("getting there"), blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # HSDS keeps addresses in their own table; one physical address per location here.
    address_id = models.UUIDField(null=True, blank=True)
    address_1 = models.CharField(_("address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    state_province = models.CharField(_("province or state"), max_length=60, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    jurisdiction = models.ForeignKey(
        "federation.Jurisdiction",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_locations",
    )
    office = models.ForeignKey(
        "federation.Office",
        verbose_name=_("office of the registry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_locations",
    )

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]


class ServiceAtLocation(Translated):
    def __str__(self) -> str:
        return f"{self.service_id} @ {self.location_id}"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="services_here")
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("service at a location")
        verbose_name_plural = _("services at locations")


class Contact(models.Model):
    def __str__(self) -> str:
        return self.name or self.email

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    department = models.CharField(_("department"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)


class Phone(Translated):
    def __str__(self) -> str:
        return self.number

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number"), max_length=40)
    extension = models.CharField(_("extension"), max_length=10, blank=True)
    type = models.CharField(_("kind"), max_length=20, blank=True)
    description = models.TextField(_("description"), blank=True)


class Schedule(Translated):
    """Open hours as an iCalendar recurrence (HSDS 3): e.g. WEEKLY on MO,TU from 09:00 to 17:00."""

    def __str__(self) -> str:
        return f"{self.freq} {self.byday}".strip()

    class Freq(models.TextChoices):
        WEEKLY = "WEEKLY", _("Every week")
        MONTHLY = "MONTHLY", _("Every month")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    service_at_location = models.ForeignKey(
        ServiceAtLocation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    dtstart = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    # HSDS 3 states the zone as an offset from UTC in hours (e.g. -5).
    timezone = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    freq = models.CharField(max_length=8, choices=Freq.choices, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True)
    byday = models.CharField(max_length=60, blank=True)
    bymonthday = models.CharField(max_length=60, blank=True)
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    attending_type = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)


class ServiceArea(Translated):
    def __str__(self) -> str:
        return self.text("name")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="service_areas")
    name = models.CharField(_("name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    extent = models.TextField(blank=True)
    extent_type = models.CharField(max_length=20, blank=True)
    uri = models.CharField(max_length=300, blank=True)
    jurisdiction = models.ForeignKey(
        "federation.Jurisdiction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_service_areas",
        help_text=_("The registry's jurisdiction this area names (from the area's uri)."),
    )


class Language(models.Model):
    def __str__(self) -> str:
        return self.name or self.code

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="languages"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="languages"
    )
    phone = models.ForeignKey(
        Phone, null=True, blank=True, on_delete=models.CASCADE, related_name="languages"
    )
    name = models.CharField(_("name"), max_length=80, blank=True)
    code = models.CharField(_("code"), max_length=8, blank=True, db_index=True)
    note = models.TextField(blank=True)


class CostOption(Translated):
    def __str__(self) -> str:
        return self.text("option")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="cost_options")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    option = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount_description = models.TextField(blank=True)


class RequiredDocument(Translated):
    def __str__(self) -> str:
        return self.text("document")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="required_documents"
    )
    document = models.CharField(max_length=300, blank=True)
    uri = models.URLField(blank=True)


class Attribute(models.Model):
    """A taxonomy term attached to a record (HSDS's polymorphic link)."""

    def __str__(self) -> str:
        return f"{self.link_entity} {self.link_id}"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    link_id = models.UUIDField(db_index=True)
    link_type = models.CharField(max_length=60, blank=True)
    link_entity = models.CharField(max_length=40)
    taxonomy_term = models.ForeignKey(
        TaxonomyTerm, on_delete=models.CASCADE, related_name="attributes"
    )
    value = models.CharField(max_length=300, blank=True)


class Unit(Translated):
    """What a capacity counts (beds, places, appointments): HSDS 3.1's unit."""

    def __str__(self) -> str:
        return self.text("name")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(_("name"), max_length=120)
    scheme = models.CharField(max_length=60, blank=True)
    identifier = models.CharField(max_length=60, blank=True)
    uri = models.URLField(blank=True)


class ServiceCapacity(Translated):
    """Live capacity (HSDS 3.1 `service_capacity`): e.g. 12 shelter beds free of 40."""

    def __str__(self) -> str:
        return f"{self.available}/{self.maximum or ''}"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="capacities")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="capacities")
    available = models.DecimalField(max_digits=10, decimal_places=0)
    maximum = models.DecimalField(max_digits=10, decimal_places=0, null=True, blank=True)
    description = models.TextField(blank=True)
    updated = models.DateTimeField(default=timezone.now)


# --- The integrated case ------------------------------------------------------------------


class Domain(models.TextChoices):
    """Life domains of the needs screen; each maps to a data category of the gate."""

    HOUSING = "housing", _("Housing")
    INCOME = "income", _("Income")
    FOOD = "food", _("Food")
    HEALTH = "health", _("Health")
    SAFETY = "safety", _("Safety")
    EMPLOYMENT = "employment", _("Employment")
    EDUCATION = "education", _("Education")
    LEGAL = "legal", _("Legal matters")
    SOCIAL = "social", _("Family and social life")


class IntegratedCase(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("human services", "Open")
        CLOSED = "closed", _("Closed")

    class Basis(models.TextChoices):
        CONSENT = "consent", _("The person's consent")
        STATUTE = "statute", _("A law (child protection)")

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    person = models.ForeignKey(
        "identity.Person", on_delete=models.PROTECT, related_name="care_cases"
    )
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("opened by agency"),
        on_delete=models.PROTECT,
        related_name="care_cases",
        help_text=_("The agency that holds the case record."),
    )
    basis = models.CharField(_("lawful basis"), max_length=12, choices=Basis.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    review_date = models.DateField(_("next review"), null=True, blank=True)
    applications = models.ManyToManyField(
        "delivery.Application", blank=True, related_name="care_cases"
    )

    class Meta:
        verbose_name = _("integrated case")
        verbose_name_plural = _("integrated cases")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="open"),
                name="care_one_open_case_per_person",
            )
        ]

    def __str__(self) -> str:
        return self.reference


class TeamMember(models.Model):
    def __str__(self) -> str:
        return f"{self.case_id}: {self.membership_id} ({self.role})"

    class Role(models.TextChoices):
        LEAD = "lead", _("Lead professional")
        NAVIGATOR = "navigator", _("Navigator")
        KEY_WORKER = "key_worker", _("Key worker")
        SPECIALIST = "specialist", _("Specialist")

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="team")
    membership = models.ForeignKey(
        "identity.StaffMembership", on_delete=models.PROTECT, related_name="care_teams"
    )
    role = models.CharField(_("role in the team"), max_length=12, choices=Role.choices)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    left_at = models.DateTimeField(_("left"), null=True, blank=True, db_index=True)
    consent = models.ForeignKey(
        "sharing.ConsentRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The consent the person gave for this member's agency."),
    )

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "membership"],
                condition=models.Q(left_at__isnull=True),
                name="care_member_once",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(role="lead", left_at__isnull=True),
                name="care_one_lead",
            ),
        ]


class Need(models.Model):
    def __str__(self) -> str:
        return self.description[:60]

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="needs")
    domain = models.CharField(_("life domain"), max_length=12, choices=Domain.choices)
    description = models.TextField(_("need"))
    created_at = models.DateTimeField(default=timezone.now)


class Goal(models.Model):
    def __str__(self) -> str:
        return self.description[:60]

    class Outcome(models.TextChoices):
        OPEN = "", _("Not reviewed yet")
        ATTAINED = "attained", _("Attained")
        PARTLY = "partly", _("Partly attained")
        NOT_ATTAINED = "not_attained", _("Not attained")
        CANCELLED = "cancelled", pgettext_lazy("human services", "Cancelled")

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="goals")
    description = models.TextField(_("goal"))
    target_date = models.DateField(pgettext_lazy("human services", "by"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, blank=True, default=""
    )


class Action(models.Model):
    def __str__(self) -> str:
        return self.description[:60]

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", pgettext_lazy("human services", "Done")
        CANCELLED = "cancelled", pgettext_lazy("human services", "Cancelled")

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField(_("action"))
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("organisation responsible"),
        on_delete=models.PROTECT,
        related_name="care_actions",
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person responsible"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_actions",
    )
    due_date = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )

    class Meta:
        # A caseworker's dashboard: their agency's actions, soonest due first (the database
        # reads them in that order and stops at the page's 50).
        indexes = [models.Index(fields=["agency", "due_date"], name="care_action_agency_due")]


class Review(models.Model):
    """A review meeting (case conference): who came and what was decided."""

    def __str__(self) -> str:
        return self.held_on.isoformat()

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="reviews")
    held_on = models.DateField(_("held on"))
    attendees = models.ManyToManyField(TeamMember, related_name="reviews_attended")
    decisions = models.TextField(_("decisions"))
    next_review = models.DateField(_("next review"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class Note(models.Model):
    """A case note. Its domain decides its data category, hence its sensitivity at the gate."""

    def __str__(self) -> str:
        return f"{self.case_id}: {self.domain}"

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="notes")
    domain = models.CharField(_("about"), max_length=12, choices=Domain.choices)
    text = models.TextField(_("note"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("federation.Agency", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]


class Alert(models.Model):
    """A safety concern, shown to every member the gate lets see its domain."""

    def __str__(self) -> str:
        return f"{self.case_id}: {self.domain}"

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="alerts")
    domain = models.CharField(_("about"), max_length=12, choices=Domain.choices)
    text = models.TextField(_("concern"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]


# --- Closed-loop referrals ----------------------------------------------------------------


class Referral(models.Model):
    def __str__(self) -> str:
        return str(self.id)

    class Status(models.TextChoices):
        SENT = "sent", pgettext_lazy("human services", "Sent")
        ACCEPTED = "accepted", pgettext_lazy("human services", "Accepted")
        DECLINED = "declined", pgettext_lazy("human services", "Declined")
        CONTACTED = "contacted", _("Contact made")
        DELIVERED = "delivered", _("Service delivered")
        CLOSED = "closed", _("Closed with an outcome")

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine")
        SOON = "soon", _("Within a few days")
        URGENT = "urgent", _("Urgent")

    class Outcome(models.TextChoices):
        GOT_HELP = "got_help", _("Got help")
        NO_CONTACT = "no_contact", _("Could not be contacted")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        NO_CAPACITY = "no_capacity", _("No capacity")
        NOT_INTERESTED = "not_interested", _("No longer interested")
        MOVED = "moved", _("Moved away")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    case = models.ForeignKey(
        IntegratedCase, on_delete=models.CASCADE, related_name="referrals", null=True
    )
    person = models.ForeignKey(
        "identity.Person", on_delete=models.PROTECT, related_name="care_referrals"
    )
    from_agency = models.ForeignKey(
        "federation.Agency", on_delete=models.PROTECT, related_name="care_referrals_sent"
    )
    to_agency = models.ForeignKey(
        "federation.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_referrals_received",
        help_text=_("The receiving organisation when it is on the platform."),
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices)
    shared_categories = models.JSONField(_("data shared"), default=list)
    consent = models.ForeignKey(
        "sharing.ConsentRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(_("answer due"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENT, db_index=True
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    place = models.ForeignKey(
        "federation.Jurisdiction",
        verbose_name=_("person's place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The jurisdiction (municipality) the person lived in when referred, from their "
            "address: never the address itself."
        ),
    )
    application = models.OneToOneField(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_referral",
        help_text=_(
            "When the receiver is on the platform, the referral is an application of its "
            "referral service, carried by the engine."
        ),
    )

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_agency", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="care_referral_idempotent",
            )
        ]


class ReferralStep(models.Model):
    """One step of a referral, as the sender and the person see it."""

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.status}"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=10, choices=Referral.Status.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class PlanRequest(models.Model):
    """The person asks for a review of their plan, or complains about it; it reaches the lead
    professional's workspace."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("A review of my plan")
        COMPLAINT = "complaint", _("A complaint about my plan")
        DUE_REVIEW = "due_review", _("The plan's review is due")

    #: What a person may ask for themselves; a due review is opened by the platform.
    PERSON_KINDS = (Kind.REVIEW, Kind.COMPLAINT)

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(_("what you ask for"), max_length=10, choices=Kind.choices)
    text = models.TextField(_("your message"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(
        _("review due on"),
        null=True,
        blank=True,
        help_text=_("For a due review: the review date of the plan that fell due."),
    )
    application = models.OneToOneField(
        "delivery.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="care_request",
        help_text=_("The work of the lead professional's agency, carried by the engine."),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One review task per review date of a case, however often the job runs.
            models.UniqueConstraint(
                fields=["case", "due_on"],
                condition=models.Q(kind="due_review"),
                name="care_one_due_review_per_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind}"


# --- Assessments --------------------------------------------------------------------------


class AssessmentSet(models.Model):
    """A versioned question set with its scoring, defined as data (assessment_sets/*.yaml)."""

    key = models.SlugField(_("key"), max_length=60)
    version = models.PositiveIntegerField(_("version"))
    names = models.JSONField(_("names"), default=dict)
    description = models.JSONField(_("description"), default=dict)
    questions = models.JSONField(_("questions"), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="care_assessment_set_version")
        ]
        ordering = ["key", "-version"]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @property
    def name(self) -> str:
        language = (get_language() or "en").split("-")[0]
        return self.names.get(language) or self.names.get("en") or self.key


class Assessment(models.Model):
    """One assessment of the person: the answers (1–5 per question) on a day."""

    case = models.ForeignKey(IntegratedCase, on_delete=models.CASCADE, related_name="assessments")
    question_set = models.ForeignKey(
        AssessmentSet, on_delete=models.PROTECT, related_name="assessments"
    )
    answers = models.JSONField(_("answers"), default=dict)
    taken_on = models.DateField(_("taken on"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["taken_on", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.question_set_id} {self.taken_on}"
