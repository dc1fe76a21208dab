"""Admin for the federation registry: search, filters and inlines for every record."""

import datetime

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    Agency,
    Agreement,
    AgreementParty,
    FederationLoad,
    Jurisdiction,
    LifeSituation,
    Offering,
    Office,
    PartnerRole,
    Program,
    Service,
)


class NameColumn:
    @admin.display(description=_("name"))
    def display_name(self, obj) -> str:
        return obj.name


class ChildJurisdictionInline(admin.TabularInline):
    model = Jurisdiction
    fk_name = "parent"
    fields = ("code", "level", "names", "time_zone")
    extra = 0
    show_change_link = True


@admin.register(Jurisdiction)
class JurisdictionAdmin(NameColumn, admin.ModelAdmin):
    list_display = (
        "code",
        "display_name",
        "level",
        "parent",
        "time_zone",
        "holiday_country",
        "holiday_subdivision",
        "currency",
        "fiscal_year_first_month",
        "illustrative",
    )
    list_filter = ("level", "holiday_country", "illustrative")
    search_fields = ("code", "names")
    readonly_fields = ("path",)
    autocomplete_fields = ("parent",)
    inlines = [ChildJurisdictionInline]


class OfficeInline(admin.StackedInline):
    model = Office
    extra = 0
    autocomplete_fields = ("jurisdiction",)
    show_change_link = True


@admin.register(Agency)
class AgencyAdmin(NameColumn, admin.ModelAdmin):
    list_display = ("key", "display_name", "kind", "jurisdiction")
    list_filter = ("kind", "jurisdiction__level")
    search_fields = ("key", "search_text")
    autocomplete_fields = ("jurisdiction",)
    inlines = [OfficeInline]


@admin.register(Office)
class OfficeAdmin(NameColumn, admin.ModelAdmin):
    list_display = ("key", "display_name", "agency", "jurisdiction", "locality")
    list_filter = ("agency__kind", "jurisdiction")
    search_fields = ("key", "names", "locality", "postal_code", "agency__key")
    autocomplete_fields = ("agency", "jurisdiction")


@admin.register(Program)
class ProgramAdmin(NameColumn, admin.ModelAdmin):
    list_display = ("key", "display_name", "agency")
    list_filter = ("agency__jurisdiction",)
    search_fields = ("key", "names", "agency__key")
    autocomplete_fields = ("agency",)


@admin.register(LifeSituation)
class LifeSituationAdmin(NameColumn, admin.ModelAdmin):
    list_display = ("key", "display_name", "position")
    search_fields = ("key", "names")


class OfferingInline(admin.TabularInline):
    model = Offering
    extra = 0
    autocomplete_fields = ("area", "agency", "program", "offices")


class PartnerRoleInline(admin.TabularInline):
    model = PartnerRole
    extra = 0
    autocomplete_fields = ("agency",)


@admin.register(Service)
class ServiceAdmin(NameColumn, admin.ModelAdmin):
    list_display = (
        "key",
        "display_name",
        "frame",
        "client_type",
        "scope",
        "standard_days",
        "standard_day_kind",
        "fee_amount",
        "required_assurance",
    )
    list_filter = (
        "frame",
        "client_type",
        "required_assurance",
        "standard_day_kind",
        "scope",
        "life_situations",
    )
    search_fields = ("key", "search_text")
    autocomplete_fields = ("scope", "program")
    filter_horizontal = ("life_situations",)
    inlines = [OfferingInline, PartnerRoleInline]


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = ("service", "area", "agency", "standard_days", "fee_amount")
    list_filter = ("area__level", "agency__kind")
    search_fields = ("service__key", "area__code", "agency__key")
    autocomplete_fields = ("service", "area", "agency", "program", "offices")


class AgreementPartyInline(admin.TabularInline):
    model = AgreementParty
    extra = 0
    autocomplete_fields = ("agency",)


class AgreementStatusFilter(admin.SimpleListFilter):
    title = _("status today")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("in_force", _("In force")), ("not_in_force", _("Not in force"))]

    def queryset(self, request, queryset):
        in_force = Agreement.objects.in_force_on(datetime.date.today()).values("pk")
        if self.value() == "in_force":
            return queryset.filter(pk__in=in_force)
        if self.value() == "not_in_force":
            return queryset.exclude(pk__in=in_force)
        return queryset


@admin.register(Agreement)
class AgreementAdmin(NameColumn, admin.ModelAdmin):
    list_display = ("key", "display_name", "kind", "start_date", "end_date", "status_today")
    list_filter = ("kind", AgreementStatusFilter)
    search_fields = ("key", "names", "parties__agency__key")
    filter_horizontal = ("services",)
    inlines = [AgreementPartyInline]

    @admin.display(description=_("status today"))
    def status_today(self, obj: Agreement) -> str:
        return obj.status.label


@admin.register(FederationLoad)
class FederationLoadAdmin(admin.ModelAdmin):
    list_display = ("name", "loaded_at", "illustrative", "source")
    readonly_fields = ("name", "source", "checksum", "illustrative", "counts", "loaded_at")

    def has_add_permission(self, request) -> bool:
        return False
