"""Proactive offers: an event (a birth registered, an address changed, a death registered)
offers the services the person appears eligible for; accepting is one step.

Which legs an event offers is data: a bundle's `offers` name the trigger and the legs, with
an optional condition. A leg is offered when its service is delivered where the person lives
(or moves to), the condition holds, and the person has not already applied for it since the
event's facts began (nor has it open as an offer). The offer keeps what is already known — the
answers of the bundle the event came from, and the event's own facts read back through the
source leg's mapping — so that accepting asks only what is still missing, shows exactly what
goes to the agency, records the consent and submits, in one transaction.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from joinedup import copying
from joinedup.delivery import applications
from joinedup.delivery import formdefs as forms
from joinedup.delivery.models import Application, ApplicationStatus, Notification
from joinedup.delivery.notifications import sending, templates
from joinedup.federation.localization import pick
from joinedup.federation.models import Agency, Jurisdiction, Service
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import assurance, policy
from joinedup.identity.acting import ActingContext
from joinedup.identity.models import Address, ContactPoint, Person, User
from joinedup.sharing import consent as sharing_consent
from joinedup.sharing import outbox

from . import definitions, mapping, prefill, preview, screening
from .models import Bundle, BundleLeg, Offer
from .submission import SOURCE, BundleError

EVENT_PREFIX = "org.joinedup.offer."
#: The notice of several offers at once: its text message is the subject and the list of
#: the offers (each service and its link), not the body's last line.
LISTING = {"offers": "offers"}


def offered_legs(trigger: str) -> list[tuple[Bundle, dict, dict]]:
    """(bundle, offer rule, leg) for every leg some bundle offers on this trigger."""
    found = []
    for bundle in definitions.active_bundles():
        for rule in bundle.definition.get("offers") or []:
            if rule["trigger"] != trigger:
                continue
            for key in rule["legs"]:
                leg = bundle.leg(key)
                if leg is not None:
                    found.append((bundle, rule, leg))
    return found


def reverse_mapped(bundle: Bundle, application: Application) -> dict[str, Any]:
    """The unified answers an application's data gives back, through its leg's plain paths
    (`child_given_names: child_given_names` read backwards)."""
    leg = next((leg for leg in bundle.legs if leg["service"] == application.service.key), None)
    if leg is None:
        return {}
    answers: dict[str, Any] = {}
    for name, spec in leg["mapping"].items():
        path = (
            spec if isinstance(spec, str) else spec.get("path") if "transform" not in spec else None
        )
        if not path or "." in path or path in mapping.RESERVED or name not in application.data:
            continue
        answers[path] = application.data[name]
    return answers


def known_answers(bundle: Bundle, application: Application | None) -> dict[str, Any]:
    """What the event's source tells: its bundle's answers (if it was a leg), then its data."""
    if application is None:
        return {}
    answers = reverse_mapped(bundle, application)
    leg = BundleLeg.objects.filter(application=application).select_related("submission").first()
    if leg is not None and leg.submission.bundle_id == bundle.pk:
        answers.update(leg.submission.answers)
    return answers


def already_has(person: Person, service: Service, since: datetime.datetime) -> bool:
    """Applied for since the event's facts began (and not refused or withdrawn), or offered."""
    applied = (
        Application.objects.filter(applicant=person, service=service, submitted_at__gte=since)
        .exclude(status__in=[ApplicationStatus.REFUSED, ApplicationStatus.WITHDRAWN])
        .exists()
    )
    return (
        applied
        or Offer.objects.filter(person=person, service=service, status=Offer.Status.OPEN).exists()
    )


def make_offers(
    person: Person,
    trigger: str,
    event_id: str,
    *,
    place: Jurisdiction | None,
    since: datetime.datetime,
    source_application: Application | None = None,
    about: Person | None = None,
    extra_answers: Mapping[str, Any] | None = None,
) -> list[Offer]:
    """Offer the person what the trigger offers and they appear eligible for (idempotent by
    event), and tell them."""
    made = []
    level = assurance.level_of(person)
    for bundle, rule, leg in offered_legs(trigger):
        answers = known_answers(bundle, source_application)
        answers.update(extra_answers or {})
        # An offer's condition sees what is already known as its answers.
        values = screening.variables(answers, place, level)
        service = Service.objects.filter(key=leg["service"]).first()
        if service is None or service.key not in values["offered"]:
            continue
        if rule.get("when") and not screening.holds(rule["when"], values):
            continue
        if already_has(person, service, since):
            continue
        offer, created = Offer.objects.get_or_create(
            person=person,
            service=service,
            event_id=event_id,
            defaults={
                "bundle": bundle,
                "leg": leg["key"],
                "trigger": trigger,
                "source_application": source_application,
                "about": about,
                "answers": answers,
                "place": place.code if place is not None else "",
            },
        )
        if created:
            made.append(offer)
            notify(offer, rule)
    return made


