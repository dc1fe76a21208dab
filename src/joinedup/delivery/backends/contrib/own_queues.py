"""The default back-end: the agency works its applications in Joinedup's own queues."""

from __future__ import annotations

from ..base import BackendPlugin
from ..registry import register


@register
class QueuesBackend(BackendPlugin):
    key = "queues"
    name = "Joinedup queues"
