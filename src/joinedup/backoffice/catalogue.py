"""Shared services in the catalogue: the services whose clients are agencies, and the
deployment of their versions on the back office's one process (the engine's own BPMN).

A shared service's form is short (what is needed, for when, how many); its process is the
provider taking it up and fulfilling it. The notification a provider's supervisor gets when
a request passes its level is part of every version, in English and French.
"""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet

from joinedup.delivery import versions
from joinedup.federation.models import Service

#: What a catalogue service produces when it is the provider's service for disputes of
#: statement lines (the platform names no service key: the catalogue says what it is).
DISPUTE_EVIDENCE = "chargeback-dispute"

PROCESS = Path(__file__).parent / "processes" / "shared-request.bpmn"

NOTIFICATIONS = {
    "sla_breached": {
        "en": {
            "subject": "Request {{ reference }} has passed its service level",
            "body": (
                "Hello {{ name }},\n\nThe request {{ reference }} ({{ service }}) of {{ client }} "
                "was due on {{ due_date }} and is not finished.\n"
            ),
        },
        "fr": {
            "subject": "La demande {{ reference }} a dépassé son niveau de service",
            "body": (
                "Bonjour {{ name }},\n\nLa demande {{ reference }} ({{ service }}) de {{ client }} "
                "était attendue le {{ due_date }} et n'est pas terminée.\n"
            ),
        },
    }
}

#: The form of an ordinary request: what is needed, for when, how many.
REQUEST_FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["details"],
        "properties": {
            "details": {"type": "string", "minLength": 1, "maxLength": 2000},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
            "needed_by": {"type": "string", "format": "date"},
        },
    },
    "ui": {
        "fields": {
            "details": {
                "label": {"en": "What is needed", "fr": "Ce qu'il faut"},
                "widget": "textarea",
            },
            "quantity": {"label": {"en": "How many", "fr": "Combien"}},
            "needed_by": {"label": {"en": "Needed by", "fr": "Pour le"}},
        }
    },
}

#: The form of a dispute of a statement line: the reason and the line disputed.
DISPUTE_FORM = {
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason", "line"],
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 2000},
            "line": {"type": "string", "maxLength": 40},
        },
    },
    "ui": {
        "fields": {
            "reason": {"label": {"en": "Why you dispute it", "fr": "Motif de la contestation"}},
            "line": {"label": {"en": "Statement line", "fr": "Ligne du relevé"}},
        }
    },
}


def shared_services() -> QuerySet[Service]:
    """The catalogue's shared services: those whose clients are agencies."""
    return Service.objects.filter(client_type=Service.ClientType.AGENCY).order_by("key")


def deploy(service_key: str, form: dict | None = None) -> versions.Deployed:
    """Deploy (or find) a shared service's version on the back office's process."""
    return versions.deploy(
        service_key,
        PROCESS.read_text(),
        form or REQUEST_FORM,
        notifications=NOTIFICATIONS,
        source=str(PROCESS.name),
    )
