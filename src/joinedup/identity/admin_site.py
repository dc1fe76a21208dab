"""The Django admin, guarded by the authorisation policy like every other page.

Only platform administrators (superusers who gave their second factor) pass `admin.site`,
the rule registered here with the site it guards. The admin's own sign-in form is not used:
it would skip the second factor and the lockout page. Its address answers like any page the
policy guards: sign in, give the second factor, or be refused.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import acting, guards, policy
from .acting import ActingContext
from .policy import Decision, allow, deny, must_sign_in, rule

ACTION = "admin.site"


@rule(
    ACTION,
    scope="write",
    description=gettext_lazy(
        "Platform administrators (superusers, with their second factor) use the admin site."
    ),
)
def _admin_site(context: ActingContext, resource: Any) -> Decision:
    if denial := must_sign_in(context):
        return denial
    if context.platform_admin and context.token_id is None:
        return allow()
    return deny("forbidden", _("Only platform administrators use the administration site."))


class PolicyAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Joinedup administration")
    site_title = gettext_lazy("Joinedup administration")
    #: The rule `has_permission` asks for every page of the site (`guards.declared_action`
    #: reads it to know what the site's views declare).
    policy_action = ACTION

    def has_permission(self, request: HttpRequest) -> bool:
        return policy.decide(acting.for_request(request), self.policy_action).allowed

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return _admin_login(request)

    login.policy_action = ACTION  # type: ignore[attr-defined]


@guards.requires(ACTION)
def _admin_login(request: HttpRequest) -> HttpResponse:
    """Anyone reaching this is already signed in as a platform administrator: go on."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return redirect(target)
