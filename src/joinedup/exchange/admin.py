"""Admin for the exchange: the message logs and the trust list, read-only (evidence); dead
letters can be sent again; access granted to other nodes is made and ended here. Private
keys and sealed bodies are not shown."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    EvidenceRequest,
    IncomingMessage,
    OutgoingMessage,
    PeerKey,
    PeerNode,
    RefusedMessage,
    ServiceGrant,
    TrustList,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence: shown, never changed or removed from the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PeerKeyInline(admin.TabularInline):
    model = PeerKey
    extra = 0
    can_delete = False
    fields = ("use", "kid", "valid_from", "valid_to", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PeerNode)
class PeerNodeAdmin(ReadOnlyAdmin):
    list_display = ("node_id", "base_url", "max_assurance", "valid_from", "valid_to", "revoked_at")
    inlines = [PeerKeyInline]


@admin.register(EvidenceRequest)
class EvidenceRequestAdmin(ReadOnlyAdmin):
    """Evidence requests between nodes: who asked whom, for which data, and the person's
    decision; the person as their number only, the evidence itself not shown."""

    list_display = ("created_at", "direction", "peer", "requester_agency", "status", "decided_at")
    list_filter = ("direction", "status")
    search_fields = ("=request_id", "conversation")
    exclude = ("evidence",)


@admin.register(TrustList)
class TrustListAdmin(ReadOnlyAdmin):
    list_display = ("issuer", "sequence", "issued_at", "expires_at", "loaded_at")


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to_node", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "kind")
    search_fields = ("=message_id", "conversation")
    exclude = ("sealed",)
    actions = ["send_again"]

    @admin.action(description=_("Send the given-up messages again"))
    def send_again(self, request, queryset) -> None:
        count = queryset.filter(
            status=OutgoingMessage.Status.FAILED, expires_at__gt=timezone.now()
        ).update(status=OutgoingMessage.Status.PENDING, next_attempt_at=timezone.now())
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be sent again.",
                "%(count)d messages will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(IncomingMessage)
class IncomingMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "kind", "from_node", "subject_id", "assurance")
    list_filter = ("kind",)
    search_fields = ("=message_id", "conversation")


@admin.register(RefusedMessage)
class RefusedMessageAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "reason", "claimed_sender", "remote_address")
    list_filter = ("reason",)


@admin.register(ServiceGrant)
class ServiceGrantAdmin(admin.ModelAdmin):
    """Grants are configuration, not evidence: operators make, end and revoke them here (or
    with `joinedup exchange-grant`)."""

    list_display = ("provider", "service", "client_node", "granted_at", "valid_to", "revoked_at")
    list_filter = ("client_node",)
    raw_id_fields = ("provider", "service")
