"""Payments: a plugin interface for payment providers, a registry, and the flows that use them
(request a fee, take a provider's signed webhook, refund). See docs/delivery.md."""
