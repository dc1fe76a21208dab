"""Administration of the channels' records: appointment times are opened here (or with
`joinedup open-slots`); contacts, appointments and birth notices are read here, not edited,
because they are the record of what happened."""

from django.contrib import admin

from .models import Appointment, BirthNotice, CallTask, Interaction, Slot


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: searchable, never changed by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AppointmentInline(admin.TabularInline):
    model = Appointment
    fields = ("seat", "person", "service", "status", "channel")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ("office", "starts_at", "minutes", "capacity")
    list_filter = ("office__agency", "office")
    date_hierarchy = "starts_at"
    search_fields = ("office__key",)
    autocomplete_fields = ("office",)
    inlines = [AppointmentInline]


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ("slot", "seat", "person", "service", "status", "channel")
    list_filter = ("status", "channel")
    search_fields = ("slot__office__key", "person__family_name")


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "channel", "agency", "office", "agent", "person", "started_at")
    list_filter = ("channel", "agency")
    date_hierarchy = "started_at"


@admin.register(CallTask)
class CallTaskAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "agency", "status")
    list_filter = ("kind", "status", "agency")


@admin.register(BirthNotice)
class BirthNoticeAdmin(ReadOnlyAdmin):
    list_display = (
        "notice_id",
        "client",
        "agency",
        "child_birth_date",
        "received_at",
        "matched_at",
    )
    list_filter = ("agency",)
    search_fields = ("notice_id", "mother_family_name")