def notify(offer: Offer, rule: Mapping[str, Any]) -> None:
    """An e-mail (and a text message) saying what is offered and where to accept it."""
    language = offer.person.preferred_language or "en"
    with translation.override(language):
        path = reverse("bundles:offer", args=[offer.pk])
        variables = {
            "name": offer.person.preferred_name or offer.person.given_names,
            "service": pick(offer.service.names, language),
            "reason": str(Offer.Trigger(offer.trigger).label),
            "message": pick(rule.get("message") or {}, language),
            "offer_url": settings.PUBLIC_URL.rstrip("/") + path,
        }
    sending.notify(offer.person, "offer", f"offer:{offer.pk}", variables)


# --- Accepting -----------------------------------------------------------------------------


@dataclass
class OfferPreview:
    """What accepting sends, to whom, on what terms, and what is still to be answered."""

    offer: Offer
    leg: dict
    version: Any
    form: dict  # the questions still to answer (the unified form cut to them)
    answers: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, str]] = field(default_factory=list)
    errors: list[forms.FieldError] = field(default_factory=list)
    agency: Agency | None = None
    consent_text: str = ""
    categories: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def questions(self) -> list[str]:
        return list((forms.schema_of(self.form).get("properties") or {}).keys())


def preview_offer(
    context: ActingContext, offer: Offer, given: Mapping[str, Any] | None = None
) -> OfferPreview:
    bundle = offer.bundle
    leg = bundle.leg(offer.leg)
    if leg is None:
        raise BundleError("offer_closed", _("This offer is no longer available."))
    version = applications.current_version(offer.service)
    if version is None:
        raise BundleError("not_available", _("This service does not take applications online yet."))
    known = prefill.known(context, offer.person, bundle)
    answers = prefill.merge(prefill.merge(known.values, offer.answers), given or {})
    full_form = definitions.unified_form(bundle, [leg["key"]])
    properties = forms.schema_of(full_form).get("properties") or {}
    answers = {name: value for name, value in answers.items() if name in properties}
    cleaned, errors = forms.validate(full_form, answers)
    missing = {e.path.split(".")[0] for e in errors}
    form = _cut(
        full_form, [name for name in properties if name in missing or name in (given or {})]
    )
    place = Jurisdiction.objects.filter(code=offer.place).first() if offer.place else None
    data_source = mapping.source(cleaned, {}, screening.place_facts(place))
    data, leg_form_errors = forms.validate(version.form, mapping.apply(leg["mapping"], data_source))
    result = OfferPreview(
        offer=offer,
        leg=leg,
        version=version,
        form=form,
        answers=answers,
        data=data,
        rows=[(q, a) for _p, q, a in forms.summary(version.form, data)],
        errors=errors or preview.leg_errors(bundle, leg, offer.service, leg_form_errors),
        consent_text=pick(leg["consent"]["text"]),
        categories=preview.category_names(leg["consent"]["categories"]),
    )
    where = screening.leg_place(version, offer.person, data, place)
    try:
        result.agency = route_for(offer.service, where).agency if where else None
    except RoutingError as error:
        result.problem = error.message
    if result.agency is None and not result.problem:
        result.problem = _("We need to know where you live to send this to the right agency.")
    return result


def _cut(definition: dict, names: list[str]) -> dict:
    schema = dict(forms.schema_of(definition))
    keep = set(names)
    schema["properties"] = {k: v for k, v in (schema.get("properties") or {}).items() if k in keep}
    schema["required"] = [k for k in schema.get("required") or [] if k in keep]
    ui = dict(forms.ui_of(definition))
    ui.pop("pages", None)
    ui["fields"] = {
        name: hint for name, hint in (ui.get("fields") or {}).items() if name.split(".")[0] in keep
    }
    return {"schema": schema, "ui": ui}


