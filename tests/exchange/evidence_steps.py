"""Steps of the two-node evidence test, each run in one node's process with its settings
(`python -m tests.exchange.evidence_steps STEP`), as an operator's or a page's action would:

- `person`: the home node knows the catalogue's agencies and the person (with their SIN);
- `request`: the requesting node (where the person is applying: it knows them too) asks the
  home node for evidence about that person;
- `agree`: the person, on the home node, agrees to what the preview shows (`evidence.release`,
  what the page's "Yes, send this evidence" calls, with the digest of what the page showed).

Prints what the test needs as JSON."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import django

SIN = "046 454 286"
SMALL = Path(__file__).resolve().parents[1] / "federation" / "files" / "small"


def main(step: str) -> None:
    django.setup()
    from joinedup.exchange import evidence
    from joinedup.exchange.models import EvidenceRequest
    from joinedup.federation.loader import load_federation
    from joinedup.identity import client_registry
    from joinedup.identity.models import Person

    if step == "person":
        load_federation([SMALL])
        person = client_registry.register_person(
            given_names="Amélie",
            family_name="Tremblay",
            birth_date=datetime.date(1990, 4, 2),
            identifier_values={"ca-sin": SIN},
        )
        print(json.dumps({"person": person.pk}))
    elif step == "request":
        applicant = client_registry.register_person(
            given_names="Amélie", family_name="Tremblay", identifier_values={"ca-sin": SIN}
        )
        asked = evidence.request(
            "CA/GOV/ON/joinedup",
            requester_agency="esdc",
            provider_agency="serviceontario",
            fields=["given_names", "birth_date"],
            purpose="benefit-eligibility",
            subject={"identifiers": {"ca-sin": SIN}, "level_of_assurance": 2},
            subject_id=applicant.pk,
        )
        print(json.dumps({"request": str(asked.request_id)}))
    elif step == "agree":
        (waiting,) = EvidenceRequest.objects.filter(direction="in", status="waiting")
        person = Person.objects.get(pk=waiting.subject_id)
        shown = evidence.values(waiting, person)  # what the preview page shows
        message = evidence.release(waiting, evidence.digest(shown))
        print(json.dumps({"message": str(message.message_id), "shown": shown}))
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main(sys.argv[1])
