"""Identity records: accounts (and, in later steps, people, proofing, mandates, staff).

An account (`User`) is how someone signs in; a `Person` is who they are in the client
registry. The two are separate because many people have no account (a newborn, a client
registered at a counter) and an account alone proves nothing about identity.
"""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


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
