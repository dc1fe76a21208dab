"""Identity records: accounts (and, in later steps, people, proofing, mandates, staff).

An account (`User`) is how someone signs in; a `Person` is who they are in the client
registry. The two are separate because many people have no account (a newborn, a client
registered at a counter) and an account alone proves nothing about identity.
"""

import datetime
import re

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import encryption, identifiers


class User(AbstractUser):
    """A sign-in account: one e-mail address, one password, optionally linked to a person."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        FRENCH = "fr", _("French")

    email = models.EmailField(_("email address"), unique=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
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


class Person(models.Model):
    """One human being in the client registry, whether or not they have an account."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        FRENCH = "fr", _("French")

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
        day = on or timezone.localdate()
        return (
            self.addresses.filter(valid_from__lte=day)
            .filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=day))
            .order_by("-valid_from")
            .first()
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
    country = models.CharField(_("country"), max_length=2, default="CA")
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