def accept_offer(
    context: ActingContext,
    offer: Offer,
    answers: Mapping[str, Any] | None = None,
    *,
    consent: bool,
) -> tuple[Application, bool]:
    """Accept in one step: check, record the consent, submit the application, close the offer
    — in one transaction. Accepting twice returns the first application."""
    policy.require(context, "bundles.apply", offer)
    if offer.status == Offer.Status.ACCEPTED and offer.application_id:
        return offer.application, False
    if offer.status != Offer.Status.OPEN:
        raise BundleError("offer_closed", _("This offer is no longer open."))
    if context.subject_id != offer.person_id:
        raise BundleError(
            "not_yours",
            _("This offer was made to %(name)s: act for them to accept it.")
            % {"name": offer.person.full_name},
        )
    if not consent:
        raise BundleError(
            "consent_missing",
            _("Give your consent to send your answers, or decline the offer."),
            [
                {
                    "field": "consent",
                    "message": _("Consent to send your answers."),
                    "code": "consent",
                }
            ],
        )
    if answers is not None and not isinstance(answers, Mapping):
        raise BundleError("invalid", _("The answers must be a JSON object."))
    seen = preview_offer(context, offer, answers or {})
    if seen.errors:
        raise BundleError(
            "invalid",
            _("Some answers need correcting."),
            [e.as_dict() for e in seen.errors],
        )
    if seen.agency is None:
        raise BundleError("not_delivered", seen.problem)
    user = User.objects.filter(pk=context.user_id).first() if context.user_id else None
    with transaction.atomic():
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        if locked.status == Offer.Status.ACCEPTED and locked.application_id:
            return locked.application, False
        if locked.status != Offer.Status.OPEN:
            raise BundleError("offer_closed", _("This offer is no longer open."))
        record = sharing_consent.record_consent(
            offer.person,
            recipients=[seen.agency],
            purposes=seen.leg["consent"]["purposes"],
            categories=seen.leg["consent"]["categories"],
            method="online",
            notice=seen.consent_text,
            recorded_by=user,
        )
        try:
            application, _created = applications.submit_application(
                context,
                offer.service.key,
                seen.data,
                "online",
                f"offer:{offer.pk}",
                version=seen.version,
            )
        except applications.SubmissionError as error:
            raise BundleError(
                error.code, error.message, [e.as_dict() for e in error.errors]
            ) from None
        locked.status = Offer.Status.ACCEPTED
        locked.application = application
        locked.consent = record
        locked.answers = seen.answers
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "application", "consent", "answers", "decided_at"])
        outbox.emit(
            EVENT_PREFIX + "accepted",
            source=SOURCE,
            subject=str(locked.pk),
            data={
                "offer": str(locked.pk),
                "person": locked.person_id,
                "service": offer.service.key,
                "application": str(application.pk),
            },
        )
    offer.refresh_from_db()
    return application, True


def decline_offer(context: ActingContext, offer: Offer) -> Offer:
    """Say no thanks; the offer leaves the list (nothing is sent anywhere)."""
    policy.require(context, "bundles.apply", offer)
    with transaction.atomic():
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        if locked.status == Offer.Status.OPEN:
            locked.status = Offer.Status.DECLINED
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "decided_at"])
            outbox.emit(
                EVENT_PREFIX + "declined",
                source=SOURCE,
                subject=str(locked.pk),
                data={"offer": str(locked.pk), "person": locked.person_id},
            )
    return locked


# --- Offers of what the rules found --------------------------------------------------------


def _bundle_with(service_key: str) -> tuple[Bundle, dict] | None:
    """The first active bundle with a leg for the service (accepting goes through its leg)."""
    for bundle in definitions.active_bundles():
        for leg in bundle.legs:
            if leg["service"] == service_key:
                return bundle, leg
    return None


def offer_entitlement(event_id: str, data: Mapping[str, Any]) -> Offer | None:
    """Offer one entitlement (an event of one, as runs before batching announced them)."""
    offer_entitlements([data])
    key = f"rules:{data.get('benefit')}:{data.get('period')}"
    return Offer.objects.filter(
        person_id=data.get("person"), service__key=data.get("service") or "", event_id=key
    ).first()


