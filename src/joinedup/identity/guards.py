"""How a page asks the authorisation policy: the view decorators, and what a refusal shows.

Every view declares its rule: `@requires(action)` (with a loader for the resource when the
rule looks at one) or `@public`. A view we do not write (Django's language switch, the API's
docs) is declared with `declare`. `declared_action` answers, for any URL's view, which rule
it declares — the authorisation matrix test fails for a view that declares none.

A refusal sends the person where they can fix it (sign in, give the second factor, prove
their identity to a higher level) with `next` set to come back; `next_target` reads it back,
safely, once they did.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.sites import AdminSite
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import acting
from .policy import Decision, decide, known

ViewFunc = Callable[..., HttpResponse]


def denied_response(request: HttpRequest, decision: Decision) -> HttpResponse:
    """Send the person where they can fix it (sign in, second factor, step up), else a 403."""
    nxt = request.get_full_path()
    if decision.code == "sign_in":
        return redirect(f"{reverse('identity:sign-in')}?{urlencode({'next': nxt})}")
    if decision.code == "second_factor":
        return redirect(f"{reverse('identity:two-factor')}?{urlencode({'next': nxt})}")
    if decision.code == "step_up" and decision.service_key:
        query = urlencode({"service": decision.service_key, "next": nxt})
        return redirect(f"{reverse('identity:step-up')}?{query}")
    return render(request, "identity/forbidden.html", {"reason": decision.reason}, status=403)


def next_target(request: HttpRequest, default: str = "identity:account") -> str:
    """Where to go once signed in (or stepped up): the `next` a refusal gave, if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def requires(action: str, resource: Callable[..., Any] | None = None):
    """Declare and enforce the rule of a view, which is then called as
    `view(request, context, *args, **kwargs)` — with the loaded resource after the context
    when a `resource(**url_kwargs)` loader is given. (A view without a `context` parameter
    is called without it.)

    The rule is first asked without the resource, so nobody learns whether a record exists
    unless they could in principle see it; then with it.
    """
    if not known(action):
        raise ValueError(f"no policy rule is registered for {action}")

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            context = acting.for_request(request)
            decision = decide(context, action)
            if not decision.allowed:
                return denied_response(request, decision)
            given = (context,) if takes_context else ()
            if resource is None:
                return view(request, *given, *args, **kwargs)
            loaded = resource(**kwargs)
            decision = decide(context, action, loaded)
            if not decision.allowed:
                return denied_response(request, decision)
            return view(request, *given, loaded, *args, **kwargs)

        # A view that has no use for the context (a public catalogue page) need not take it.
        takes_context = "context" in inspect.signature(view).parameters
        wrapper.policy_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(view: ViewFunc) -> ViewFunc:
    """Declare a view open to anyone; it still receives the acting context."""
    return requires("public")(view)


_DECLARED: dict[str, str] = {}


def declare(callback: Callable[..., Any], action: str) -> None:
    """Declare the rule of a view we do not write (Django's language switch, the API docs)."""
    if not known(action):
        raise ValueError(f"no policy rule is registered for {action}")
    _DECLARED[_qualified(callback)] = action


def _site_action(site: Any) -> str | None:
    """The rule an admin site asks in `has_permission`, if it names one (`policy_action`)."""
    return getattr(site, "policy_action", None) if isinstance(site, AdminSite) else None


def _admin_site_action(callback: Any, depth: int = 5) -> str | None:
    """The rule of the admin site whose `admin_view` wrapped the view, which asks that rule
    first. The site hides in the wrapper's attributes or its closures."""
    site = getattr(callback, "admin_site", None) or getattr(
        getattr(callback, "model_admin", None), "admin_site", None
    )
    if action := _site_action(site):
        return action
    if depth == 0:
        return None
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if action := _site_action(content):
            return action
        if callable(content) and (action := _admin_site_action(content, depth - 1)):
            return action
    return None


def _qualified(callback: Callable[..., Any]) -> str:
    return f"{callback.__module__}.{getattr(callback, '__qualname__', repr(callback))}"


def declared_action(callback: Callable[..., Any]) -> str | None:
    """The rule a URL's view declares, or None (the matrix test fails on None)."""
    action = getattr(callback, "policy_action", None)
    if action:
        return action
    if action := _admin_site_action(callback):
        return action  # every admin view passes through the site's has_permission
    target = getattr(callback, "view_class", None) or getattr(callback, "func", None) or callback
    return _DECLARED.get(_qualified(target))
