"""What every page's frame needs: whether the catalogue is only an illustration."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from joinedup import kept
from joinedup.federation.models import Jurisdiction

#: Whether any jurisdiction holds demonstration data, kept per process (`joinedup.kept`):
#: every page asks, and the answer changes only when a catalogue is loaded or edited. A save
#: in this process shows at once; other processes show it within the lifetime (a minute).
ILLUSTRATIVE = kept.Kept("web.illustrative", (Jurisdiction,))


def _illustrative() -> bool:
    return ILLUSTRATIVE.get("any", lambda: Jurisdiction.objects.filter(illustrative=True).exists())


def catalogue_notice(request: HttpRequest) -> dict:
    """`illustrative_catalogue`: true when any jurisdiction holds demonstration data.

    People must not mistake a demonstration for an official record, so every page says so.
    Lazy: a page that does not show the notice (an API error, a redirect) costs no query.
    """
    return {"illustrative_catalogue": SimpleLazyObject(_illustrative)}
