"""What the exchange keeps: this node's keys, the peers a trust list names, and the log of
messages sent and received.

The log keeps digests and metadata, never a body in clear: an outgoing message is stored
sealed (signed, then encrypted to the receiver), an incoming one only as its digest and what
its handler recorded.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KeyUse(models.TextChoices):
    SIGNING = "sig", _("Signing")
    ENCRYPTION = "enc", _("Encryption")


class NodeKey(models.Model):
    """One of this node's own key pairs. The private half is stored encrypted (Fernet, with a
    key derived from the secret key) and is never shown; only the public JWK is published."""

    use = models.CharField(_("use"), max_length=3, choices=KeyUse.choices)
    kid = models.CharField(_("key id"), max_length=80, unique=True)
    public_jwk = models.JSONField(_("public key"))
    private_sealed = models.TextField(_("private key (encrypted)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    active = models.BooleanField(_("signs or receives new messages"), default=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("node key")
        verbose_name_plural = _("node keys")
        ordering = ["use", "-created_at"]

    def __str__(self) -> str:
        return f"{self.use} {self.kid}"


class TrustList(models.Model):
    """A trust list that was loaded: its issuer, number and validity, and its digest."""

    issuer = models.CharField(_("issuer"), max_length=200)
    sequence = models.PositiveBigIntegerField(_("number"))
    issued_at = models.DateTimeField(_("issued"))
    expires_at = models.DateTimeField(_("expires"))
    signer_kid = models.CharField(_("signed with key"), max_length=80)
    digest = models.CharField(_("digest"), max_length=64)
    loaded_at = models.DateTimeField(_("loaded"), default=timezone.now)

    class Meta:
        verbose_name = _("trust list")
        verbose_name_plural = _("trust lists")
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"{self.issuer} #{self.sequence}"


class PeerNode(models.Model):
    """Another deployment, as the trust list describes it."""

    node_id = models.CharField(_("member code"), max_length=200, unique=True)
    names = models.JSONField(_("name"), default=dict)
    base_url = models.URLField(_("address"), max_length=300)
    jurisdictions = models.JSONField(_("jurisdictions served"), default=list)
    #: The agencies (by key) the node hosts beyond its jurisdictions' own, or instead of them
    #: (an agency that runs its own node): a leg for one of them is sent there.
    hosted_agencies = models.JSONField(_("agencies hosted"), default=list, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    #: How far the node's identity proofing reaches, as the trust list says: the highest
    #: level of assurance this node accepts from its assertions (identity.AssuranceLevel).
    max_assurance = models.PositiveSmallIntegerField(
        _("highest level of assurance accepted"), default=1
    )
    trust_list = models.ForeignKey(
        TrustList, on_delete=models.PROTECT, related_name="nodes", verbose_name=_("trust list")
    )

    class Meta:
        verbose_name = _("peer node")
        verbose_name_plural = _("peer nodes")
        ordering = ["node_id"]

    def __str__(self) -> str:
        return self.node_id

    def trusted_at(self, moment) -> bool:
        """In the list, inside its validity and not revoked at `moment`."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        if self.valid_from is not None and moment < self.valid_from:
            return False
        return self.valid_to is None or moment < self.valid_to


class PeerKey(models.Model):
    """A public key of a peer. Keys rotate with overlap: several may be valid at once."""

    node = models.ForeignKey(PeerNode, on_delete=models.CASCADE, related_name="keys")
    use = models.CharField(_("use"), max_length=3, choices=KeyUse.choices)
    kid = models.CharField(_("key id"), max_length=80)
    jwk = models.JSONField(_("public key"))
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("peer key")
        verbose_name_plural = _("peer keys")
        constraints = [
            models.UniqueConstraint(fields=["node", "kid"], name="exchange_one_kid_per_node")
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.use} {self.kid}"

    def valid_at(self, moment) -> bool:
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        if self.valid_from is not None and moment < self.valid_from:
            return False
        return self.valid_to is None or moment < self.valid_to


