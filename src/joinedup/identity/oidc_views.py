"""The two ends of an OpenID Connect sign-in: off to the provider, and back from it."""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from joserfc.errors import JoseError
from requests import RequestException

from . import accounts, acting, guards, oidc, providers

SESSION_NEXT = "identity.oidc_next"


def _client_or_404(provider: str):
    try:
        return oidc.client(provider)
    except providers.UnknownProvider:
        raise Http404(_("There is no sign-in service with this name.")) from None


def _unavailable(request: HttpRequest, provider: str) -> HttpResponse:
    return render(
        request,
        "identity/message.html",
        {
            "title": _("Sign-in service unavailable"),
            "text": _("%(name)s does not answer at the moment. Try again later.")
            % {"name": providers.provider_name(provider)},
        },
        status=503,
    )


@guards.public
def start(request: HttpRequest, provider: str) -> HttpResponse:
    client = _client_or_404(provider)
    request.session[SESSION_NEXT] = guards.next_target(request)
    callback_url = request.build_absolute_uri(reverse("oidc:callback", args=[provider]))
    try:
        return client.authorize_redirect(request, callback_url)
    except (RequestException, OAuthError, ValueError):
        return _unavailable(request, provider)


@guards.public
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    client = _client_or_404(provider)
    try:
        token = client.authorize_access_token(request)
    except (OAuthError, JoseError) as error:
        # A refusal at the provider, a forged or replayed callback, or an ID token whose
        # signature, issuer, audience, expiry or nonce does not check out.
        return render(
            request,
            "identity/message.html",
            {
                "title": _("Sign-in did not work"),
                "text": _("%(name)s did not confirm who you are (%(error)s). Try again.")
                % {
                    "name": providers.provider_name(provider),
                    "error": getattr(error, "error", "") or "error",
                },
            },
            status=400,
        )
    except RequestException:
        return _unavailable(request, provider)
    claims = dict(token.get("userinfo") or {})
    try:
        result = oidc.sign_in_with(provider, claims)
    except ValidationError as error:
        return render(
            request,
            "identity/message.html",
            {"title": _("Sign-in did not work"), "text": " ".join(error.messages)},
            status=400,
        )
    login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
    next_url = request.session.pop(SESSION_NEXT, None) or reverse("identity:account")
    if acting.needs_second_factor(result.user):
        target = "identity:two-factor"
        if accounts.confirmed_device(result.user) is None:
            target = "identity:two-factor-setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': next_url})}")
    return redirect(next_url)
