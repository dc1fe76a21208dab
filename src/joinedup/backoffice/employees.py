"""Finding a client agency's employee by name, and the requests that concern them.

    found = search(context, agency, "cote")   # the employees the actor may look for
    rows = read(context, page_of_found)        # their names through the data gate

A provider's staff who work requests (front line, caseworkers, case managers, supervisors)
look among the employees of the agencies their provider serves; a client agency's
supervisors among their own agency's (rule `backoffice.find_employee`). The match is on the
names folded (`Employee.name_key`: no case, no accents), every word given; what a result
shows of the person is read through the data gate for the shared-services purpose with the
client agency as the holder, every row in the person's access ledger, in one pass
(`gate.disclose_each`), so a page sends the same statements whatever it lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from joinedup.federation.models import Agency
from joinedup.identity import policy, presentation
from joinedup.identity.acting import ActingContext
from joinedup.sharing import categories, gate

from .models import Employee, Request, fold
from .requests import EMPLOYEE_DATA, EMPLOYEE_PURPOSE

#: The shortest search (folded): a single letter would list everyone.
MIN_QUERY = 2


def search(context: ActingContext, agency: Agency, query: str) -> QuerySet[Employee]:
    """The employees whose names hold every word of `query` (folded), among those the actor
    may look for; by name. Raises PolicyDenied for a role that may not look."""
    policy.require(context, "backoffice.find_employee", None)
    found = Employee.objects.select_related("client", "person")
    if agency.kind == Agency.Kind.SHARED_SERVICES:
        found = found.filter(
            client__in=Request.objects.filter(provider=agency).values("client").distinct()
        )
    else:
        found = found.filter(client=agency)
    words = fold(query).split()
    if len("".join(words)) < MIN_QUERY:
        return found.none()
    for word in words:
        found = found.filter(name_key__contains=word)
    return found.order_by("name_key", "pk")


@dataclass
class Found:
    """One employee found: what the gate disclosed (or its reason) and their requests."""

    employee: Employee
    facts: list[tuple[str, str]] = field(default_factory=list)
    refused: str = ""
    requests: list[Request] = field(default_factory=list)


def read(context: ActingContext, employees: list[Employee]) -> list[Found]:
    """The employees of one page, their names through the gate (one pass) and the requests
    that concern them (of the actor's provider, or of their own agency); three queries and
    the ledger's insert, whatever the page holds."""
    answers = gate.disclose_each(
        context, [(e.person, e.client) for e in employees], list(EMPLOYEE_DATA), EMPLOYEE_PURPOSE
    )
    rows = {(e.client_id, e.person_id): Found(e) for e in employees}
    concerning = (
        Request.objects.filter(employee_id__in=[e.person_id for e in employees])
        .select_related("application", "level__service", "provider")
        .defer("application__process_state", "application__data")
        .order_by("-submitted_at")
    )
    concerning = concerning.filter(
        Q(provider__key=context.agency_key) | Q(client__key=context.agency_key)
    )
    for shared in concerning:
        if (row := rows.get((shared.client_id, shared.employee_id))) is not None:
            row.requests.append(shared)
    for row, answer in zip(rows.values(), answers, strict=True):
        if isinstance(answer, gate.Disclosure):
            for key, value in answer.fields.items():
                spec = categories.field(key)
                label = presentation.fact_label(spec.label if spec else key)
                row.facts.append((label, presentation.format_fact(key, value)))
        else:
            row.refused = answer.message
    return list(rows.values())
