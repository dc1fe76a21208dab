"""The public catalogue pages: thin views that gather what a page shows and render it.

Queries live in `joinedup.federation.catalogue` and routing in `joinedup.federation.routing`;
wording of facts (money, standards, hours) in `presentation`.
"""

import hmac
import re

from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from joinedup.federation import catalogue
from joinedup.federation.models import Agency, Jurisdiction, LifeSituation
from joinedup.federation.routing import RoutingError, route_for
from joinedup.identity import guards
from joinedup.pagination import paginate

from . import watch
from .forms import PlaceForm, ServiceFilterForm


@guards.public
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/home.html",
        {
            "nations": Jurisdiction.objects.filter(parent__isnull=True).order_by("path"),
            "life_situations": _one_card_each(catalogue.life_situations()),
        },
    )


def _one_card_each(situations) -> list[LifeSituation]:
    """One card per life situation as people name it: each federation describes "Having a
    baby" for its own services, and the home page shows it once — the record that speaks the
    reader's language and describes itself, else the first in editorial order."""
    cards: dict[str, LifeSituation] = {}
    for situation in situations:
        # Grouped by the name in English, which every federation's data gives (Australia's
        # situations are in English only, and read so in French too).
        name = (situation.names.get("en") or situation.key).casefold()
        kept = cards.get(name)
        if kept is None or _says_more(situation, kept):
            cards[name] = situation
    return sorted(cards.values(), key=lambda s: (s.position, s.key))


def _says_more(one: LifeSituation, other: LifeSituation) -> bool:
    """Whether `one` speaks the reader's language where `other` does not, or else describes
    itself where `other` does not."""
    language = (get_language() or "en").split("-")[0]
    speaks = (language in one.names, language in (one.descriptions or {}), bool(one.description))
    others = (
        language in other.names,
        language in (other.descriptions or {}),
        bool(other.description),
    )
    return speaks > others


@guards.public
def service_list(request: HttpRequest) -> HttpResponse:
    """The catalogue with filters; bad filter values are explained, with a 400."""
    form = ServiceFilterForm(request.GET)
    pagination = None
    status = 200
    if form.is_valid():
        services = catalogue.filter_services(**form.cleaned_data)
        pagination = paginate(request, services)
    else:
        status = 400
    return render(
        request,
        "web/service_list.html",
        {"form": form, "pagination": pagination, "section": "services"},
        status=status,
    )


@guards.public
def service_detail(request: HttpRequest, key: str) -> HttpResponse:
    """A service, who delivers it where, and the answer to "who delivers it where I live?"."""
    service = catalogue.service_with_delivery(key)
    if service is None:
        raise Http404(_("There is no service with the catalogue key “%(key)s”.") % {"key": key})
    place_form = PlaceForm(request.GET if "place" in request.GET else None)
    found = routing_error = None
    status = 200
    if place_form.is_bound:
        if place_form.is_valid():
            place = Jurisdiction.objects.get(code=place_form.cleaned_data["place"])
            try:
                found = route_for(service, place)
            except RoutingError as error:
                routing_error = error
        else:
            status = 400
    return render(
        request,
        "web/service_detail.html",
        {
            "service": service,
            "offerings": list(service.offerings.all()),
            "partner_roles": list(service.partner_roles.all()),
            "agreements": list(service.agreements.all()),
            "place_form": place_form,
            "route": found,
            "routing_error": routing_error,
            "section": "services",
        },
        status=status,
    )


@guards.public
def place_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "web/place_list.html", {"tree": catalogue.jurisdiction_tree(), "section": "places"}
    )


@guards.public
def place_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A jurisdiction: the places within it, its agencies, and what people there can get."""
    try:
        place = catalogue.jurisdiction_by_code(code)
    except catalogue.UnknownJurisdiction as error:
        raise Http404(error.message) from None
    return render(
        request,
        "web/place_detail.html",
        {
            "place": place,
            "ancestors": catalogue.ancestors_of(place),
            "children": place.children.order_by("path"),
            "agencies": place.agencies.order_by("key"),
            "pagination": paginate(request, catalogue.services_available_in(place)),
            "section": "places",
        },
    )


@guards.public
def life_situation_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/life_situation_list.html",
        {"life_situations": catalogue.life_situations(), "section": "life-situations"},
    )


@guards.public
def life_situation_detail(request: HttpRequest, key: str) -> HttpResponse:
    situation = LifeSituation.objects.filter(key=key).first()
    if situation is None:
        raise Http404(_("There is no life situation called “%(key)s”.") % {"key": key})
    return render(
        request,
        "web/life_situation_detail.html",
        {
            "situation": situation,
            "groups": catalogue.group_by_frame(
                catalogue.filter_services(life_situation=situation.key)
            ),
            "section": "life-situations",
        },
    )


@guards.public
def agency_detail(request: HttpRequest, key: str) -> HttpResponse:
    agency = Agency.objects.select_related("jurisdiction").filter(key=key).first()
    if agency is None:
        raise Http404(_("There is no agency called “%(key)s”.") % {"key": key})
    return render(
        request,
        "web/agency_detail.html",
        {
            "agency": agency,
            "offices": agency.offices.select_related("jurisdiction").order_by("key"),
            "services": catalogue.services_delivered_by(agency),
            "programs": agency.programs.order_by("key"),
            "section": "places",
        },
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 in the design system, saying what was not found when a view said so."""
    message = exception.args[0] if exception.args else ""
    if isinstance(exception, Resolver404) or not isinstance(message, str):
        message = ""
    if match := _DJANGO_NOT_FOUND.match(message):
        # Django's own words name the model's class ("No Service matches the given query"):
        # say it in the reader's language, by what people call the thing.
        message = _("We found no %(thing)s at this address.") % {
            "thing": _verbose_name(match.group(1))
        }
    return render(request, "404.html", {"message": message}, status=404)


#: What get_object_or_404 says when nothing matches (in English, naming the model's class).
_DJANGO_NOT_FOUND = re.compile(r"^No (\w+) matches the given query\.$")


def _verbose_name(object_name: str) -> str:
    for model in django_apps.get_models():
        if model._meta.object_name == object_name:
            return str(model._meta.verbose_name)
    return _("such page")


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers; also the framework's floor in the catalogue benchmark."""
    connection.ensure_connection()
    return JsonResponse({"status": "ok"})


def metrics(request: HttpRequest) -> JsonResponse:
    """What to watch at scale (queue depth, outbox lag, ledger checkpoint age: `watch`), for
    a monitor holding `JOINEDUP_METRICS_TOKEN` as a bearer token. Without a token set, the
    endpoint does not exist (404); a wrong or missing token gets 401."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return JsonResponse({"detail": _("Not found.")}, status=404)
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
        response = JsonResponse(
            {"detail": _("This needs the metrics token (Authorization: Bearer …).")}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = JsonResponse(watch.figures().as_json())
    response["Cache-Control"] = "no-store"
    return response


def ping(request: HttpRequest) -> HttpResponse:
    """A constant answer through the whole middleware stack, touching nothing else.

    The catalogue benchmark measures every endpoint against it: its rate is the most this
    server can answer, so the ratio shows what our own code costs.
    """
    return HttpResponse("pong", content_type="text/plain")