class OutgoingMessage(models.Model):
    """A message in this node's outbox: sealed for its receiver when it was queued, sent by
    `sending` until the receiver acknowledges it (at least once), or given up (dead letter)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be delivered")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True)
    conversation = models.CharField(_("conversation"), max_length=100, db_index=True)
    kind = models.CharField(_("kind"), max_length=60)
    purpose = models.CharField(_("purpose"), max_length=80)
    to_node = models.ForeignKey(
        PeerNode, on_delete=models.PROTECT, related_name="outgoing", verbose_name=_("to")
    )
    subject_id = models.BigIntegerField(_("person"), null=True, blank=True)
    sealed = models.TextField(_("sealed message"))
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    receipt = models.TextField(_("receiver's signed receipt"), blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_node_id} ({self.status})"


class IncomingMessage(models.Model):
    """A message this node accepted: one row per message id, so a second copy is
    recognised (and not handled twice), and a different message under a used id is refused."""

    message_id = models.UUIDField(_("message id"), unique=True)
    conversation = models.CharField(_("conversation"), max_length=100, db_index=True)
    kind = models.CharField(_("kind"), max_length=60)
    purpose = models.CharField(_("purpose"), max_length=80)
    from_node = models.ForeignKey(
        PeerNode, on_delete=models.PROTECT, related_name="incoming", verbose_name=_("from")
    )
    subject_id = models.BigIntegerField(_("person"), null=True, blank=True)
    #: The level of assurance of the person's identity accepted from the sender: what it
    #: asserted, at most what the trust list lets its proofing reach; 0 when none asserted.
    assurance = models.PositiveSmallIntegerField(_("level of assurance accepted"), default=0)
    digest = models.CharField(_("digest"), max_length=64)
    sent_at = models.DateTimeField(_("sent"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    outcome = models.JSONField(_("what the handler recorded"), default=dict, blank=True)

    class Meta:
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming messages")
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} ← {self.from_node_id}"


class RefusedMessage(models.Model):
    """A message this node refused, and why: what it claimed, never its body."""

    received_at = models.DateTimeField(_("received"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=40)
    claimed_sender = models.CharField(_("claimed sender"), max_length=200, blank=True)
    claimed_message_id = models.CharField(_("claimed message id"), max_length=80, blank=True)
    digest = models.CharField(_("digest"), max_length=64)
    remote_address = models.GenericIPAddressField(_("from address"), null=True, blank=True)

    class Meta:
        verbose_name = _("refused message")
        verbose_name_plural = _("refused messages")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.reason} {self.claimed_sender}"


class RemoteAgency(models.Model):
    """An agency of another node, named as that node's signed read receipts name it, so that
    "Who used my data" here says who read the data there in words, not by key."""

    node = models.ForeignKey(
        PeerNode, on_delete=models.CASCADE, related_name="agencies", verbose_name=_("node")
    )
    key = models.CharField(_("key"), max_length=80)
    names = models.JSONField(_("name"), default=dict)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("agency of another node")
        verbose_name_plural = _("agencies of other nodes")
        constraints = [
            models.UniqueConstraint(fields=["node", "key"], name="exchange_one_remote_agency")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.node_id})"


class ServiceGrant(models.Model):
    """A provider agency of this node lets one client node send it requests for one of its
    services (publishing a service grants nothing), like a data-sharing rule in `sharing`.
    A message of a kind that asks for a service is refused without a grant in force."""

    provider = models.ForeignKey(
        "federation.Agency",
        on_delete=models.CASCADE,
        related_name="exchange_grants",
        verbose_name=_("provider"),
    )
    service = models.ForeignKey(
        "federation.Service",
        on_delete=models.CASCADE,
        related_name="exchange_grants",
        verbose_name=_("service"),
    )
    client_node = models.ForeignKey(
        PeerNode, on_delete=models.CASCADE, related_name="grants", verbose_name=_("client node")
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("access granted to a node")
        verbose_name_plural = _("access granted to nodes")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "service", "client_node"], name="exchange_one_grant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.service_id} → {self.client_node_id}"

    def in_force_at(self, moment) -> bool:
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.valid_to is None or moment < self.valid_to


class EvidenceRequest(models.Model):
    """A request for evidence about a person between nodes (OOTS-style, exchange/evidence.py).

    Asked of this node (`in`): this node is the person's home and holds the evidence; it
    waits for the person to see a preview and agree (sent) or refuse (a signed refusal).
    Asked by this node (`out`): the evidence (or the refusal) comes back on the request's
    conversation. The field keys asked are kept, never the values on the provider's side
    (they are read again when the person decides)."""

    class Direction(models.TextChoices):
        IN = "in", _("asked of this node")
        OUT = "out", _("asked by this node")

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting for the person")
        RELEASED = "released", _("sent with the person's agreement")
        REFUSED = "refused", _("refused by the person")

    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    #: The id of the request message: the requester's reference, carried by the answer.
    request_id = models.UUIDField(_("message id"))
    conversation = models.CharField(_("conversation"), max_length=100)
    peer = models.ForeignKey(
        PeerNode, on_delete=models.PROTECT, related_name="evidence_requests", verbose_name=_("node")
    )
    subject_id = models.BigIntegerField(_("person"), null=True, blank=True, db_index=True)
    requester_agency = models.CharField(_("requesting agency"), max_length=80)
    provider_agency = models.CharField(_("providing agency"), max_length=80)
    fields = models.JSONField(_("data asked for"), default=list)
    purpose = models.CharField(_("purpose"), max_length=80)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    #: On the requester's side, the evidence received (the requesting agency's record of it).
    evidence = models.JSONField(_("evidence received"), default=dict, blank=True)

    class Meta:
        verbose_name = _("evidence request")
        verbose_name_plural = _("evidence requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "peer", "request_id"], name="exchange_one_evidence_request"
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.request_id}"
