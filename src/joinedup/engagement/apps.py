from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    """Consultations, feedback and complaints, change initiatives."""

    name = "joinedup.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        # Registering the policy rules and the process handlers needs the app registry ready.
        from joinedup.funding.pilots import register_link_source
        from joinedup.identity import console
        from joinedup.performance.complaints import ComplaintSource, register_complaint_source

        from . import complaint_notices, complaint_steps, decisions, measures, policy, schedule  # noqa: F401

        # Funding's pilot page names the proposals a pilot came from; it may not import us.
        register_link_source(decisions.pilot_links)

        # Performance shows the complaint measures on its pages; it may not import this app.
        register_complaint_source(
            ComplaintSource(measures=measures.complaint_measures, themes=measures.themes_by_month)
        )
        # Complaint and adoption figures, across the agencies complained about.
        console.register(
            console.ConsoleEntry(
                "engagement-measures",
                _("Complaint measures"),
                _("Complaints by theme and how fast they are answered, across agencies."),
                "engagement:measures",
                "engagement.measures",
                order=69,
            )
        )
