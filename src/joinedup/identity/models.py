"""Identity records: accounts (and, in later steps, people, proofing, mandates, staff).

An account (`User`) is how someone signs in; a `Person` is who they are in the client
registry. The two are separate because many people have no account (a newborn, a client
registered at a counter) and an account alone proves nothing about identity.
"""

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from joinedup import prepared

from . import encryption, identifiers

_ADDRESSES: ContextVar[dict[tuple[int, datetime.date], "Address | None"] | None] = ContextVar(
    "addresses_remembered", default=None
)


@contextmanager
def addresses_remembered() -> Iterator[None]:
    """Within the block, `Person.current_address` reads each person's address once per day
    asked. For a unit of work that reads the same person's address from several places and
    changes no address (a bundle's checks: screening, preview, prefill, the data gate)."""
    if _ADDRESSES.get() is not None:
        yield
        return
    token = _ADDRESSES.set({})
    try:
        yield
    finally:
        _ADDRESSES.reset(token)


class User(AbstractUser):
    """A sign-in account: one e-mail address, one password, optionally linked to a person."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        FRENCH = "fr", _("French")

    email = models.EmailField(_("email address"), unique=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    person = models.OneToOneField(
        "identity.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account",
        help_text=_("Who this account belongs to in the client registry, once known."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        swappable = "AUTH_USER_MODEL"

    def save(self, *args, **kwargs) -> None:
        # One address, one account: compare addresses the way mail servers do in practice.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


def validate_birth_date(value: datetime.date) -> None:
    """A birth date is in the past and within a human lifetime."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(_("A birth date cannot be in the future."), code="future")
    if value.year < today.year - 130:
        raise ValidationError(
            _("A birth date more than 130 years ago is not possible."), code="too_old"
        )


def validate_arrival_date(value: datetime.date) -> None:
    """An arrival in the country is in the past and within a human lifetime."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(_("An arrival date cannot be in the future."), code="future")
    if value.year < today.year - 130:
        raise ValidationError(
            _("An arrival date more than 130 years ago is not possible."), code="too_old"
        )


class Person(models.Model):
    """One human being in the client registry, whether or not they have an account."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        FRENCH = "fr", _("French")

    class AccessibilityNeeds(models.TextChoices):
        DECLARED = "declared", _("I have accessibility needs")
        NONE = "none", _("I have no accessibility needs")

    given_names = models.CharField(_("given names"), max_length=200)
    family_name = models.CharField(_("family name"), max_length=200)
    preferred_name = models.CharField(_("preferred name"), max_length=200, blank=True)
    birth_date = models.DateField(
        _("birth date"), null=True, blank=True, validators=[validate_birth_date]
    )
    preferred_language = models.CharField(
        _("preferred official language"),
        max_length=8,
        choices=Language.choices,
        default=Language.ENGLISH,
    )
    #: Facts the person chooses to give on their profile (blank or empty: not given). Only
    #: a band derived from them is counted with a transaction (see performance.groups).
    accessibility_needs = models.CharField(
        _("accessibility needs"),
        max_length=8,
        choices=AccessibilityNeeds.choices,
        blank=True,
        default="",
    )
    arrival_date = models.DateField(
        _("date of arrival in the country"),
        null=True,
        blank=True,
        validators=[validate_arrival_date],
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["family_name", "given_names", "pk"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.preferred_name or self.given_names} {self.family_name}".strip()

    def current_address(self, on: datetime.date | None = None) -> "Address | None":
        """The address the person lives at on the day (today by default), with its
        jurisdiction. Inside `addresses_remembered()` each person's is read once."""
        day = on or timezone.localdate()
        memo = _ADDRESSES.get()
        if memo is not None and self.pk is not None and (self.pk, day) in memo:
            return memo[self.pk, day]
        found = None
        if self.pk is not None:
            rows = _CURRENT_ADDRESS.all(using=self._state.db or "default", person=self.pk, day=day)
            if rows:
                found = rows[0]
                Address.person.field.set_cached_value(found, self)
        if memo is not None and self.pk is not None:
            memo[self.pk, day] = found
        return found


#: `Person.current_address`'s statement, compiled once per database (`joinedup.prepared`):
#: every submission reads its applicant's address.
_CURRENT_ADDRESS = prepared.Instances(
    "identity.current_address",
    lambda a: (
        Address.objects.filter(person_id=a.number("person"), valid_from__lte=a.day("day"))
        .filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=a.day("day")))
        .select_related("jurisdiction")
        .order_by("-valid_from")[:1]
    ),
)


