"""Sharing rules: data-sharing agreements made machine-checkable.

A federation's data-sharing agreement states its terms in free JSON; for the gate they must
say, without ambiguity, which categories (or fields) flow from which agency to which, for
which purposes, on which legal basis. Two shapes are understood:

    terms: {categories: [identity, birth], purposes: [sin-issuance], legal_basis: statute,
            fields: [given_names, birth_date], roles: [caseworker]}       # fields, roles optional

with the direction taken from the parties' roles (every `provider` party to every
`recipient` party), or, for agreements with flows in several directions:

    terms: {flows: [{from: serviceontario, to: esdc, categories: [...], purposes: [...],
                     legal_basis: consent}, ...]}

`sync_agreement` rebuilds the rules of one agreement whenever it or its parties change; rules
can also be entered by hand in the admin. A rule applies only while its agreement is in force.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency, Agreement, AgreementParty
from joinedup.identity.models import StaffMembership

from . import categories as data_categories
from .models import AGREEMENT_BASES, SharingRule

PURPOSE = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
PROVIDER_ROLES = {"provider", "source", "discloser"}
RECIPIENT_ROLES = {"recipient", "receiver"}


def _list_of_strings(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("%(name)s must be a list of names.") % {"name": name})
    return value


def validate_rule(rule: SharingRule) -> None:
    """Every name in a rule must be known: a typo must not silently widen or block sharing."""
    errors: dict[str, str] = {}
    cats = _list_of_strings(rule.categories, "categories")
    if not cats:
        errors["categories"] = _("Name at least one data category.")
    unknown = sorted(set(cats) - data_categories.known_categories())
    if unknown:
        errors["categories"] = _("Unknown data categories: %(names)s.") % {
            "names": ", ".join(unknown)
        }
    fields = _list_of_strings(rule.fields or [], "fields")
    strays = sorted(f for f in fields if data_categories.category_of(f) not in cats)
    if strays:
        errors["fields"] = _(
            "These fields are unknown or outside the rule's categories: %(names)s."
        ) % {"names": ", ".join(strays)}
    purposes = _list_of_strings(rule.purposes, "purposes")
    if not purposes or not all(PURPOSE.match(p) for p in purposes):
        errors["purposes"] = _(
            "Name at least one purpose, in lower case with dashes (e.g. sin-issuance)."
        )
    if rule.legal_basis not in AGREEMENT_BASES:
        errors["legal_basis"] = _("The legal basis must be statute, public_task or consent.")
    roles = _list_of_strings(rule.roles or [], "roles")
    bad_roles = sorted(set(roles) - set(StaffMembership.Role.values))
    if bad_roles:
        errors["roles"] = _("Unknown staff roles: %(names)s.") % {"names": ", ".join(bad_roles)}
    if rule.provider_id and rule.provider_id == rule.recipient_id:
        errors["recipient"] = _("An agency does not need a rule to use its own data.")
    if rule.valid_to and rule.valid_from and rule.valid_to < rule.valid_from:
        errors["valid_to"] = _("A rule cannot end before it starts.")
    if errors:
        raise ValidationError(errors)


def _flows(agreement: Agreement) -> list[dict]:
    terms = agreement.terms or {}
    if not isinstance(terms, dict):
        raise ValidationError(_("The agreement's terms must be an object."))
    if "flows" in terms:
        if not isinstance(terms["flows"], list) or not terms["flows"]:
            raise ValidationError(_("flows must be a non-empty list."))
        return terms["flows"]
    parties = list(agreement.parties.select_related("agency"))
    providers = [p.agency.key for p in parties if p.role.strip().lower() in PROVIDER_ROLES]
    recipients = [p.agency.key for p in parties if p.role.strip().lower() in RECIPIENT_ROLES]
    if not providers or not recipients:
        raise ValidationError(
            _(
                "A data-sharing agreement needs a party with the role provider and one with "
                "the role recipient, or flows in its terms."
            )
        )
    return [{**terms, "from": a, "to": b} for a in providers for b in recipients if a != b]


def rules_from_agreement(agreement: Agreement) -> list[SharingRule]:
    """The (unsaved, validated) rules an agreement's terms describe."""
    party_keys = set(agreement.parties.values_list("agency__key", flat=True))
    agencies = {a.key: a for a in Agency.objects.filter(key__in=party_keys)}
    rules = []
    for index, flow in enumerate(_flows(agreement)):
        if not isinstance(flow, dict):
            raise ValidationError(_("Each flow must be an object."))
        ends = (flow.get("from"), flow.get("to"))
        if not all(key in agencies for key in ends):
            raise ValidationError(
                _("Flow %(n)s names an agency that is not a party: %(keys)s.")
                % {"n": index + 1, "keys": ", ".join(str(k) for k in ends)}
            )
        rule = SharingRule(
            agreement=agreement,
            source=SharingRule.Source.AGREEMENT,
            provider=agencies[ends[0]],
            recipient=agencies[ends[1]],
            categories=flow.get("categories", []),
            fields=flow.get("fields", []),
            purposes=flow.get("purposes", []),
            legal_basis=flow.get("legal_basis", ""),
            roles=flow.get("roles", []),
            valid_from=agreement.start_date,
            valid_to=agreement.end_date,
        )
        validate_rule(rule)
        rules.append(rule)
    return rules


