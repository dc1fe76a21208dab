"""Shared-service requests of the last months: each client agency of each agreement orders
the services its levels cover (around the forecast volumes), the provider resolves most of
them within the level on its own calendar, some late, the newest still open; some are
rated by the client; each resolved one has the provider's done task (a few working hours of
staff time, which the dashboard's cost recovery prices); an onboarding or a pay change names
one of the client's illustrative employees (people of the registry), whom the search by name
then finds. Running services (hosting) have
outages over the same months, some long enough to miss the availability target. Written
with bulk inserts (applications, their requests, timeline steps, tasks and outages), as
history: no process runs for them."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from joinedup.backoffice import levels as shared_levels
from joinedup.backoffice.models import Employee, Outage, Request, ServiceLevel, name_key_of
from joinedup.delivery.applications import current_version, new_reference
from joinedup.delivery.models import Application, ApplicationStatus, StatusChange, WorkItem
from joinedup.federation.models import Agreement, Offering
from joinedup.identity.models import Person

from .run import HistoryRun, generator

DETAILS = (
    "Accounts, laptop and pay file for a new analyst",
    "Retroactive pay increase after reclassification",
    "Twelve monitors under the standing offer",
    "A test environment for the licensing system",
)
OUTAGES = (
    "Storage array failover",
    "Network switch replaced",
    "Database cluster patched outside the maintenance window",
    "Power interruption at the data centre",
)


#: Illustrative employees of the client agencies (people of the registry), named by the
#: requests that concern an employee, so that the search by name finds someone.
EMPLOYEES = (
    ("Marie-Ève", "Côté", datetime.date(1988, 4, 12)),
    ("Jean-François", "Tremblay", datetime.date(1979, 11, 3)),
    ("Amira", "Haddad", datetime.date(1992, 6, 25)),
    ("Thomas", "Nguyen", datetime.date(1985, 1, 30)),
    ("Sophie", "Gagnon", datetime.date(1990, 9, 8)),
    ("Daniel", "O'Connor", datetime.date(1976, 2, 17)),
    ("Priya", "Raman", datetime.date(1994, 12, 1)),
    ("Luc", "Bélanger", datetime.date(1983, 7, 19)),
    ("Grace", "Okafor", datetime.date(1987, 3, 5)),
    ("Émilie", "Roy", datetime.date(1996, 10, 22)),
    ("Kevin", "Martin", datetime.date(1981, 5, 14)),
    ("Chloé", "Lavoie", datetime.date(1993, 8, 2)),
)

#: Services whose requests concern an employee (onboarding, pay changes), by key's end.
ABOUT_AN_EMPLOYEE = ("employee-onboarding", "pay-change", "onboarding")


def _employees(run: HistoryRun, clients: list) -> dict:
    """Each client agency's few employees, people of the registry (made once: found again by
    name and birth date when the history runs again)."""
    people = []
    for given, family, born in EMPLOYEES:
        person = Person.objects.filter(
            given_names=given, family_name=family, birth_date=born
        ).first() or Person.objects.create(given_names=given, family_name=family, birth_date=born)
        people.append(person)
    ordered = sorted(clients, key=lambda client: client.pk)
    if not ordered:
        return {}
    return {
        client.pk: [people[i] for i in range(len(people)) if i % len(ordered) == index]
        or [run.rng.choice(people)]
        for index, client in enumerate(ordered)
    }


def _arguments(parser) -> None:
    parser.add_argument(
        "--backoffice-requests",
        type=int,
        default=300,
        help="how many shared-service requests to make (history of the back office)",
    )


def _clients(agreement: Agreement) -> list:
    return [
        party.agency
        for party in agreement.parties.select_related("agency__jurisdiction")
        if party.role == shared_levels.CLIENT_ROLE
    ]


@generator(
    "backoffice",
    order=60,
    help="shared-service requests of client agencies (back office)",
    arguments=_arguments,
)
def make_requests(run: HistoryRun) -> int:
    wanted = int(run.options.get("backoffice_requests", 300) or 0)
    levels = [
        level
        for level in ServiceLevel.objects.select_related("agreement", "service").order_by("pk")
        if level.unit_price > 0
    ]
    if not wanted or not levels:
        return 0
    plans = []
    for level in levels:
        provider = shared_levels.provider_of(level.agreement)
        offering = Offering.objects.filter(service=level.service, agency=provider).first()
        version = current_version(level.service)
        if provider is None or offering is None or version is None:
            continue
        calendar = shared_levels.calendar_of(provider)
        for client in _clients(level.agreement):
            plans.append((level, provider, offering, version, calendar, client))
    if not plans:
        return 0
    now = timezone.now()
    span_days = 180
    staff = _employees(run, list({plan[5].pk: plan[5] for plan in plans}.values()))
    named: set[tuple[int, int]] = set()
    weights = [max(1, p[0].forecast_monthly_volume) for p in plans]
    applications, requests, changes, tasks = [], [], [], []
    for index in range(wanted):
        level, provider, offering, version, calendar, client = run.rng.choices(plans, weights)[0]
        submitted = now - datetime.timedelta(
            days=run.rng.uniform(1, span_days), hours=run.rng.uniform(0, 8)
        )
        due = calendar.add(submitted, level.resolution_days)
        age = (now - submitted).days
        finished = age > level.resolution_days * 1.6 or run.rng.random() < 0.5
        late = run.rng.random() < 0.12
        days = (
            level.resolution_days + run.rng.randint(1, 6)
            if late
            else run.rng.randint(1, max(1, level.resolution_days))
        )
        completed = calendar.add(submitted, days) if finished else None
        completed_at = (
            datetime.datetime.combine(completed, datetime.time(15), tzinfo=submitted.tzinfo)
            if completed and completed <= now.date()
            else None
        )
        application = Application(
            reference=new_reference(),
            service=level.service,
            version=version,
            applicant_agency=client,
            channel=run.rng.choice(("online", "online", "partner")),
            language="en",
            data={"details": run.rng.choice(DETAILS)},
            place=client.jurisdiction,
            agency=provider,
            offering=offering,
            status=ApplicationStatus.APPROVED if completed_at else ApplicationStatus.SUBMITTED,
            submitted_at=submitted,
            completed_at=completed_at,
            standard_days=level.resolution_days,
            standard_day_kind=level.day_kind,
            due_date=due,
            met_standard=(completed <= due) if completed_at else None,
            fee_amount=level.unit_price,
            fee_currency=level.currency,
        )
        employee = None
        if level.service.key.endswith(ABOUT_AN_EMPLOYEE):
            employee = run.rng.choice(staff[client.pk])
            named.add((client.pk, employee.pk))
        applications.append(application)
        requests.append(
            Request(
                employee=employee,
                application=application,
                client=client,
                provider=provider,
                level=level,
                unit_price=Decimal(level.unit_price),
                submitted_at=submitted,
                responded_at=submitted + datetime.timedelta(hours=run.rng.uniform(0.5, 6)),
                satisfaction=(
                    run.rng.choice((3, 4, 4, 5, 5) if not late else (1, 2, 3, 3))
                    if completed_at and run.rng.random() < 0.3
                    else None
                ),
            )
        )
        changes.append(
            StatusChange(
                application=application,
                at=submitted,
                to_status=ApplicationStatus.SUBMITTED,
                actor_label="history",
            )
        )
        if completed_at:
            tasks.append(
                WorkItem(
                    application=application,
                    agency=provider,
                    role="caseworker",
                    task_id=uuid.uuid4(),
                    task_name="fulfil",
                    title="Fulfil the request",
                    status=WorkItem.Status.COMPLETED,
                    created_at=submitted,
                    claimed_at=completed_at - datetime.timedelta(minutes=run.rng.randint(30, 300)),
                    completed_at=completed_at,
                    completed_by_label="history",
                    decision="approve",
                )
            )
            changes.append(
                StatusChange(
                    application=application,
                    at=completed_at,
                    from_status=ApplicationStatus.SUBMITTED,
                    to_status=ApplicationStatus.APPROVED,
                    actor_label="history",
                )
            )
        if (index + 1) % 100 == 0:
            run.progress(index + 1)
    Application.objects.bulk_create(applications, batch_size=500)
    Request.objects.bulk_create(requests, batch_size=500)
    StatusChange.objects.bulk_create(changes, batch_size=500)
    WorkItem.objects.bulk_create(tasks, batch_size=500)
    people = {person.pk: person for people in staff.values() for person in people}
    Employee.objects.bulk_create(
        (
            Employee(
                client_id=client_id, person_id=person_id, name_key=name_key_of(people[person_id])
            )
            for client_id, person_id in sorted(named)
        ),
        ignore_conflicts=True,
    )
    Outage.objects.bulk_create(_outages(run, levels, requests, now, span_days))
    run.progress(wanted)
    return len(requests)


def _outages(
    run: HistoryRun,
    levels: list[ServiceLevel],
    requests: list[Request],
    now: datetime.datetime,
    span_days: int,
) -> list[Outage]:
    """Outages of the running services (levels with an availability target) over the same
    months: a few short ones most months (the target met), and a long one (missed, so the
    month's statements carry the availability credit) in the latest month the service was
    ordered and in about half of the other months it was."""
    made = []
    for level in levels:
        if level.availability_target is None:
            continue
        zone = ZoneInfo(
            shared_levels.calendar_of(shared_levels.provider_of(level.agreement)).time_zone
        )
        for month_ago in range(span_days // 30):
            for _number in range(run.rng.randint(0, 2)):
                started = now - datetime.timedelta(
                    days=month_ago * 30 + run.rng.uniform(1, 28), hours=run.rng.uniform(0, 23)
                )
                made.append(_outage(run, level, started, run.rng.choice((5, 10, 15))))
        ordered = sorted(
            {
                request.submitted_at.astimezone(zone).date().replace(day=1)
                for request in requests
                if request.level_id == level.pk
            },
            reverse=True,
        )
        for index, month in enumerate(ordered):
            if index and run.rng.random() < 0.5:
                continue
            started = datetime.datetime.combine(
                month, datetime.time(run.rng.randint(0, 20)), tzinfo=zone
            ) + datetime.timedelta(days=run.rng.randint(0, 26))
            started = min(started, now - datetime.timedelta(hours=6))
            made.append(_outage(run, level, started, run.rng.randint(60, 240)))
    return made


def _outage(run: HistoryRun, level: ServiceLevel, started: datetime.datetime, minutes: int):
    return Outage(
        level=level,
        started_at=started,
        ended_at=started + datetime.timedelta(minutes=minutes),
        description=run.rng.choice(OUTAGES),
    )
