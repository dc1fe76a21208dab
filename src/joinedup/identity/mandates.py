"""Acting for someone: relationships, mandates, and whom a person may act for today.

A mandate is checked every time it is used, never cached in a session: an expired or revoked
mandate stops working at once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Business, Mandate, Person, Relationship, User

ALL_SCOPES = tuple(Mandate.Scope.values)


def in_force(on: datetime.date | None = None) -> QuerySet[Mandate]:
    day = on or timezone.localdate()
    return Mandate.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day), revoked_at=None, valid_from__lte=day
    )


def mandate_for(
    holder_id: int | None, subject_id: int | None, on: datetime.date | None = None
) -> Mandate | None:
    """The mandate in force by which the holder acts for the subject (widest scope first)."""
    if holder_id is None or subject_id is None:
        return None
    mandates = list(in_force(on).filter(holder_id=holder_id, subject_id=subject_id))
    return max(mandates, key=lambda m: len(m.scopes), default=None)


def acting_for(holder: Person | None) -> list[Mandate]:
    """The mandates in force that the person holds, for people and businesses."""
    if holder is None:
        return []
    return list(
        in_force().filter(holder=holder).select_related("subject", "business").order_by("pk")
    )


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if not scopes or unknown:
        raise ValidationError(
            {"scopes": _("Choose the scope among: %(known)s.") % {"known": ", ".join(ALL_SCOPES)}},
            code="scope",
        )
    return scopes


def grant_mandate(
    *,
    holder: Person,
    kind: str,
    subject: Person | None = None,
    business: Business | None = None,
    scopes: Iterable[str] = ("view",),
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
    basis: str = "",
    recorded_by: User | None = None,
) -> Mandate:
    """Record a mandate after checking it makes sense; an already expired one is refused."""
    today = timezone.localdate()
    valid_from = valid_from or today
    errors: dict[str, str] = {}
    if kind not in Mandate.Kind.values:
        errors["kind"] = _("Choose a kind of mandate.")
    if (subject is None) == (business is None):
        errors["subject"] = _("A mandate is for one person or one business.")
    if kind == Mandate.Kind.BUSINESS_REPRESENTATIVE and business is None:
        errors["business"] = _("A business representative acts for a business.")
    if kind != Mandate.Kind.BUSINESS_REPRESENTATIVE and business is not None:
        errors["business"] = _("Only a business representative acts for a business.")
    if subject is not None and subject.pk == holder.pk:
        errors["subject"] = _("A person does not need a mandate to act for themselves.")
    if valid_to is not None and valid_to < valid_from:
        errors["valid_to"] = _("A mandate cannot end before it starts.")
    elif valid_to is not None and valid_to < today:
        errors["valid_to"] = _("This mandate has already expired; it cannot be recorded.")
    if errors:
        raise ValidationError(errors)
    mandate = Mandate(
        holder=holder,
        kind=kind,
        subject=subject,
        business=business,
        scopes=_check_scopes(scopes),
        valid_from=valid_from,
        valid_to=valid_to,
        basis=basis,
        recorded_by=recorded_by,
    )
    mandate.full_clean()
    mandate.save()
    return mandate


def age_of_majority_eve(birth_date: datetime.date, age: int) -> datetime.date:
    try:
        birthday = birth_date.replace(year=birth_date.year + age)
    except ValueError:  # born on 29 February
        birthday = birth_date.replace(year=birth_date.year + age, day=28)
    return birthday - datetime.timedelta(days=1)


def grant_parental_mandate(
    parent: Person,
    child: Person,
    *,
    age_of_majority: int = 18,
    basis: str = "",
    recorded_by: User | None = None,
) -> Mandate:
    """A parent acts for their minor child until the eve of the age of majority."""
    if child.birth_date is None:
        raise ValidationError(
            {"subject": _("The child's birth date is needed to know when the mandate ends.")}
        )
    ends = age_of_majority_eve(child.birth_date, age_of_majority)
    if ends < timezone.localdate():
        raise ValidationError(
            {"subject": _("This person is of age: a parent no longer acts for them by default.")}
        )
    with transaction.atomic():
        Relationship.objects.get_or_create(
            person=parent,
            kind=Relationship.Kind.PARENT_OF,
            related_person=child,
            defaults={"valid_from": child.birth_date},
        )
        return grant_mandate(
            holder=parent,
            kind=Mandate.Kind.PARENT,
            subject=child,
            scopes=ALL_SCOPES,
            valid_from=child.birth_date,
            valid_to=ends,
            basis=basis or _("Parent of a minor child"),
            recorded_by=recorded_by,
        )


def revoke(mandate: Mandate) -> None:
    if mandate.revoked_at is None:
        mandate.revoked_at = timezone.now()
        mandate.save(update_fields=["revoked_at"])
