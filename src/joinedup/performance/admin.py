"""Administration of what performance figures depend on: costs, overheads, peer groups.

Facts, rollups and survey answers are read-only here: they change only through events and
`joinedup recompute-rollups`, so that published figures always follow from the facts.
"""

from django.contrib import admin

from .models import ChannelUnitCost, OverheadPool, PeerGroup, PlaceArea, StaffCostRate


@admin.register(ChannelUnitCost)
class ChannelUnitCostAdmin(admin.ModelAdmin):
    list_display = ("jurisdiction", "channel", "amount", "currency", "valid_from", "illustrative")
    list_filter = ("channel", "currency", "illustrative")
    search_fields = ("jurisdiction",)


@admin.register(StaffCostRate)
class StaffCostRateAdmin(admin.ModelAdmin):
    list_display = ("agency", "hourly", "currency", "valid_from", "illustrative")
    search_fields = ("agency",)


@admin.register(OverheadPool)
class OverheadPoolAdmin(admin.ModelAdmin):
    list_display = ("agency", "month", "amount", "currency", "basis", "description")
    list_filter = ("basis", "illustrative")
    search_fields = ("agency", "description")
    date_hierarchy = "month"


@admin.register(PeerGroup)
class PeerGroupAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "jurisdictions")
    search_fields = ("key",)


@admin.register(PlaceArea)
class PlaceAreaAdmin(admin.ModelAdmin):
    list_display = ("jurisdiction", "area")
    list_filter = ("area",)
    search_fields = ("jurisdiction",)
