from types import ModuleType

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
        from joinedup.identity import console
        from joinedup.performance.opendata import register_exporter

        from . import policy  # noqa: F401
        from .package import export_open_data

        register_exporter("funding", export_open_data)
        from . import rollup

        rollup.follow_places()
        _register_console_entries(console)


def _register_console_entries(console: ModuleType) -> None:
    """Funding's cross-agency views on the staff console (analysts, auditors, supervisors
    and administrators, as each page's rule says)."""
    for key, label, description, url_name, action, order in (
        (
            "funding-places",
            _("Places and pilots"),
            _("Everything counted in one place, across funders, and what pilots changed."),
            "funding:places",
            "funding.places",
            66,
        ),
        (
            "funding-scenarios",
            _("Allocation scenarios"),
            _("Unpublished funding of your agency, and scenarios to compare allocations."),
            "funding:scenarios",
            "funding.analyse",
            67,
        ),
        (
            "funding-oversight",
            _("Oversight reviews"),
            _("Reviews of providers and their findings, for the overseer, provider and funders."),
            "funding:oversight",
            "funding.oversight",
            68,
        ),
    ):
        console.register(
            console.ConsoleEntry(key, label, description, url_name, action, order=order)
        )