def offer_entitlements(items: list[Mapping[str, Any]]) -> list[Offer]:
    """Offer people the services of the entitlements a population run found (a batch event's
    `entitlements`), with the estimated amounts, in bulk: a fixed number of queries
    whatever the batch's size, the offers written in one COPY (on PostgreSQL made in one
    `INSERT … SELECT`, `_offer_in_sql`) and their notifications in one pass, one notice per
    person (listing the offers when there are several, `_notices`). One offer per
    person, benefit and month however often the run is repeated (its key is the benefit and
    the month, not the event); none when the catalogue has no
    such service, no bundle carries it, or the person applied for it in the year before the
    month or has it open as an offer. Returns the ids of the offers made."""
    wanted = [
        item
        for item in items
        if item.get("person") and item.get("service") and len(str(item.get("period") or "")) == 7
    ]
    services = {s.key: s for s in Service.objects.filter(key__in={i["service"] for i in wanted})}
    carried = {key: _bundle_with(key) for key in services}
    wanted = [i for i in wanted if carried.get(i["service"]) is not None]
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        return _offer_in_sql(wanted, services, carried)
    person_ids = {int(i["person"]) for i in wanted}
    service_ids = {services[i["service"]].pk for i in wanted}
    keys = {f"rules:{i.get('benefit')}:{i['period']}" for i in wanted}
    named = copying.among(Person.objects.all(), "id", person_ids)
    people = {
        pk: (language or "en", preferred or given)
        for pk, language, preferred, given in named.values_list(
            "pk", "preferred_language", "preferred_name", "given_names"
        )
    }
    # What stops an offer: the same key offered before (whatever became of it), an open
    # offer of the service, an application for it in the year before the month.
    offered = set()
    taken = set()
    for person_id, service_id, key, status in (
        copying.among(Offer.objects.filter(service_id__in=service_ids), "person", person_ids)
        .filter(Q(status=Offer.Status.OPEN) | Q(event_id__in=keys))
        .values_list("person_id", "service_id", "event_id", "status")
    ):
        offered.add((person_id, service_id, key))
        if status == Offer.Status.OPEN:
            taken.add((person_id, service_id))
    earliest = min(datetime.date.fromisoformat(i["period"] + "-01") for i in wanted)
    since = timezone.make_aware(datetime.datetime.combine(earliest, datetime.time.min))
    applied: dict[tuple[int, int], datetime.datetime] = {}
    for person_id, service_id, submitted in (
        copying.among(
            Application.objects.filter(
                service_id__in=service_ids,
                submitted_at__gte=since - datetime.timedelta(days=365),
            ),
            "applicant",
            person_ids,
        )
        .exclude(status__in=[ApplicationStatus.REFUSED, ApplicationStatus.WITHDRAWN])
        .values_list("applicant_id", "service_id", "submitted_at")
    ):
        latest = applied.get((person_id, service_id))
        applied[(person_id, service_id)] = max(submitted, latest) if latest else submitted
    homes = _homes(person_ids)
    currencies = _currencies({home.path for home in homes.values()})
    now = timezone.now()
    rows = []
    for item in wanted:
        person_id = int(item["person"])
        service = services[item["service"]]
        if person_id not in people:
            continue
        key = f"rules:{item.get('benefit')}:{item['period']}"
        pair = (person_id, service.pk)
        start = datetime.date.fromisoformat(item["period"] + "-01")
        year_before = timezone.make_aware(
            datetime.datetime.combine(start, datetime.time.min)
        ) - datetime.timedelta(days=365)
        if (*pair, key) in offered or pair in taken:
            continue
        if pair in applied and applied[pair] >= year_before:
            continue
        bundle, leg = carried[service.key]
        place = homes.get(person_id)
        taken.add(pair)
        amount = item.get("amount")
        rows.append(
            (
                uuid.uuid4(),
                person_id,
                service,
                key,
                bundle.pk,
                leg["key"],
                place.code if place is not None else "",
                Decimal(str(amount)) if amount not in (None, "") else None,
                currencies.get(place.path, "") if place is not None else "",
                item["period"],
            )
        )
    # Written as plain rows in one COPY (`joinedup.copying`): no model object per offer.
    copying.write(
        Offer,
        [
            "id",
            "person_id",
            "service_id",
            "event_id",
            "bundle_id",
            "leg",
            "place",
            "amount",
            "currency",
            "period",
            "trigger",
            "answers",
            "status",
            "created_at",
        ],
        [
            (
                offer_id,
                person_id,
                service.pk,
                key,
                bundle_id,
                leg_key,
                place,
                amount,
                currency,
                period,
                Offer.Trigger.ENTITLEMENT_FOUND.value,
                {},
                Offer.Status.OPEN.value,
                now,
            )
            for (
                offer_id,
                person_id,
                service,
                key,
                bundle_id,
                leg_key,
                place,
                amount,
                currency,
                period,
            ) in rows
        ],
    )
    # Each notice's key names an offer just made: none was recorded before.
    sending.notify_many(_notices(rows, people), new_keys=True, listing=LISTING)
    return [row[0] for row in rows]


