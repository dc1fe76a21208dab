"""The Django admin, guarded by the authorisation policy like every other page.

Only platform administrators (superusers who gave their second factor) pass `admin.site`.
The admin's own sign-in form is not used: it would skip the second factor and the lockout
page. Its address answers like any page the policy guards: sign in, give the second factor,
or be refused.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from . import acting, policy


class PolicyAdminSite(admin.AdminSite):
    site_header = _("Joinedup administration")
    site_title = _("Joinedup administration")

    def has_permission(self, request: HttpRequest) -> bool:
        return policy.decide(acting.for_request(request), "admin.site").allowed

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return _admin_login(request)

    login.policy_action = "admin.site"  # type: ignore[attr-defined]


@policy.requires("admin.site")
def _admin_login(request: HttpRequest) -> HttpResponse:
    """Anyone reaching this is already signed in as a platform administrator: go on."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    return redirect(target)
