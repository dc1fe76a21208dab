"""What the rules found: one entitlement per person, benefit and month, with the law's
version that computed it. Written by population runs; read by bundles (proactive offers,
through the outbox event each new one emits) and by performance (take-up)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from joinedup.identity.models import Person


class Entitlement(models.Model):
    # No index of its own: the unique (person, benefit, period) index starts with it (one
    # index less to keep up for each of the hundreds of thousands a population run writes).
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    benefit = models.CharField(_("benefit"), max_length=100, help_text=_("The rule's variable"))
    service = models.CharField(
        _("service"), max_length=100, blank=True, help_text=_("The catalogue key to apply")
    )
    jurisdiction = models.CharField(_("jurisdiction"), max_length=32)
    period = models.CharField(_("month"), max_length=7, help_text="YYYY-MM")
    amount = models.DecimalField(_("amount per month"), max_digits=12, decimal_places=2)
    package = models.CharField(_("rule package"), max_length=64)
    version = models.CharField(_("version of the rules"), max_length=32)
    trace = models.JSONField(
        _("trace"), default=dict, help_text=_("The household and inputs it was computed from")
    )
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        ordering = ["period", "person", "benefit"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "benefit", "period"], name="entitlement_once_per_month"
            )
        ]
        indexes = [models.Index(fields=["jurisdiction", "period", "benefit"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.benefit} {self.period}: {self.amount}"
