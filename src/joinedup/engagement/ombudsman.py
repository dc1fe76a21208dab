"""The ombudsman a complaint goes to last: the one of the agency's jurisdiction, else of the
nearest jurisdiction above it (a city's complaints go to the province's ombudsman when the
city has none). Ombudsmen are agencies of kind `ombudsman` in the federation registry."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from joinedup.federation.models import Agency, Jurisdiction

#: The registry's name for the kind, translated with this app's messages (the kind was
#: added to the federation registry for complaints).
KIND_LABEL = gettext_lazy("Ombudsman")


def ombudsman_for(jurisdiction: Jurisdiction | None) -> Agency | None:
    """The ombudsman of the jurisdiction or its nearest ancestor that has one; None if none."""
    if jurisdiction is None:
        return None
    codes = jurisdiction.ancestor_codes
    found = {
        a.jurisdiction.code: a
        for a in Agency.objects.filter(
            kind=Agency.Kind.OMBUDSMAN, jurisdiction__code__in=codes
        ).select_related("jurisdiction")
    }
    for code in reversed(codes):
        if code in found:
            return found[code]
    return None