def _offer_in_sql(
    wanted: list[Mapping[str, Any]],
    services: Mapping[str, Service],
    carried: Mapping[str, tuple[Bundle, dict] | None],
) -> list[uuid.UUID]:
    """`offer_entitlements` on PostgreSQL: the batch's items go as arrays into one
    `INSERT … SELECT` that leaves out what stops an offer (a person unknown, the same key
    offered before, an open offer of the service, an application in the year before the
    month), keeps the first item left of each person and service, joins the person's home
    today and its currency; the same statement writes each offer's notifications (e-mail
    and text message, to the person's contact points or account; one per person, listing
    the offers when there are several), their words rendered once per language and
    service with markers for the name and the link (`_worded`, `_listed_worded`) and
    filled in SQL. The offers whose notice cannot be filled there exactly come back and
    are told in Python (`notify_many`). No offer is read back and written again."""
    names = {
        "offer": Offer._meta.db_table,
        "person": Person._meta.db_table,
        "address": Address._meta.db_table,
        "jurisdiction": Jurisdiction._meta.db_table,
        "application": Application._meta.db_table,
        "notification": Notification._meta.db_table,
        "contact": ContactPoint._meta.db_table,
        "user": User._meta.db_table,
    }
    table = {key: connection.ops.quote_name(value) for key, value in names.items()}
    # The items go as one JSON text, read by the server (`json_to_recordset`): building
    # eight arrays of ten thousand values in Python and quoting them cost more than the
    # statement. Each service's bundle and leg, and each month's year before, go as small
    # arrays (computed once per service and month, not per item).
    carriers: dict[str, list[Any]] = {"key": [], "service": [], "bundle": [], "leg": []}
    for key, service in services.items():
        if carried.get(key) is not None:
            bundle, leg = carried[key]
            carriers["key"].append(key)
            carriers["service"].append(service.pk)
            carriers["bundle"].append(bundle.pk)
            carriers["leg"].append(leg["key"])
    months: dict[str, datetime.datetime] = {}
    for item in wanted:
        if item["period"] not in months:
            start = datetime.date.fromisoformat(item["period"] + "-01")
            months[item["period"]] = timezone.make_aware(
                datetime.datetime.combine(start, datetime.time.min)
            ) - datetime.timedelta(days=365)
    given = json.dumps(
        [
            [item["person"], item["service"], str(item.get("benefit")), item["period"], amount]
            for item in wanted
            for amount in [item.get("amount")]
        ]
    )
    stopped = [ApplicationStatus.REFUSED.value, ApplicationStatus.WITHDRAWN.value]
    # The table names are the models' own, quoted; every value goes as a parameter.
    sql = f"""
        WITH items AS (
            SELECT DISTINCT ON (i.person_id, i.service_id) i.*
            FROM (
                SELECT (g.v->>0)::bigint AS person_id, c.service_id,
                    'rules:' || (g.v->>2) || ':' || (g.v->>3) AS event_id, c.bundle_id, c.leg,
                    NULLIF(g.v->>4, '')::numeric AS amount, g.v->>3 AS period, m.since, g.n
                FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS g(v, n)
                JOIN unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[])
                    AS c(key, service_id, bundle_id, leg) ON c.key = g.v->>1
                JOIN unnest(%s::text[], %s::timestamptz[]) AS m(period, since)
                    ON m.period = g.v->>3
            ) i
            JOIN LATERAL (
                SELECT 1 FROM {table["person"]} p WHERE p.id = i.person_id LIMIT 1
            ) p ON TRUE
            LEFT JOIN LATERAL (
                SELECT 1 AS found FROM {table["offer"]} o
                WHERE o.person_id = i.person_id AND o.service_id = i.service_id
                    AND (o.event_id = i.event_id OR o.status = %s)
                LIMIT 1
            ) o ON TRUE
            LEFT JOIN LATERAL (
                SELECT 1 AS found FROM {table["application"]} x
                WHERE x.applicant_id = i.person_id AND x.service_id = i.service_id
                    AND x.submitted_at >= i.since AND NOT (x.status = ANY(%s))
                LIMIT 1
            ) x ON TRUE
            WHERE o.found IS NULL AND x.found IS NULL
            ORDER BY i.person_id, i.service_id, i.n
        ),
        homes AS MATERIALIZED (
            SELECT i.*, h.jurisdiction_id
            FROM items i
            LEFT JOIN LATERAL (
                SELECT a.jurisdiction_id FROM {table["address"]} a
                WHERE a.person_id = i.person_id AND a.valid_from <= %s
                    AND (a.valid_to IS NULL OR a.valid_to >= %s)
                ORDER BY a.valid_from DESC LIMIT 1
            ) h ON TRUE
        ),
        -- Each place's code and currency (the nearest up its path that has one), once per
        -- place of the batch's homes, not once per offer (a few places, ten thousand offers).
        places AS MATERIALIZED (
            SELECT j.id, j.code, COALESCE((
                SELECT c.currency FROM {table["jurisdiction"]} c
                WHERE c.code = ANY(string_to_array(j.path, '/')) AND c.currency <> ''
                ORDER BY array_position(string_to_array(j.path, '/'), c.code) DESC LIMIT 1
            ), '') AS currency
            FROM {table["jurisdiction"]} j
            WHERE j.id IN (SELECT DISTINCT jurisdiction_id FROM homes)
        ),
        made AS (
            INSERT INTO {table["offer"]} (id, person_id, service_id, event_id, bundle_id, leg,
                place, amount, currency, period, trigger, answers, status, created_at)
            SELECT gen_random_uuid(), i.person_id, i.service_id, i.event_id, i.bundle_id,
                i.leg, COALESCE(j.code, ''), i.amount, COALESCE(j.currency, ''), i.period,
                %s, '{{}}'::jsonb, %s, %s
            FROM homes i
            LEFT JOIN places j ON j.id = i.jurisdiction_id
            ON CONFLICT DO NOTHING
            RETURNING id, person_id, service_id
        ),
        -- The words of each language and service, a few rows made once: the rows below
        -- carry only their keys, and each notice joins its words after the grouping (the
        -- window and the grouping then sort narrow rows, not every offer's texts).
        words AS MATERIALIZED (
            SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[],
                                 %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                                 %s::text[])
                AS w(language, service_id, subject, body, unnamed, short, short_unnamed,
                     before, after, line_before, line_after)
        ),
        -- Each lookup is by index, one row each (LATERAL … LIMIT 1): never a scan of all
        -- the people or offers, whose number grows with the population.
        named AS (
            SELECT made.id, made.person_id, made.service_id, p.language, p.name,
                w.line_before, w.line_after,
                count(*) OVER mine AS offers,
                -- A person's notice is filled here when every offer of theirs has its
                -- words in their language (and, for several, the list's words too);
                -- else all their offers are told in Python.
                bool_and(w.language IS NOT NULL) OVER mine
                    AND (count(*) OVER mine = 1 OR bool_and(l.language IS NOT NULL) OVER mine)
                    AS worded
            FROM made JOIN LATERAL (
                SELECT COALESCE(NULLIF(p.preferred_language, ''), 'en') AS language,
                    COALESCE(NULLIF(p.preferred_name, ''), p.given_names) AS name
                FROM {table["person"]} p WHERE p.id = made.person_id LIMIT 1
            ) p ON TRUE
            LEFT JOIN words w ON w.language = p.language AND w.service_id = made.service_id
            LEFT JOIN unnest(%s::text[]) AS l(language) ON l.language = p.language
            WINDOW mine AS (PARTITION BY made.person_id)
        ),
        -- One notice per person: one offer's as it is, several listed in one (the words
        -- joined are those of the first offer, which a notice of one offer uses).
        notices AS (
            SELECT n.person_id, count(*) AS offers, min(n.language) AS language,
                min(n.name) AS name, (array_agg(n.id ORDER BY n.service_id))[1] AS id,
                min(n.service_id) AS service_id,
                string_agg(n.line_before || n.id::text || n.line_after, E'\\n'
                           ORDER BY n.service_id) AS listed
            FROM named n WHERE n.worded
            GROUP BY n.person_id
        ),
        told AS (
            INSERT INTO {table["notification"]} (person_id, event, dedupe_key, channel,
                recipient, language, subject, body, next_attempt_at, created_at, status,
                attempts, last_error, provider_id)
            SELECT n.person_id, CASE WHEN n.offers = 1 THEN 'offer' ELSE 'offers' END,
                CASE WHEN n.offers = 1 THEN 'offer:' ELSE 'offers:' END || n.id::text,
                c.channel, c.recipient, n.language, c.subject, c.body, %s, %s, %s, 0, '', ''
            FROM notices n
            JOIN words w ON w.language = n.language AND w.service_id = n.service_id
            LEFT JOIN unnest(%s::text[], %s::text[], %s::text[], %s::text[])
                AS l(language, subject, body, unnamed) ON l.language = n.language
            CROSS JOIN LATERAL (
                SELECT COALESCE(
                    NULLIF((SELECT e.value FROM {table["contact"]} e
                            WHERE e.person_id = n.person_id AND e.kind = %s
                            ORDER BY e.preferred DESC, e.id LIMIT 1), ''),
                    (SELECT u.email FROM {table["user"]} u
                     WHERE u.person_id = n.person_id AND u.email <> ''
                     ORDER BY u.id LIMIT 1)
                ) AS email,
                (SELECT m.value FROM {table["contact"]} m
                 WHERE m.person_id = n.person_id AND m.kind = %s
                 ORDER BY m.preferred DESC, m.id LIMIT 1) AS mobile,
                w.before || n.id::text || w.after AS url
            ) r
            CROSS JOIN LATERAL (VALUES
                (%s, r.email, CASE WHEN n.offers = 1 THEN w.subject ELSE l.subject END,
                    CASE WHEN n.offers = 1 THEN replace(replace(
                        CASE WHEN n.name = '' THEN w.unnamed ELSE w.body END, %s, n.name),
                        %s, r.url)
                    ELSE replace(replace(
                        CASE WHEN n.name = '' THEN l.unnamed ELSE l.body END, %s, n.name),
                        %s, n.listed) END),
                (%s, r.mobile, '', CASE WHEN n.offers = 1 THEN left(replace(
                        CASE WHEN n.name = '' THEN w.short_unnamed ELSE w.short END,
                        %s, r.url), 480)
                    ELSE left(l.subject || ' ' || replace(n.listed, E'\\n', ' '), 480) END)
            ) c(channel, recipient, subject, body)
            WHERE c.recipient IS NOT NULL
        )
        SELECT id, person_id, service_id, language, name, worded FROM named
    """  # noqa: S608
    today = timezone.localdate()
    now = timezone.now()
    listed = _listed_worded()
    params = [
        given,
        *carriers.values(),
        list(months),
        list(months.values()),
        Offer.Status.OPEN.value,
        stopped,
        today,
        today,
        Offer.Trigger.ENTITLEMENT_FOUND.value,
        Offer.Status.OPEN.value,
        now,
        *_worded(services.values()),
        listed[0],
        now,
        now,
        Notification.Status.QUEUED.value,
        *listed,
        ContactPoint.Kind.EMAIL.value,
        ContactPoint.Kind.MOBILE.value,
        Notification.Channel.EMAIL.value,
        _NAME,
        _URL,
        _NAME,
        _OFFERS,
        Notification.Channel.SMS.value,
        _URL,
    ]
    with connection.cursor() as cursor:
        # The statement is lookups by index, one row each: PostgreSQL's JIT, which its cost
        # estimate for tables not yet analysed after a large load switches on, only adds
        # its compiling (about a tenth of the statement). Until the transaction ends.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        made = cursor.fetchall()
    # Offers whose notice could not be filled in SQL (a language without its own wording
    # here, or a template that is not plain) are told in Python, as before.
    by_pk = {service.pk: service for service in services.values()}
    rows = [
        (offer_id, person_id, by_pk[service_id]) for offer_id, person_id, service_id, *_ in made
    ]
    left = [row for row, (*_values, worded) in zip(rows, made, strict=True) if not worded]
    if left:
        people = {person_id: (language, name) for _i, person_id, _s, language, name, _w in made}
        # Each notice's key names an offer just made: none was recorded before.
        sending.notify_many(_notices(left, people), new_keys=True, listing=LISTING)
    return [row[0] for row in rows]


