"""Background work of the identity app. Each task receives the acting context of the request
that asked for it, as JSON, and asks the policy again: a task does no more than its requester
could have done, and when it runs later (a mandate may have ended) it is checked then.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task

from . import assurance, policy
from .acting import ActingContext
from .models import ContactPoint, Person, User


@task()
def send_record_copy(context: str, person_id: int) -> str:
    """E-mail a person's record (identifiers masked) to the account that asked for it."""
    acting = ActingContext.from_json(context)
    person = Person.objects.get(pk=person_id)
    policy.require(acting, "person.view", person)
    user = User.objects.get(pk=acting.user_id)
    with translation.override(user.preferred_language):
        body = render_to_string(
            "identity/email/record_body.txt",
            {
                "person": person,
                "level": assurance.level_of(person),
                "identifiers": person.identifiers.all(),
                "address": person.current_address(),
                "contacts": ContactPoint.objects.filter(person=person),
            },
        )
        subject = render_to_string("identity/email/record_subject.txt", {"person": person}).strip()
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return user.email
