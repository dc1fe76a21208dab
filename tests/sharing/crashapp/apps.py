from django.apps import AppConfig


class CrashAppConfig(AppConfig):
    name = "tests.sharing.crashapp"
    label = "crashapp"

    def ready(self) -> None:
        from . import handlers  # noqa: F401
