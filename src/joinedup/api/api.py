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
from joinedup.api.admission import BODY_METHODS
from joinedup.backoffice.api import router as backoffice_router
from joinedup.bundles.api import router as bundles_router
from joinedup.care.api import router as care_router
from joinedup.channels.api import router as channels_router
from joinedup.clientindex.api import router as clientindex_router
from joinedup.delivery.api import router as delivery_router
from joinedup.engagement.api import router as engagement_router
from joinedup.federation.api import router as federation_router
from joinedup.funding.api import router as funding_router
from joinedup.identity import guards, policy
from joinedup.identity.api import router as identity_router
from joinedup.identity.api_auth import PolicyAuth, api_auth
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
# Funding and results: public reads of what is published; writes declare their rule.
api.add_router("/", funding_router)
# Consultations and complaints (each operation declares its rule).
api.add_router("/", engagement_router)
# Human services: the directory in HSDS 3's own shape (public).
api.add_router("/", care_router)
# The client index: agencies submit their client lists (the operation declares its rule).
api.add_router("/", clientindex_router)
# Back-office shared services: agencies order and read statements (each declares its rule).
api.add_router("/", backoffice_router)


#: The body of every refusal: one schema, `joinedup.apicontract.Refusal`, for every app (the
#: operations that answer it themselves put it among the document's components).
REFUSAL = {"$ref": "#/components/schemas/Refusal"}


#: The header every operation reads: act for the person with this registry number.
ACTING_FOR = {
    "name": "X-Acting-For",
    "in": "header",
    "required": False,
    "description": "Act for this person (registry number) under a mandate the caller holds; "
    "empty: for oneself.",
    "schema": {"type": "string", "pattern": "^[0-9]{0,18}$"},
}


def document_refusals(target: NinjaAPI) -> None:
    """Write into each operation's OpenAPI answers the refusals it can give besides its own,
    so that the contract partners build against says them all: 401 (no or bad credentials:
    every operation reads the Authorization header), 429 (beyond a credential's rate), 400 (a
    malformed X-Acting-For, read by every operation), 403 (the policy refuses, or refuses the
    person asked for in X-Acting-For), 414 (an over-long URL), 422 (invalid input, a NUL
    character in the path or query included), 404 (an unknown record in the path), and for
    operations that take a body 413 (too large) and 415 (not JSON in UTF-8). An answer an
    operation documents itself is kept as it is. X-Acting-For is documented as a parameter.

    Public operations need no credential: their security says so (`{}`, none, or a bearer
    token, which is checked when sent), so that no partner is told to hold a token for them.
    """
    # Rules any caller passes, signed in or not (the policy's "public" scope).
    public = {rule.action for rule in policy.rules() if rule.scope == "public"}
    # The rule a router is mounted with, for its operations that declare none (bound later).
    mounted = {
        id(entry[1]): entry[2]
        for entry in target._router_registrations
        if isinstance(entry[2], PolicyAuth | list | tuple)
    }
    for _prefix, router in target._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                own = getattr(router, "auth", None)  # a router made with its own rule
                own = own if isinstance(own, PolicyAuth) else None
                auths = operation.auth_callbacks or mounted.get(id(router)) or own or ()
                auths = auths if isinstance(auths, list | tuple) else [auths]
                actions = {getattr(auth, "action", None) for auth in auths}
                codes = {401: "Not signed in, or the credentials are not valid."}
                codes[429] = "Too many requests with this credential (see Retry-After)."
                codes[400] = "The request is not valid."
                codes[414] = "The address of this request is too long."
                codes[422] = "The request is not valid."
                # Refused by the policy, or the X-Acting-For asked is not allowed (any rule).
                codes[403] = "The policy does not allow this."
                if "{" in path:
                    codes[404] = "Not found."
                if set(operation.methods) & BODY_METHODS:
                    codes[413] = "The request body is too large."
                    codes[415] = "The request body is not JSON in UTF-8."
                declared = {int(code) for code in operation.response_models}
                extra = {
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": REFUSAL}},
                    }
                    for code, text in codes.items()
                    if code not in declared
                }
                openapi_extra = dict(operation.openapi_extra or {})
                openapi_extra["parameters"] = [
                    *(openapi_extra.get("parameters") or []),
                    ACTING_FOR,
                ]
                if actions and actions <= public:
                    # Added to the bearer scheme ninja writes: either no credential or one.
                    openapi_extra["security"] = [{}]
                operation.openapi_extra = {
                    **openapi_extra,
                    "responses": {**extra, **(openapi_extra.get("responses") or {})},
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
