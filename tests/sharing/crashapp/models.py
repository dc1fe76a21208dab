from django.db import models


class Received(models.Model):
    """What the subscriber has processed, once per event id (its idempotency key)."""

    event_id = models.CharField(max_length=36, unique=True)

    def __str__(self) -> str:
        return self.event_id