class PersonIdentifier(models.Model):
    """A typed identifier (SIN, TFN, health card), encrypted at rest.

    Only the ciphertext, a keyed blind index (to find the person) and the last few characters
    (to let the person recognise it) are stored. `__str__` and `repr` never show the value.
    """

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="identifiers"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=identifiers.choices)
    ciphertext = models.TextField(_("encrypted value"), editable=False)
    blind_index = models.CharField(_("blind index"), max_length=64, editable=False)
    hint = models.CharField(_("last characters"), max_length=8, editable=False, blank=True)
    issued_by = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        ordering = ["person", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "blind_index"], name="identifier_belongs_to_one_person"
            ),
            models.UniqueConstraint(fields=["person", "kind"], name="one_identifier_of_a_kind"),
        ]

    def __str__(self) -> str:
        kind = identifiers.get(self.kind)
        return f"{kind.label} {'•' * 6}{self.hint}"

    def __repr__(self) -> str:
        return f"<PersonIdentifier {self.kind} of person {self.person_id}>"

    def set_value(self, raw: str) -> None:
        """Validate, normalise and encrypt a value typed by someone; nothing is kept in clear."""
        kind = identifiers.get(self.kind)
        value = kind.clean(raw)
        self.ciphertext = encryption.encrypt(value)
        self.blind_index = encryption.blind_index(kind.key, value)
        self.hint = kind.hint(value)

    @property
    def value(self) -> str:
        """The decrypted value; read it only to show it to someone entitled to see it."""
        return encryption.decrypt(self.ciphertext)

    @property
    def masked(self) -> str:
        return "•" * 6 + self.hint


def default_country() -> str:
    """The country of a new address when nothing else says it (setting DEFAULT_COUNTRY)."""
    return settings.DEFAULT_COUNTRY


