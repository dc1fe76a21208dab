"""What every page's frame needs: whether the catalogue is only an illustration."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from joinedup.federation.models import Jurisdiction


def catalogue_notice(request: HttpRequest) -> dict:
    """`illustrative_catalogue`: true when any jurisdiction holds demonstration data.

    People must not mistake a demonstration for an official record, so every page says so.
    Lazy: a page that does not show the notice (an API error, a redirect) costs no query.
    """
    return {
        "illustrative_catalogue": SimpleLazyObject(
            lambda: Jurisdiction.objects.filter(illustrative=True).exists()
        )
    }
