"""The policy's hook into the JSON API: authentication and authorisation in one auth object.

Each router or operation is registered with `api_auth(action)`. It builds the acting context
from a bearer credential (a personal token or an agency API client) or the browser session
(with its CSRF check for writes), asks the policy, and hands the context to the endpoint as
`request.auth`. `X-Acting-For: <person id>` asks to act for someone under a mandate.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from . import acting, policy, tokens
from .acting import ActingContext, ActingError
from .models import PersonalToken

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _acting_for(request: HttpRequest) -> int | None:
    raw = request.headers.get("X-Acting-For", "")
    if raw == "":
        return None
    # ASCII digits only (str.isdigit() also takes "²"), and a number the database can hold.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HttpError(400, _("X-Acting-For must be a person's registry number."))
    return int(raw)


def context_for_api(request: HttpRequest) -> ActingContext:
    """The acting context of an API request (the one place the API reads a request)."""
    header = request.headers.get("Authorization", "")
    subject_id = _acting_for(request)
    try:
        if header:
            scheme, _sep, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError(message=_("Use Authorization: Bearer <token>."))
            credential = tokens.authenticate_request(request, value.strip())
            if credential is None:
                raise AuthenticationError(
                    message=_("This token is not valid, has expired or was revoked.")
                )
            if isinstance(credential, PersonalToken):
                return acting.for_user(
                    credential.user,
                    # A token is its own credential, issued to the account by an administrator
                    # or through a signed-in (second-factor) session; it stands in for the OTP.
                    second_factor=True,
                    subject_id=subject_id,
                    channel="api",
                    token_id=credential.pk,
                    scopes=tuple(credential.scopes),
                    strict=True,
                    # Read with the token, in its statement (`tokens.authenticate`).
                    level=getattr(credential, "person_level", None),
                    holds_membership=getattr(credential, "holds_membership", None),
                )
            if subject_id is not None:
                raise ActingError(_("An agency API client does not act for a person."))
            return acting.for_api_client(credential)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if request.method not in SAFE_METHODS:
                failure = check_csrf(request)
                if failure:
                    raise AuthorizationError(message=_("The CSRF check failed."))
            context = acting.for_request(request)
            if subject_id is not None and subject_id != context.subject_id:
                context = acting.for_user(
                    user,
                    second_factor=context.second_factor,
                    subject_id=subject_id,
                    membership_id=context.membership_id,
                    strict=True,
                )
            return context
    except ActingError as error:
        raise AuthorizationError(message=str(error)) from None
    if subject_id is not None:
        raise AuthenticationError(message=_("Sign in to act for someone."))
    return acting.ANONYMOUS


class PolicyAuth(AuthBase):
    """django-ninja auth that asks the policy; the declared rule is kept in `action`."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, action: str):
        if action not in {rule.action for rule in policy.rules()}:
            raise ValueError(f"no policy rule is registered for {action}")
        self.action = action
        super().__init__()

    def __call__(self, request: HttpRequest) -> Any:
        context = context_for_api(request)
        decision = policy.decide(context, self.action)
        if decision.allowed:
            return context
        if context.is_anonymous or decision.code == "sign_in":
            raise AuthenticationError(message=decision.reason)
        raise AuthorizationError(message=decision.reason)


def api_auth(action: str) -> PolicyAuth:
    return PolicyAuth(action)
