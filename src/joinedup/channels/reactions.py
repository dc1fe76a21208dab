"""What channels does when others announce something (outbox subscribers).

- A birth registration submitted (a service whose evidence is a birth registration): match
  it with a waiting hospital notice of the birth.
- Any application event: forward the status change to the delivering agency's partner
  systems as `org.joinedup.partner.<agency>.application.<verb>` (sent by sharing's webhooks).
- A life event's leg submitted at the counter starts (bundles' task worker): its application
  is recorded on the visit (`counter.touch_visit`, in the leg's own transaction).
"""

from __future__ import annotations

from joinedup.bundles import starting
from joinedup.delivery.models import Application
from joinedup.sharing.subscribers import Event, subscriber

from . import counter, partners

if counter.touch_visit not in starting.when_started:
    starting.when_started.append(counter.touch_visit)


@subscriber("org.joinedup.application.*", name="channels.application-status")
def on_application_event(event: Event) -> None:
    partners.forward_status(event.type, event.data)
    if event.type == "org.joinedup.application.submitted":
        if event.data.get("service") not in partners.registration_services():
            return
        registration = (
            Application.objects.select_related("service", "agency")
            .filter(pk=event.data.get("application"))
            .first()
        )
        if registration is not None:
            partners.match_registration(registration)
