"""The JSON API: one NinjaAPI under /api/v1 assembling the routers each app defines.

Errors are always JSON `{"detail": ...}` with a 4xx code; a request the API cannot
understand never becomes a 500.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.views import default_home

from joinedup import __version__
from joinedup.bundles.api import router as bundles_router
from joinedup.channels.api import router as channels_router
from joinedup.clientindex.api import router as clientindex_router
from joinedup.delivery.api import router as delivery_router
from joinedup.federation.api import router as federation_router
from joinedup.identity import guards
from joinedup.identity.api import router as identity_router
from joinedup.identity.api_auth import api_auth
from joinedup.performance.api import router as performance_router
from joinedup.rules.api import router as rules_router
from joinedup.sharing.api import router as sharing_router

api = NinjaAPI(
    title="Joinedup API",
    version=__version__,
    description=(
        "Joint delivery of public services across agencies and jurisdictions. "
        "Names come in the language asked for with Accept-Language (English or French)."
    ),
    urls_namespace="api",
    # The OpenAPI document and its browsable docs are public, like the catalogue.
    docs_decorator=guards.public,
)
# Every router is mounted with the policy rule its operations answer to (operations may
# declare a narrower one); the authorisation matrix test fails for any that declares none.
api.add_router("/", federation_router, auth=api_auth("public"))
api.add_router("/", identity_router)
# Life events: the catalogue of bundles is public; submissions and offers declare their rule.
api.add_router("/", bundles_router)
# /api/v1/ itself only points to the documentation.
guards.declare(default_home, "public")
api.add_router("/", sharing_router)
# Each delivery operation declares its own rule (public for document checks and webhooks).
api.add_router("/", delivery_router)
# Partner systems and appointments (each operation declares its rule).
api.add_router("/", channels_router)
# Published performance figures (public; each operation declares its rule).
api.add_router("/", performance_router)
# Rules as code: a public computation that stores nothing.
api.add_router("/", rules_router)
# The client index: agencies submit their client lists (the operation declares its rule).
api.add_router("/", clientindex_router)


#: The body of every refusal: `{"detail": ...}` (a message, or the list of a validation's
#: messages), with a machine `code` and the `errors` of invalid input when there are some.
REFUSAL = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]},
        "code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "errors": {"anyOf": [{"type": "array", "items": {}}, {"type": "null"}]},
    },
}


def document_refusals(target: NinjaAPI) -> None:
    """Write into each operation's OpenAPI answers the refusals it can give besides its own,
    so that the contract partners build against says them all: 401 (no or bad credentials:
    every operation reads the Authorization header), 429 (an API client beyond its rate),
    403 (the policy refuses: every rule but `public`), 404 (an unknown record in the path),
    400 and 422 (invalid input: operations that take any). An answer an operation documents
    itself is kept as it is."""
    for _prefix, router in target._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                actions = {getattr(auth, "action", None) for auth in operation.auth_callbacks or ()}
                codes = {401: "Not signed in, or the credentials are not valid."}
                codes[429] = "Too many requests from this API client (see Retry-After)."
                if actions - {"public", None}:
                    codes[403] = "The policy does not allow this."
                if "{" in path:
                    codes[404] = "Not found."
                if operation.models:
                    codes[400] = "The request is not valid."
                    codes[422] = "The request is not valid."
                declared = {int(code) for code in operation.response_models}
                extra = {
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": REFUSAL}},
                    }
                    for code, text in codes.items()
                    if code not in declared
                }
                operation.openapi_extra = {
                    **(operation.openapi_extra or {}),
                    "responses": {
                        **extra,
                        **((operation.openapi_extra or {}).get("responses") or {}),
                    },
                }


document_refusals(api)


@api.exception_handler(NinjaValidationError)
def invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": _("The request is not valid."), "errors": exc.errors}, status=422
    )


@api.exception_handler(ValidationError)
def invalid_data(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.messages}, status=400)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc) or _("You may not do this.")}, status=403
    )
