from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BundlesConfig(AppConfig):
    name = "joinedup.bundles"
    label = "bundles"
    verbose_name = _("Life events and bundles")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, outbox
        # subscribers, periodic jobs and the exchange's handlers of legs from other nodes
        # register themselves at import time.
        from joinedup.sharing import presentation  # fills sharing's registry, once apps load

        from . import crossing, policy, reactions, schedule  # noqa: F401

        presentation.register_consent_titler(_consent_titles)


def _consent_titles(records) -> dict:
    """A consent given on a bundle's leg is titled by the leg's service and agency
    ("Birth certificate — ServiceOntario"), not by its purpose's key."""
    from .models import BundleLeg  # models load after the app configs

    legs = BundleLeg.objects.filter(consent__in=[r.pk for r in records]).select_related(
        "service", "agency"
    )
    return {leg.consent_id: f"{leg.service.name} — {leg.agency.name}" for leg in legs}
