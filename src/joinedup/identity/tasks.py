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

from . import assurance, disclosure, policy
from .acting import ActingContext
from .models import ContactPoint, Person, User

#: What a copy of the record holds, read through the data gate.
RECORD_COPY = ("identity", "birth", "address", "contact")


@task()
def send_record_copy(context: str, person_id: int) -> str:
    """E-mail a person's record (identifiers masked) to the account that asked for it."""
    acting = ActingContext.from_json(context)
    person = Person.objects.get(pk=person_id)
    policy.require(acting, "person.view", person)
    # Through the data gate: only what may be shown is sent, and the read is in the ledger
    # of the person (unless they asked for their own copy).
    shown = disclosure.disclose(acting, person, RECORD_COPY, "record-copy").fields
    user = User.objects.get(pk=acting.user_id)
    with translation.override(user.preferred_language):
        body = render_to_string(
            "identity/email/record_body.txt",
            {
                "person": person,
                "birth_date": person.birth_date if "birth_date" in shown else None,
                "level": assurance.level_of(person),
                "identifiers": person.identifiers.all() if "masked_identifiers" in shown else [],
                "address": person.current_address() if "address" in shown else None,
                "contacts": ContactPoint.objects.filter(person=person)
                if {"email", "phone", "mobile"} & set(shown)
                else [],
            },
        )
        subject = render_to_string("identity/email/record_subject.txt", {"person": person}).strip()
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return user.email
