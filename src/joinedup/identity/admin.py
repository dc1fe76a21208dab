"""Admin pages for the identity records. Identifier values never show: only their last
characters. Secrets of tokens and API clients are never stored, so never shown either."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from . import acting, disclosure
from .models import (
    Address,
    ApiClient,
    Business,
    ContactPoint,
    ExternalAccount,
    IdentityProofing,
    Mandate,
    Person,
    PersonalToken,
    PersonIdentifier,
    Relationship,
    StaffMembership,
    User,
)


class LedgeredAdmin(admin.ModelAdmin):
    """A model admin whose pages show people's records: each person shown (on a list page,
    every person of the page; on a record's own pages, its people) is recorded in their
    ledger through the data gate, as platform administration."""

    #: Names of the record's fields that hold a Person (itself: "").
    people_in: tuple[str, ...] = ()

    def _people(self, objects) -> list[Person]:
        found: dict[int, Person] = {}
        for obj in objects:
            for name in self.people_in:
                person = obj if not name else getattr(obj, name, None)
                if isinstance(person, Person):
                    found[person.pk] = person
        return list(found.values())

    def _record(self, request, objects) -> None:
        context = acting.for_request(request)
        for person in self._people(objects):
            disclosure.disclose(context, person, ADMIN_READ, disclosure.ADMINISTRATION)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        if "cl" in changelist:
            self._record(request, changelist["cl"].result_list)
        return response

    def _with_object(self, view, request, object_id, *args, **kwargs):
        response = view(request, object_id, *args, **kwargs)
        if response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                self._record(request, [obj])
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._with_object(super().change_view, request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._with_object(super().delete_view, request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self._with_object(super().history_view, request, object_id, extra_context)


#: What the admin's pages of a person's records may show of them (recorded as read).
ADMIN_READ = ("identity", "birth", "address", "contact", "family")


class MembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    filter_horizontal = ["offices", "areas"]


@admin.register(User)
class AccountAdmin(LedgeredAdmin, UserAdmin):
    people_in = ("person",)
    list_display = ["username", "email", "person", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "person__family_name"]
    raw_id_fields = ["person"]
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Identity"), {"fields": ("person", "preferred_language")}),
    )
    inlines = [MembershipInline]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    raw_id_fields = ["jurisdiction"]


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class IdentifierInline(admin.TabularInline):
    model = PersonIdentifier
    extra = 0
    fields = ["kind", "masked", "issued_by", "added_at"]
    readonly_fields = ["kind", "masked", "issued_by", "added_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # identifiers are added through the registry, which validates them

    @admin.display(description=_("value"))
    def masked(self, obj: PersonIdentifier) -> str:
        return obj.masked


class ProofingInline(admin.TabularInline):
    model = IdentityProofing
    extra = 0
    fields = ["level", "method", "evidence", "agency", "office", "verified_at", "valid_until"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # proofs are recorded by staff at a counter or by a sign-in service


@admin.register(Person)
class PersonAdmin(LedgeredAdmin):
    people_in = ("",)
    list_display = ["pk", "family_name", "given_names", "birth_date", "preferred_language"]
    search_fields = ["family_name", "given_names", "preferred_name"]
    inlines = [IdentifierInline, AddressInline, ContactPointInline, ProofingInline]


@admin.register(IdentityProofing)
class IdentityProofingAdmin(LedgeredAdmin):
    people_in = ("person",)
    list_display = ["person", "level", "method", "agency", "office", "verified_at", "valid_until"]
    list_filter = ["level", "method", "agency"]
    raw_id_fields = ["person", "verified_by", "office", "agency"]


@admin.register(Mandate)
class MandateAdmin(LedgeredAdmin):
    people_in = ("holder", "subject")
    list_display = ["holder", "kind", "subject", "business", "valid_from", "valid_to", "revoked_at"]
    list_filter = ["kind"]
    raw_id_fields = ["holder", "subject", "business", "recorded_by"]


@admin.register(Relationship)
class RelationshipAdmin(LedgeredAdmin):
    people_in = ("person", "related_person")
    list_display = ["person", "kind", "related_person", "valid_from", "valid_to"]
    raw_id_fields = ["person", "related_person"]


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "business_number", "jurisdiction"]
    search_fields = ["legal_name", "business_number"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "agency", "role", "valid_from", "valid_to"]
    list_filter = ["role", "agency"]
    raw_id_fields = ["user"]
    filter_horizontal = ["offices", "areas"]


class CredentialAdmin(admin.ModelAdmin):
    readonly_fields = ["key_id", "created_at", "last_used_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request) -> bool:
        return False  # made with `joinedup token` or the API, which show the secret once


@admin.register(PersonalToken)
class PersonalTokenAdmin(CredentialAdmin):
    list_display = ["name", "user", "key_id", "scopes", "expires_at", "revoked_at"]
    raw_id_fields = ["user"]


@admin.register(ApiClient)
class ApiClientAdmin(CredentialAdmin):
    list_display = ["name", "agency", "role", "key_id", "scopes", "expires_at", "revoked_at"]


@admin.register(ExternalAccount)
class ExternalAccountAdmin(admin.ModelAdmin):
    list_display = ["provider", "subject", "user", "linked_at", "last_sign_in"]
    raw_id_fields = ["user"]
