import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "joinedup.delivery"
    label = "delivery"
    verbose_name = _("Service delivery")

    def ready(self) -> None:
        # SpiffWorkflow logs every task state change at INFO: far too much for our logs.
        logging.getLogger("spiff").setLevel(logging.WARNING)
        # Everything that registers itself at import time is loaded here, once: policy rules,
        # service-task handlers, the plugins (back-ends, payment providers), the reactions of
        # the floors above to the floors below (work queues on a paid fee, the guarantee on a
        # late completion), outbox subscribers and periodic jobs.
        # Imported here, not at the top: they import models, which the app registry is not
        # ready to give while this module loads.
        from joinedup.sharing import categories

        from . import guarantees, policy, queues, reactions, schedule  # noqa: F401
        from .backends.contrib import own_queues, signed_rest  # noqa: F401
        from .notifications import channels
        from .payments.contrib import sandbox  # noqa: F401
        from .workflows import handlers  # noqa: F401

        # A person's applications are data the gate discloses (and the ledger names).
        categories.register_field(
            queues.APPLICATIONS_FIELD,
            "events",
            _("applications and their progress"),
            queues.applications_of,
        )
        channels.load_builtin()
        _console_entries()


def _console_entries() -> None:
    """Delivery's tools on the staff console: the work queue and the supervisor's view."""
    # Imported here: identity's console asks the policy, whose rules load with the apps.
    from joinedup.identity import console

    console.register(
        console.ConsoleEntry(
            "delivery-queue",
            _("Work queue"),
            _("Tasks waiting for your agency: claim one, decide, record the reasons."),
            "delivery:queue",
            "delivery.queue.read",
            order=10,
        )
    )
    console.register(
        console.ConsoleEntry(
            "delivery-supervisor",
            _("Due and breached work"),
            _("Your agency's open applications by due date: reassign or escalate their tasks."),
            "delivery:supervisor",
            "delivery.supervise",
            order=20,
        )
    )
