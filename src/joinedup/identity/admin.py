"""Admin pages for the identity records. Identifier values never show: only their last
characters. Secrets of tokens and API clients are never stored, so never shown either."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

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


class MembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    filter_horizontal = ["offices", "areas"]


@admin.register(User)
class AccountAdmin(UserAdmin):
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
class PersonAdmin(admin.ModelAdmin):
    list_display = ["pk", "family_name", "given_names", "birth_date", "preferred_language"]
    search_fields = ["family_name", "given_names", "preferred_name"]
    inlines = [IdentifierInline, AddressInline, ContactPointInline, ProofingInline]


@admin.register(IdentityProofing)
class IdentityProofingAdmin(admin.ModelAdmin):
    list_display = ["person", "level", "method", "agency", "office", "verified_at", "valid_until"]
    list_filter = ["level", "method", "agency"]
    raw_id_fields = ["person", "verified_by", "office", "agency"]


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["holder", "kind", "subject", "business", "valid_from", "valid_to", "revoked_at"]
    list_filter = ["kind"]
    raw_id_fields = ["holder", "subject", "business", "recorded_by"]


@admin.register(Relationship)
class RelationshipAdmin(admin.ModelAdmin):
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
