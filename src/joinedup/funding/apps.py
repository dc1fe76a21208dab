from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    """Funding linked to results: programs' logic models and indicators, money flowing from
    funders to deliverers, expenditures, outcome-based agreements, scenarios, oversight."""

    name = "joinedup.funding"
    label = "funding"
    verbose_name = _("Funding and results")

    def ready(self) -> None:
        # The policy rules register themselves when their module is imported.
        # Apps are loaded before their modules may touch models: imported here, not on top.
        from joinedup.performance.opendata import register_exporter

        from . import policy  # noqa: F401
        from .package import export_open_data

        register_exporter("funding", export_open_data)
        from . import rollup

        rollup.follow_places()
