"""The entitlements in the admin: read, never edited — they are what the rules computed,
and a rerun of the population recomputes them."""

from django.contrib import admin

from .models import Entitlement


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ("person", "benefit", "period", "amount", "jurisdiction", "version")
    list_filter = ("period", "benefit", "jurisdiction")
    search_fields = ("benefit", "service", "person__family_name")
    readonly_fields = [f.name for f in Entitlement._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
