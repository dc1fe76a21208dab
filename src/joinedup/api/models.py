"""What the API keeps for itself: the version of the public catalogue its cache answers from."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogueVersion(models.Model):
    """One row whose token changes, in the same transaction, with every catalogue change.

    Cached API answers are keyed by this token (see `caching`), so a change is visible at
    once in every process and on every machine: they all read the token from the database
    that holds the change. The token is random rather than a counter so that a change rolled
    back can never bring back the answers cached under a token that never committed.
    """

    token = models.CharField(_("token"), max_length=32)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("catalogue version")
        verbose_name_plural = _("catalogue versions")

    def __str__(self) -> str:
        return self.token
