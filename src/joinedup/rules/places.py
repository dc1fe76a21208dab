"""Where rules apply: a place's jurisdictions from the root down, from the registry."""

from __future__ import annotations

from django.utils.translation import gettext as _

from joinedup.federation.models import Jurisdiction

from .errors import UnknownPlace


def jurisdictions_at(code: str) -> list[str]:
    """The codes of the place and of each jurisdiction above it, the root first (CA,
    CA-ON, CA-ON-TOR): every level whose rules stack there."""
    path = Jurisdiction.objects.filter(code=code).values_list("path", flat=True).first()
    if not path:
        raise UnknownPlace(_("No jurisdiction has the code %(code)s.") % {"code": code})
    return path.split("/")
