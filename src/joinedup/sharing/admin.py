"""Admin for sharing: categories and rules are edited; the ledger and consents are read-only;
webhook deliveries can be retried."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import dispatch, sharing_rules, webhooks
from .models import (
    AccessEvent,
    BreakGlass,
    ConsentRecord,
    DataCategory,
    Delivery,
    LedgerCheckpoint,
    OutboxEvent,
    RetentionRecord,
    SharingRule,
    WebhookAttempt,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence: shown, never changed or removed from the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DataCategory)
class DataCategoryAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "sensitivity", "retention_days", "retention_action")
    list_filter = ("sensitivity", "retention_action")
    search_fields = ("key", "names")


class SharingRuleForm(forms.ModelForm):
    """A rule entered by hand is checked as one derived from an agreement is: every name in
    it must be known, or a typo would silently widen or block sharing."""

    class Meta:
        model = SharingRule
        fields = (
            "agreement",
            "provider",
            "recipient",
            "categories",
            "fields",
            "purposes",
            "legal_basis",
            "roles",
            "valid_from",
            "valid_to",
            "active",
        )

    def _post_clean(self) -> None:
        super()._post_clean()  # builds the rule from the form and runs the model's checks
        try:
            sharing_rules.validate_rule(self.instance)
        except ValidationError as error:
            self._update_errors(error)


@admin.register(SharingRule)
class SharingRuleAdmin(admin.ModelAdmin):
    form = SharingRuleForm
    list_display = (
        "provider",
        "recipient",
        "categories",
        "purposes",
        "legal_basis",
        "agreement",
        "valid_from",
        "valid_to",
        "active",
    )
    list_filter = ("legal_basis", "source", "active")
    search_fields = ("provider__key", "recipient__key", "agreement__key")
    autocomplete_fields = ("provider", "recipient", "agreement")
    readonly_fields = ("source",)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "subject", "purposes", "categories", "given_at", "withdrawn_at")
    list_filter = ("method",)
    search_fields = ("id", "subject__family_name")


@admin.register(BreakGlass)
class BreakGlassAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "agency", "subject", "opened_at", "expires_at", "outcome")
    list_filter = ("outcome", "agency")


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = (
        "chain",
        "seq",
        "occurred_at",
        "actor_agency",
        "actor_role",
        "subject_id",
        "action",
        "purpose",
        "legal_basis",
        "outcome",
    )
    list_filter = ("outcome", "legal_basis", "action")
    search_fields = ("=subject_id", "actor_agency", "purpose")


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("chain", "seq", "hash", "signed_at", "key_id")


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("time", "type", "subject", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "type")
    search_fields = ("=id", "type", "subject")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "duration_ms", "error", "response_excerpt")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "target", "status", "attempts", "last_attempt_at", "delivered_at")
    list_filter = ("status",)
    search_fields = ("target", "=event__id")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Retry the selected deliveries now"))
    def retry_now(self, request, queryset) -> None:
        count = dispatch.retry(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be retried.",
                "%(count)d deliveries will be retried.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "event_types", "agency", "active")
    list_filter = ("active",)
    search_fields = ("name", "url")

    def save_model(self, request, obj, form, change) -> None:
        if not obj.secret:
            obj.secret = webhooks.new_secret()
        super().save_model(request, obj, form, change)


@admin.register(RetentionRecord)
class RetentionRecordAdmin(ReadOnlyAdmin):
    list_display = ("run_at", "category", "rule", "action", "count", "cutoff")
    list_filter = ("category", "action")
