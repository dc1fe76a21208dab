from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "joinedup.delivery"
    label = "delivery"
    verbose_name = _("Service delivery")

    def ready(self) -> None:
        import logging

        # SpiffWorkflow logs every task state change at INFO: far too much for our logs.
        logging.getLogger("spiff").setLevel(logging.WARNING)
        # Policy rules, service-task handlers, plugins, outbox subscribers and periodic jobs
        # register themselves at import time.
        from joinedup.sharing import categories

        from . import handlers, policy, queues, reactions, schedule  # noqa: F401
        from .backends import registry as backends
        from .notifications import channels
        from .payments import registry as payments

        # A person's applications are data the gate discloses (and the ledger names).
        categories.register_field(
            queues.APPLICATIONS_FIELD,
            "events",
            _("applications and their progress"),
            queues.applications_of,
        )
        backends.load_builtin()
        payments.load_builtin()
        channels.load_builtin()