_NAME = "\x01name\x01"
_URL = "\x01offer_url\x01"
_OFFERS = "\x01offers\x01"


def _worded(services: Iterable[Service]) -> list[list[str | int]]:
    """The offer's notice for each language and service, rendered once with markers for
    the person's name and the offer's link (`templates.plain_skeleton`), as arrays for
    `_offer_in_sql`: language, service, the subject, the body with a name and without
    one, the text message with a name and without, the link before and after the offer's
    id. Only where filling the markers in SQL gives exactly what `notify_many` writes:
    the subject without either marker (it is normalised and cut as a whole), the name not
    at the body's ends (it is stripped) nor in its last line (the text message's)."""
    placeholder = str(uuid.UUID(int=0))
    columns: list[list[str | int]] = [[] for _n in range(11)]
    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            url = settings.PUBLIC_URL.rstrip("/") + reverse("bundles:offer", args=[placeholder])
            reason = str(Offer.Trigger.ENTITLEMENT_FOUND.label)
        before, _sep, after = url.partition(placeholder)
        for service in services:
            shown = pick(service.names, language)
            values = {"service": shown, "reason": reason, "message": "", "offer_url": _URL}
            named = templates.plain_skeleton(None, "offer", language, {"name": _NAME, **values})
            unnamed = templates.plain_skeleton(None, "offer", language, {"name": "", **values})
            if named is None or unnamed is None or "\x01" in named[0] + unnamed[0]:
                continue
            subject = " ".join(named[0].split())[:300]
            if subject != " ".join(unnamed[0].split())[:300]:
                continue
            body, body_unnamed = named[1].strip(), unnamed[1].strip()
            shorts = [
                f"{subject} {lines[-1] if lines else ''}".strip()
                for lines in (
                    [line for line in text.splitlines() if line.strip()]
                    for text in (body, body_unnamed)
                )
            ]
            if body.startswith(_NAME) or body.endswith(_NAME) or _NAME in shorts[0]:
                continue
            # The offer's line in a notice listing several: before and after its id.
            line_before, _sep, line_after = _line(language, shown, _URL).partition(_URL)
            row = (
                language,
                service.pk,
                subject,
                body,
                body_unnamed,
                *shorts,
                before,
                after,
                line_before + before,
                after + line_after,
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
    return columns


def _listed_worded() -> list[list[str]]:
    """The notice of several offers (`offers`) for each language, rendered once with
    markers for the person's name and the list, as arrays for `_offer_in_sql`: language,
    subject, body with a name and without one. Only where filling the markers in SQL gives
    exactly what `notify_many` writes: the subject without markers, the name not at the
    body's ends (stripped); the list ends the body or is followed by more than spaces."""
    columns: list[list[str]] = [[] for _n in range(4)]
    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            reason = str(Offer.Trigger.ENTITLEMENT_FOUND.label)
        values = {"reason": reason, "offers": _OFFERS}
        named = templates.plain_skeleton(None, "offers", language, {"name": _NAME, **values})
        unnamed = templates.plain_skeleton(None, "offers", language, {"name": "", **values})
        if named is None or unnamed is None or "\x01" in named[0] + unnamed[0]:
            continue
        subject = " ".join(named[0].split())[:300]
        if not subject or subject != " ".join(unnamed[0].split())[:300]:
            continue
        body, body_unnamed = named[1].strip(), unnamed[1].strip()
        if body.startswith((_NAME, _OFFERS)) or body.endswith(_NAME):
            continue
        for column, value in zip(columns, (language, subject, body, body_unnamed), strict=True):
            column.append(value)
    return columns


@dataclass(frozen=True)
class _Home:
    code: str
    path: str


def _homes(person_ids: set[int]) -> dict[int, _Home | None]:
    """Each person's place today (as `Person.current_address`: the latest address valid
    today), its code and path, in one query of plain values."""
    today = timezone.localdate()
    homes: dict[int, _Home | None] = {}
    for person_id, jurisdiction_id, code, path in (
        copying.among(Address.objects.filter(valid_from__lte=today), "person", person_ids)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .order_by("person_id", "-valid_from")
        .values_list("person_id", "jurisdiction_id", "jurisdiction__code", "jurisdiction__path")
    ):
        if person_id not in homes:
            homes[person_id] = _Home(code, path) if jurisdiction_id is not None else None
    return homes


def _currencies(paths: set[str]) -> dict[str, str]:
    """The currency of each place (the nearest one up its path that has one)."""
    codes = {code for path in paths for code in path.split("/")}
    found = dict(Jurisdiction.objects.filter(code__in=codes).values_list("code", "currency"))
    return {
        path: next((found[c] for c in reversed(path.split("/")) if found.get(c)), "")
        for path in paths
    }


def _line(language: str, service: str, url: str) -> str:
    """One offer in a notice listing several: its service and the link to it."""
    with translation.override(language):
        return _("• %(service)s: %(link)s") % {"service": service, "link": url}


def _notices(
    rows: list[tuple], people: Mapping[int, tuple[str, str]]
) -> list[tuple[int, str, str, str, dict[str, Any]]]:
    """What is sent for the offers of entitlements (rows as `offer_entitlements` makes
    them), for the bulk pass: one notice per person. A person offered one service gets
    what `notify` sends for it (event `offer`, keyed by the offer); a person offered
    several gets one notice listing each service and the link to its offer (event
    `offers`, keyed by the first offer listed; the offers in the order of their services'
    ids). The address of the offer's page, the reason and each service's name are worded
    once per language, not once per offer."""
    placeholder = uuid.UUID(int=0)
    worded: dict[str, tuple[str, str]] = {}
    names: dict[tuple[int, str], str] = {}
    mine: dict[int, list[tuple[int, str, str]]] = {}
    for offer_id, person_id, service, *_rest in rows:
        language, _name = people[person_id]
        if language not in worded:
            with translation.override(language):
                worded[language] = (
                    settings.PUBLIC_URL.rstrip("/") + reverse("bundles:offer", args=[placeholder]),
                    str(Offer.Trigger.ENTITLEMENT_FOUND.label),
                )
        if (service.pk, language) not in names:
            names[(service.pk, language)] = pick(service.names, language)
        url = worded[language][0].replace(str(placeholder), str(offer_id))
        mine.setdefault(person_id, []).append((service.pk, str(offer_id), url))
    notices = []
    for person_id, offered in mine.items():
        language, name = people[person_id]
        reason = worded[language][1]
        if len(offered) == 1:
            service_id, offer_id, url = offered[0]
            variables = {
                "name": name,
                "service": names[(service_id, language)],
                "reason": reason,
                "message": "",
                "offer_url": url,
            }
            notices.append((person_id, language, "offer", f"offer:{offer_id}", variables))
            continue
        offered.sort()
        listed = "\n".join(
            _line(language, names[(service_id, language)], url) for service_id, _o, url in offered
        )
        variables = {"name": name, "reason": reason, "offers": listed}
        notices.append((person_id, language, "offers", f"offers:{offered[0][1]}", variables))
    return notices
