from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "joinedup.performance"
    label = "performance"
    verbose_name = _("Performance")

    def ready(self) -> None:
        # Only once the app registry is ready (they use the models): policy rules, outbox
        # subscribers and periodic jobs register themselves at import.
        from joinedup.identity import console  # asks the rules, which load with the apps

        from . import policy, reactions, schedule  # noqa: F401

        console.register(
            console.ConsoleEntry(
                "performance-dashboard",
                _("Your agency's dashboard"),
                _("Timeliness, volumes, satisfaction and costs of your agency's services."),
                "performance:dashboard",
                "performance.dashboard",
                resource=_own_agency,
                url_kwargs=lambda context: {"key": context.agency_key},
                order=60,
            )
        )
        console.register(
            console.ConsoleEntry(
                "performance-integration",
                _("Integration candidates"),
                _(
                    "Across agencies: the people they serve in common and the questions they "
                    "ask the same people twice."
                ),
                "performance:integration",
                "performance.integration",
                url_kwargs=_own_jurisdiction,
                order=62,
            )
        )
        console.register(
            console.ConsoleEntry(
                "performance-published",
                _("Published performance"),
                _("The figures every service publishes, compared across jurisdictions."),
                "performance:index",
                "public",
                order=70,
            )
        )


def _own_agency(context):
    """The agency the staff member works for in this session (the dashboard's resource): the
    row the request's context already holds (no statement of its own on every page's header)."""
    # Imported here: models are not ready while the app configs load.
    from joinedup.identity.acting import agency_of

    return agency_of(context)


def _own_jurisdiction(context):
    """The integration page of the jurisdiction the staff member's agency belongs to."""
    return {"code": context.agency_jurisdiction} if context.agency_jurisdiction else None
