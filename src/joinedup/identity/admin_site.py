"""The Django admin, guarded by the authorisation policy like every other page.

Only platform administrators (superusers who gave their second factor) pass `admin.site`.
The admin's own sign-in form is not used: it would skip the second factor and the lockout
page, so it sends people to the platform's sign-in instead.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import acting, policy


class PolicyAdminSite(admin.AdminSite):
    site_header = _("Joinedup administration")
    site_title = _("Joinedup administration")

    def has_permission(self, request: HttpRequest) -> bool:
        return policy.decide(acting.for_request(request), "admin.site").allowed

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        decision = policy.decide(acting.for_request(request), "admin.site")
        if decision.allowed:
            return redirect(request.GET.get("next") or reverse("admin:index"))
        if decision.code in {"sign_in", "second_factor"}:
            target = "identity:sign-in" if decision.code == "sign_in" else "identity:two-factor"
            query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
            return redirect(f"{reverse(target)}?{query}")
        return render(request, "identity/forbidden.html", {"reason": decision.reason}, status=403)

    login.policy_action = "public"  # type: ignore[attr-defined]