def sync_agreement(agreement: Agreement) -> list[SharingRule]:
    """Replace the rules derived from one agreement; an unreadable agreement derives none."""
    with transaction.atomic():
        SharingRule.objects.filter(
            agreement=agreement, source=SharingRule.Source.AGREEMENT
        ).delete()
        if agreement.kind != Agreement.Kind.DATA_SHARING:
            return []
        rules = rules_from_agreement(agreement)
        for rule in rules:
            rule.save()
    return rules


def sync_all() -> tuple[int, list[str]]:
    """Rebuild every agreement's rules: (rules written, problems by agreement key)."""
    written, problems = 0, []
    for agreement in Agreement.objects.filter(kind=Agreement.Kind.DATA_SHARING):
        try:
            written += len(sync_agreement(agreement))
        except ValidationError as error:
            problems.append(f"{agreement.key}: {'; '.join(error.messages)}")
    return written, problems


def in_force(
    provider: Agency, recipient: Agency, purpose: str, day: datetime.date | None = None
) -> list[SharingRule]:
    """The rules that let `provider` share with `recipient` for `purpose` on `day`."""
    day = day or timezone.localdate()
    # The agreements in force as a subquery of the same statement (it was a read of its own:
    # every decision between two agencies asks).
    agreements_in_force = Agreement.objects.in_force_on(day).values("pk")
    candidates: QuerySet[SharingRule] = (
        SharingRule.objects.filter(provider=provider, recipient=recipient, active=True)
        .filter(valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .filter(Q(agreement__isnull=True) | Q(agreement__in=agreements_in_force))
        .select_related("agreement")
    )
    return [rule for rule in candidates if purpose in rule.purposes]


def permitted_fields(rule: SharingRule) -> set[str]:
    return set(rule.fields) if rule.fields else set(data_categories.fields_of(rule.categories))


# --- Keeping derived rules in step with the agreements -------------------------------------


class _Sync:
    """An on-commit callback that rebuilds one agreement's rules (once per transaction)."""

    def __init__(self, agreement_id: int):
        self.agreement_id = agreement_id

    def __call__(self) -> None:
        agreement = Agreement.objects.filter(pk=self.agreement_id).first()
        if agreement is None:
            return
        try:
            sync_agreement(agreement)
        except ValidationError:
            # The terms are unreadable: no rule at all rather than a guessed one.
            SharingRule.objects.filter(
                agreement=agreement, source=SharingRule.Source.AGREEMENT
            ).delete()


def _sync_later(agreement_id: int | None) -> None:
    if agreement_id is None:
        return
    waiting = connection.run_on_commit if connection.in_atomic_block else []
    if any(getattr(entry[1], "agreement_id", None) == agreement_id for entry in waiting):
        return
    transaction.on_commit(_Sync(agreement_id))


@receiver(post_save, sender=Agreement)
def _agreement_saved(sender, instance: Agreement, raw: bool = False, **kwargs) -> None:
    if not raw:
        _sync_later(instance.pk)


@receiver(post_save, sender=AgreementParty)
@receiver(post_delete, sender=AgreementParty)
def _party_changed(sender, instance: AgreementParty, raw: bool = False, **kwargs) -> None:
    if not raw:
        _sync_later(instance.agreement_id)


def describe(rules: Iterable[SharingRule]) -> list[str]:
    return [str(rule) for rule in rules]
