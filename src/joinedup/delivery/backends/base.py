"""What an agency back-end plugin implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import Application, Forwarding, WorkItem


class BackendPlugin:
    """How an agency works its applications: in Joinedup's queues, or in its own system."""

    key: str = ""
    name: str = ""

    def check_config(self, config: Mapping[str, Any]) -> list[str]:
        """Problems with an agency's settings for this plugin (empty when usable)."""
        return []

    def open_item(self, item: WorkItem, config: Mapping[str, Any]) -> None:
        """A staff work item became ready in this agency (in the caller's transaction)."""

    def forward(
        self, application: Application, config: Mapping[str, Any], item: WorkItem | None = None
    ) -> Forwarding | None:
        """Send the case to the agency's own system; None when there is nothing to send."""
        return None