class Address(models.Model):
    """Where a person lives (or receives mail) over a period: addresses are never overwritten."""

    class Kind(models.TextChoices):
        RESIDENTIAL = "residential", _("Home")
        MAILING = "mailing", _("Mailing")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.RESIDENTIAL
    )
    street_address = models.CharField(_("street address"), max_length=200)
    locality = models.CharField(_("city or town"), max_length=100)
    region = models.CharField(_("province or state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default=default_country)
    jurisdiction = models.ForeignKey(
        "federation.Jurisdiction",
        verbose_name=_("jurisdiction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The most local jurisdiction the address lies in; used for routing."),
    )
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["person", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="address_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in (self.street_address, self.locality, self.region) if p)

    def clean(self) -> None:
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("An address cannot end before it starts.")})


class ContactPoint(models.Model):
    """A way to reach a person: an e-mail address or a phone number."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        MOBILE = "mobile", _("Mobile phone (text messages)")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="contact_points"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=254)
    preferred = models.BooleanField(_("preferred"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["person", "-preferred", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind", "value"], name="contact_point_once_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    def clean(self) -> None:
        if self.kind == self.Kind.EMAIL:
            try:
                EmailValidator()(self.value)
            except ValidationError:
                raise ValidationError({"value": _("Enter a valid email address.")}) from None
        elif not re.fullmatch(r"\+?[\d\s().\-]{7,20}", self.value or ""):
            raise ValidationError(
                {"value": _("Enter a phone number with 7 to 15 digits, e.g. +1 416 555 0199.")}
            )


class AssuranceLevel(models.IntegerChoices):
    """How sure we are that a person is who they say (the levels of the service catalogue)."""

    SELF_ASSERTED = 1, _("Level 1: self-asserted")
    REMOTE = 2, _("Level 2: verified remotely")
    IN_PERSON = 3, _("Level 3: verified in person")


class IdentityProofing(models.Model):
    """One proof of identity, made once and reused by every agency while it is valid."""

    class Method(models.TextChoices):
        SELF_ASSERTED = "self_asserted", _("Declared by the person")
        TRUSTED_CREDENTIAL = "trusted_credential", _("Trusted digital credential")
        DOCUMENT_CHECK = "document_check", _("Remote document check")
        IN_PERSON = "in_person", _("In person, documents seen")

    #: The level each method can reach at most.
    METHOD_LEVELS = {
        Method.SELF_ASSERTED: AssuranceLevel.SELF_ASSERTED,
        Method.TRUSTED_CREDENTIAL: AssuranceLevel.REMOTE,
        Method.DOCUMENT_CHECK: AssuranceLevel.REMOTE,
        Method.IN_PERSON: AssuranceLevel.IN_PERSON,
    }

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="proofings"
    )
    level = models.PositiveSmallIntegerField(_("level of assurance"), choices=AssuranceLevel)
    method = models.CharField(_("method"), max_length=24, choices=Method.choices)
    evidence = models.JSONField(
        _("evidence seen"),
        default=list,
        blank=True,
        help_text=_("What was checked, e.g. a passport or a provincial credential."),
    )
    verified_by = models.ForeignKey(
        User,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    office = models.ForeignKey(
        "federation.Office",
        verbose_name=_("office"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    provider = models.CharField(
        _("identity provider"),
        max_length=64,
        blank=True,
        help_text=_("The external sign-in service that vouched for the person, if any."),
    )
    verified_at = models.DateTimeField(_("verified at"), default=timezone.now)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity proofing")
        verbose_name_plural = _("identity proofings")
        ordering = ["person", "-verified_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__lt=3)
                | (models.Q(office__isnull=False) & models.Q(verified_by__isnull=False)),
                name="in_person_proofing_names_office_and_verifier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_level_display()} ({self.get_method_display()})"

    def clean(self) -> None:
        ceiling = self.METHOD_LEVELS.get(self.method)
        if ceiling is not None and self.level and self.level > ceiling:
            raise ValidationError({"level": _("This method cannot prove identity at that level.")})
        if self.level == AssuranceLevel.IN_PERSON and not (self.office_id and self.verified_by_id):
            raise ValidationError(
                _("An in-person proof names the office and the person who verified it.")
            )

    def is_valid_on(self, day: datetime.date) -> bool:
        if self.revoked_at is not None:
            return False
        return self.valid_until is None or self.valid_until >= day


class Business(models.Model):
    """A business a person may represent (a sole proprietorship, a corporation)."""

    class Size(models.TextChoices):
        MICRO = "micro", _("Micro (1 to 4 employees)")
        SMALL = "small", _("Small (5 to 99)")
        MEDIUM = "medium", _("Medium (100 to 499)")
        LARGE = "large", _("Large (500 and more)")

    legal_name = models.CharField(_("legal name"), max_length=200)
    business_number = models.CharField(
        _("business number"), max_length=15, blank=True, db_index=True
    )
    jurisdiction = models.ForeignKey(
        "federation.Jurisdiction",
        verbose_name=_("registered in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    #: Given by a representative of the business on their profile (blank: not given).
    size = models.CharField(
        _("business size"), max_length=8, choices=Size.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("business")
        verbose_name_plural = _("businesses")
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.legal_name


class Relationship(models.Model):
    """A fact about two people recorded in the registry (a parent and their child)."""

    class Kind(models.TextChoices):
        PARENT_OF = "parent_of", _("Parent of")
        GUARDIAN_OF = "guardian_of", _("Guardian of")
        SPOUSE_OF = "spouse_of", _("Spouse or partner of")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="relationships"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    related_person = models.ForeignKey(
        Person, verbose_name=_("related to"), on_delete=models.CASCADE, related_name="+"
    )
    valid_from = models.DateField(_("from"), default=timezone.localdate)
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("relationship")
        verbose_name_plural = _("relationships")
        ordering = ["person", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind", "related_person"], name="relationship_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(person=models.F("related_person")),
                name="relationship_between_two_people",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_kind_display()} — {self.related_person}"


class Mandate(models.Model):
    """The right of one person to act for another person or a business, within a scope."""

    class Kind(models.TextChoices):
        PARENT = "parent", _("Parent of a minor")
        GUARDIAN = "guardian", _("Guardian")
        POWER_OF_ATTORNEY = "power_of_attorney", _("Power of attorney")
        BUSINESS_REPRESENTATIVE = "business_representative", _("Representative of a business")

    class Scope(models.TextChoices):
        VIEW = "view", _("See their records and applications")
        APPLY = "apply", _("Apply for services for them")
        MANAGE = "manage", _("Change their details")

    holder = models.ForeignKey(
        Person, verbose_name=_("held by"), on_delete=models.CASCADE, related_name="mandates_held"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    subject = models.ForeignKey(
        Person,
        verbose_name=_("for person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mandates_given",
    )
    business = models.ForeignKey(
        Business,
        verbose_name=_("for business"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mandates",
    )
    scopes = models.JSONField(_("scope"), default=list)
    basis = models.CharField(
        _("basis"),
        max_length=200,
        blank=True,
        help_text=_(
            "The document or fact it rests on, e.g. a birth registration or a court order."
        ),
    )
    valid_from = models.DateField(_("from"), default=timezone.localdate)
    valid_to = models.DateField(_("until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        User,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        ordering = ["holder", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(subject__isnull=False) & models.Q(business__isnull=True))
                | (models.Q(subject__isnull=True) & models.Q(business__isnull=False)),
                name="mandate_for_a_person_or_a_business",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="mandate_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder} → {self.subject or self.business} ({self.get_kind_display()})"

    def is_in_force(self, day: datetime.date | None = None) -> bool:
        day = day or timezone.localdate()
        if self.revoked_at is not None or self.valid_from > day:
            return False
        return self.valid_to is None or self.valid_to >= day


class StaffMembership(models.Model):
    """A staff member's role in one agency, optionally limited to some offices or areas."""

    class Role(models.TextChoices):
        FRONT_LINE = "front_line", _("Front-line worker")
        CASEWORKER = "caseworker", _("Caseworker")
        CASE_MANAGER = "case_manager", _("Case manager")
        SUPERVISOR = "supervisor", _("Supervisor")
        ANALYST = "analyst", _("Analyst")
        ADMINISTRATOR = "administrator", _("Administrator")
        AUDITOR = "auditor", _("Auditor")
        #: Keeps the client index: reviews record links, decides merges and splits.
        DATA_STEWARD = "data_steward", _("Data steward")
        #: Orders shared services (hosting, onboarding, pay changes) for its own agency from
        #: the agency's shared-service providers, in the back-office portal or by API.
        SERVICE_REQUESTER = "service_requester", _("Service requester")

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        on_delete=models.CASCADE,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    offices = models.ManyToManyField(
        "federation.Office",
        verbose_name=_("limited to offices"),
        blank=True,
        related_name="+",
        help_text=_("Leave empty for every office of the agency."),
    )
    areas = models.ManyToManyField(
        "federation.Jurisdiction",
        verbose_name=_("limited to areas"),
        blank=True,
        related_name="+",
        help_text=_("Leave empty for the agency's whole jurisdiction."),
    )
    valid_from = models.DateField(_("from"), default=timezone.localdate)
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        ordering = ["agency__key", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} ({self.agency.key})"

    def is_in_force(self, day: datetime.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


class Credential(models.Model):
    """Shared fields of bearer credentials: a public key id and a hash of the secret part."""

    key_id = models.CharField(_("key id"), max_length=24, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    name = models.CharField(_("name"), max_length=100)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    def is_usable(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class PersonalToken(Credential):
    """A personal API token of one account (`joinedup token USERNAME`)."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="api_tokens"
    )

    class Meta:
        verbose_name = _("personal API token")
        verbose_name_plural = _("personal API tokens")
        ordering = ["-created_at"]


class ApiClient(Credential):
    """A partner system of an agency, calling the API in that agency's name with one role."""

    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        on_delete=models.CASCADE,
        related_name="api_clients",
    )
    role = models.CharField(_("acts as"), max_length=20, choices=StaffMembership.Role.choices)

    class Meta:
        verbose_name = _("agency API client")
        verbose_name_plural = _("agency API clients")
        ordering = ["agency__key", "name"]


class ExternalAccount(models.Model):
    """An account at an external identity provider (OpenID Connect) linked to ours."""

    user = models.ForeignKey(
        User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="external_accounts"
    )
    provider = models.CharField(_("identity provider"), max_length=64)
    subject = models.CharField(_("subject identifier"), max_length=255)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)
    last_sign_in = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        verbose_name = _("external account")
        verbose_name_plural = _("external accounts")
        ordering = ["provider", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.user}"
