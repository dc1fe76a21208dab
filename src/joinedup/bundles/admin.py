"""Admin for the legs other nodes sent here (`ForeignLeg`): read-only, since each is the record
of a message received and of the application it became (evidence, like the exchange's
message logs). The person shows as their number only: their name is read, through the data
gate, on the application's own pages."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ForeignLeg


@admin.register(ForeignLeg)
class ForeignLegAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "from_node",
        "home_reference",
        "application",
        "last_status",
        "last_due_date",
    )
    list_filter = ("from_node", "last_status")
    search_fields = ("=message_id", "=home_reference", "conversation")
    list_select_related = ("from_node", "application__service")
    fields = (
        "from_node",
        "message_id",
        "conversation",
        "purpose",
        "home_leg",
        "home_reference",
        "application",
        "person_number",
        "last_status",
        "last_due_date",
        "received_at",
    )
    readonly_fields = fields

    @admin.display(description=_("person (number)"))
    def person_number(self, obj: ForeignLeg) -> int:
        return obj.subject_id

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
