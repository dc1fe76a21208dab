from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language


class IdentityConfig(AppConfig):
    name = "joinedup.identity"
    label = "identity"
    default = True
    verbose_name = _("Identity")

    def ready(self) -> None:
        # Imported once the app registry is ready: the rules and guards read the models.
        from . import access_rules, guards  # noqa: F401  (identity's rules register on import)

        # Django's language switch is open to everyone; declared so the matrix test knows.
        guards.declare(set_language, "public")

        from . import console  # reads the rules registered above

        console.register(
            console.ConsoleEntry(
                "identity-find-person",
                _("Find a person"),
                _("Look a person up by an identifier number to serve them or record a proof."),
                "identity-staff:find-person",
                "person.find",
                order=5,
            )
        )


class PolicyAdminConfig(admin_apps.AdminConfig):
    """The admin app, with a site that asks the authorisation policy (see admin_site)."""

    default = False  # named explicitly in INSTALLED_APPS
    default_site = "joinedup.identity.admin_site.PolicyAdminSite"
