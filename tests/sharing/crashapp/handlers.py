"""A slow subscriber: it notes every call in a file (outside the database, so a call that was
cut short by a crash still shows), then records the event id once in its own table."""

import os
import time

from joinedup.sharing.subscribers import Event, subscriber

from .models import Received

TYPE = "org.joinedup.crashtest.item.created"


@subscriber(TYPE, name="crashtest.slow")
def slow(event: Event) -> None:
    with open(os.environ["CRASH_CALLS"], "a") as calls:
        calls.write(event.id + "\n")
    time.sleep(float(os.environ.get("CRASH_SLEEP", "0.1")))
    Received.objects.get_or_create(event_id=event.id)
