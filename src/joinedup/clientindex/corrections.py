"""A person asks for a correction of the links the index holds about them: recorded, and
announced through the outbox so that the data stewards' tools can pick it up."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from joinedup.federation.models import Agency
from joinedup.identity.models import Person
from joinedup.sharing import outbox

from .models import CorrectionRequest


def request_correction(person: Person, message: str, agency: Agency | None = None):
    """Record the request (with the agency it is about, if any) and announce it."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": _("Say what is wrong.")})
    if len(message) > 2000:
        raise ValidationError({"message": _("Write at most 2,000 characters.")})
    with transaction.atomic():
        request = CorrectionRequest.objects.create(person=person, agency=agency, message=message)
        outbox.emit(
            "org.joinedup.clientindex.correction.requested",
            subject=str(person.pk),
            data={"request": request.pk, "agency": agency.key if agency else None},
        )
    return request
