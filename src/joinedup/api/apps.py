from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "joinedup.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from . import caching  # connects to the models' signals: needs the app registry

        caching.connect_signals()
