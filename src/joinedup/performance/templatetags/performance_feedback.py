"""The satisfaction survey on pages of apps below this one (a person's list of applications).

Delivery must not import performance, so its templates ask here, by name, which of the
listed applications have a survey waiting for the signed-in person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from joinedup.identity import acting, policy

from .. import surveys

register = template.Library()


@register.simple_tag(takes_context=True)
def feedback_invitations(context: template.Context, applications: Iterable[Any]) -> dict:
    """{% feedback_invitations applications as invited %}: application id → invitation id.

    Empty when the reader may not answer surveys (someone acting for another person, staff):
    the survey is for the person who used the service, and a link they cannot follow helps
    nobody.
    """
    request = context.get("request")
    if request is None:
        return {}
    acting_context = acting.for_request(request)
    if not policy.decide(acting_context, "performance.feedback.mine").allowed:
        return {}
    return surveys.open_for_applications(
        (application.pk for application in applications), acting_context.person_id
    )
