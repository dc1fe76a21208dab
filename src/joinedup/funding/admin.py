"""Administration of funding: logic models and indicators are edited freely by the site's
administrators; an allocation is changed only through the same rules as the API (checked,
with a reason, by the funder's supervisors or administrators); expenditures, values and the
change records are read here and written by their reporters."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from joinedup.identity import acting, policy

from . import flows
from .models import (
    Allocation,
    ChangeRecord,
    Expenditure,
    Finding,
    Indicator,
    IndicatorValue,
    OutcomeAgreement,
    OutcomePayment,
    Pilot,
    Place,
    Pool,
    Result,
    Review,
    Scenario,
)


class IndicatorInline(admin.StackedInline):
    model = Indicator
    extra = 0


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ("key", "program", "level", "position")
    list_filter = ("level",)
    search_fields = ("key", "names")
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("key", "result", "unit", "target_type", "source", "is_outcome_count")
    list_filter = ("source", "unit", "frequency")
    search_fields = ("key", "names")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(IndicatorValue)
class IndicatorValueAdmin(ReadOnly):
    list_display = ("indicator", "period_start", "period_end", "value", "current", "reported_at")
    list_filter = ("current",)


@admin.register(Expenditure)
class ExpenditureAdmin(ReadOnly):
    list_display = ("allocation", "period", "category", "phase", "amount", "ftes")
    list_filter = ("phase", "category")


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnly):
    list_display = ("at", "user", "agency", "record", "record_key", "action", "reason")
    list_filter = ("record", "action")


class AllocationForm(forms.ModelForm):
    reason = forms.CharField(label=_("why"), widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = Allocation
        fields = (
            "key",
            "kind",
            "funder",
            "recipient",
            "program",
            "fiscal_year",
            "calendar",
            "currency",
            "amount",
            "instrument",
            "condition",
            "source",
            "into_pool",
            "from_pool",
            "place",
            "conditions",
            "published",
            "illustrative",
        )

    def clean(self) -> dict:
        """The same rules as everywhere, before anything is saved."""
        data = super().clean()
        if not self.errors:
            for name, value in data.items():
                if name != "reason":
                    setattr(self.instance, name, value)
            if self.instance.calendar_id:
                for problem in flows.problems(self.instance):
                    self.add_error(None, problem)
        return data


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    form = AllocationForm
    list_display = ("key", "funder", "recipient", "program", "fiscal_year", "amount", "currency")
    list_filter = ("fiscal_year", "instrument", "condition", "published")
    search_fields = ("key",)
    raw_id_fields = ("source",)

    def has_change_permission(self, request: HttpRequest, obj: Allocation | None = None) -> bool:
        if obj is None:
            return super().has_change_permission(request, obj)
        context = acting.for_request(request)
        return (
            context.platform_admin or policy.decide(context, "funding.allocate", obj.funder).allowed
        )

    def save_model(self, request: HttpRequest, obj: Allocation, form, change: bool) -> None:
        context = acting.for_request(request)
        if not (
            context.platform_admin or policy.decide(context, "funding.allocate", obj.funder).allowed
        ):
            raise policy.PolicyDenied(policy.decide(context, "funding.allocate", obj.funder))
        try:
            flows.save_allocation(
                obj,
                user_id=request.user.pk,
                agency=context.agency_key or "",
                reason=form.cleaned_data["reason"],
            )
        except flows.FundingRefused as refused:
            messages.error(request, str(refused))


admin.site.register(Pool)
admin.site.register(OutcomeAgreement)
admin.site.register(OutcomePayment, ReadOnly)
admin.site.register(Scenario, ReadOnly)
admin.site.register(Review)
admin.site.register(Finding)


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "jurisdiction", "population", "synthetic")
    list_filter = ("kind", "synthetic")
    search_fields = ("key", "names")


@admin.register(Pilot)
class PilotAdmin(admin.ModelAdmin):
    """Pilots are data: what changes, where, since when, the measure and the comparison."""

    list_display = ("key", "change", "measure", "starts_on", "synthetic")
    list_filter = ("change", "measure", "synthetic")
    search_fields = ("key", "names")
    filter_horizontal = ("treated", "comparison")
