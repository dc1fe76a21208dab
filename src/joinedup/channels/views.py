"""The counter and phone consoles: thin views over counter.py, phone.py and transfers.py.

Every page is for front-line and case staff (`channels.counter`, `channels.phone`); an
agent opens only their own visits and calls. Refusals (no joint-delivery agreement, a caller
not verified) are shown on the page with a 403; bad input with a 400.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from joinedup.delivery import documents
from joinedup.delivery.applications import SubmissionError
from joinedup.federation.models import Office
from joinedup.identity import assurance, guards, presentation
from joinedup.identity.acting import ActingContext
from joinedup.identity.client_registry import AddressInput
from joinedup.identity.policy import PolicyDenied
from joinedup.sharing.gate import DisclosureRefused

from . import counter, forms, interactions, phone, picklists, transfers
from .colocation import NotCoLocated
from .interactions import InteractionError
from .models import Interaction

# --- Counter ----------------------------------------------------------------------------


def _find_and_start(
    request: HttpRequest, context: ActingContext, start: Callable[..., Interaction]
) -> tuple[forms.FindPersonForm, int, Interaction | None]:
    """The consoles' first step, the same at the counter and on the phone: find the person
    by an identifier and open the contact with `start(context, person)`. Returns the form
    (with its errors), the page's status and the contact opened, if any."""
    form = forms.FindPersonForm(request.POST or None, country=forms.country_of(context))
    if request.method != "POST":
        return form, 200, None
    if not form.is_valid():
        return form, 400, None
    person = counter.find_person(context, form.cleaned_data["kind"], form.cleaned_data["value"])
    if person is None:
        form.add_error(None, _("Nobody in the registry holds this number."))
        return form, 404, None
    try:
        return form, 200, start(context, person)
    except PolicyDenied as denied:
        form.add_error(None, denied.decision.reason)
        return form, 403, None


@guards.requires("channels.counter")
def counter_home(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form, status, visit = _find_and_start(request, context, counter.start_visit)
    if visit is not None:
        return redirect("channels:visit", visit_id=visit.pk)
    visits = Interaction.objects.filter(
        agent_id=context.user_id, channel="counter", ended_at__isnull=True
    ).select_related("person")[:20]
    offices = Office.objects.filter(agency__key=context.agency_key).order_by("key")
    return render(
        request,
        "channels/counter_home.html",
        {"form": form, "visits": visits, "offices": offices},
        status=status,
    )


@guards.requires("channels.counter")
def register(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form = forms.RegisterForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            address = None
            if data["street_address"]:
                address = AddressInput(
                    data["street_address"],
                    data["locality"],
                    "",
                    data["postal_code"],
                    "",  # the country of the place, or the setting DEFAULT_COUNTRY
                    data["place"].upper(),
                )
            try:
                person = counter.register(
                    context,
                    given_names=data["given_names"],
                    family_name=data["family_name"],
                    birth_date=data["birth_date"],
                    address=address,
                    contacts=[("email", data["email"])] if data["email"] else [],
                )
                visit = counter.start_visit(context, person)
            except ValidationError as error:
                form.add_error(None, error)
            except PolicyDenied as denied:
                form.add_error(None, denied.decision.reason)
            else:
                return redirect("channels:visit", visit_id=visit.pk)
        return render(request, "channels/register.html", {"form": form}, status=400)
    return render(request, "channels/register.html", {"form": form})


def _visit_page(
    request: HttpRequest,
    context: ActingContext,
    visit: Interaction,
    *,
    status: int = 200,
    error: str = "",
    verify_form=None,
) -> HttpResponse:
    # While legs of a life event are on their way, the page asks again for its applications
    # (htmx); that request gets only the part that changes, and reads none of the person's
    # details (so it adds nothing to their ledger).
    refreshing = bool(request.headers.get("HX-Request")) and status == 200
    shown, refused = None, ""
    if not refreshing:
        try:
            shown = counter.person_view(context, visit)
        except DisclosureRefused as refusal:
            refused = refusal.message
    apps = counter.applications_of(visit)
    return render(
        request,
        "channels/_visit_applications.html" if refreshing else "channels/visit.html",
        {
            "visit": visit,
            "person": visit.person,
            # Facts as people read them: an address as an address, a date in their format.
            "shown": {k: presentation.format_fact(k, v) for k, v in shown.fields.items()}
            if shown
            else {},
            "refused": refused,
            "level": assurance.level_of(visit.person),
            "verify_form": verify_form or forms.VerifyForm(),
            "applications": [(app, counter.issuable(app)) for app in apps],
            "documents": counter.documents_of(visit),
            "booked": _booked_in(visit),
            "end_form": forms.EndForm(),
            "error": error,
            "refresh_every": counter.legs_on_their_way(visit),
        },
        status=status,
    )


def _booked_in(found: Interaction) -> list:
    """The appointments booked during this visit or call."""
    return list(
        found.appointments.select_related("slot__office__jurisdiction", "service").order_by(
            "slot__starts_at"
        )
    )


@guards.requires("channels.counter")
def visit(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    return _visit_page(request, context, interactions.mine_or_404(context, visit_id, "counter"))


@require_POST
@guards.requires("channels.counter")
def verify(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, "counter")
    form = forms.VerifyForm(request.POST)
    if form.is_valid():
        try:
            counter.verify_in_person(context, found, form.cleaned_data["evidence"])
        except ValidationError as error:
            return _visit_page(request, context, found, status=400, error=" ".join(error.messages))
        except (InteractionError, PolicyDenied) as error:
            return _visit_page(request, context, found, status=403, error=str(error))
        messages.success(request, _("The identity is verified in person (level 3)."))
        return redirect("channels:visit", visit_id=found.pk)
    return _visit_page(request, context, found, status=400, verify_form=form)


@guards.requires("channels.counter")
def service(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, "counter")
    form = forms.ServiceForm(request.POST or None)
    status, error = 200, ""
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                application = counter.start_service(
                    context, found, form.cleaned_data["service"], form.cleaned_data["answers"]
                )
            except SubmissionError as problem:
                error = " ".join([problem.message, *(e.message for e in problem.errors)])
            except (NotCoLocated, InteractionError) as refusal:
                error, status = refusal.message, 403
            except PolicyDenied as denied:
                error, status = denied.decision.reason, 403
            else:
                messages.success(
                    request,
                    _("The application is submitted: reference %(reference)s.")
                    % {"reference": application.reference},
                )
                return redirect("channels:visit", visit_id=found.pk)
    return render(
        request,
        "channels/service.html",
        {"form": form, "visit": found, "error": error},
        status=status,
    )


@require_POST
@guards.requires("channels.counter")
def issue(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, "counter")
    try:
        document = counter.issue_document(
            context, found, request.POST.get("application", ""), request.POST.get("template", "")
        )
    except (ValidationError, ValueError):
        return _visit_page(request, context, found, status=400, error=_("Choose a document."))
    except InteractionError as problem:
        return _visit_page(request, context, found, status=400, error=problem.message)
    except NotCoLocated as refusal:
        return _visit_page(request, context, found, status=403, error=refusal.message)
    messages.success(request, _("%(title)s is issued.") % {"title": document.title})
    return redirect("channels:visit", visit_id=found.pk)


@require_POST
@guards.requires("channels.counter")
def pay(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, "counter")
    try:
        payment = counter.take_payment(
            context, found, request.POST.get("application", ""), request.POST.get("card", "")
        )
    except (ValidationError, ValueError):
        return _visit_page(request, context, found, status=400, error=_("Choose a fee to take."))
    except InteractionError as problem:
        return _visit_page(request, context, found, status=400, error=problem.message)
    except NotCoLocated as refusal:
        return _visit_page(request, context, found, status=403, error=refusal.message)
    messages.success(
        request,
        _("The fee of %(amount)s %(currency)s is paid.")
        % {"amount": payment.amount, "currency": payment.currency},
    )
    return redirect("channels:visit", visit_id=found.pk)


@guards.requires("channels.counter")
def print_document(
    request: HttpRequest, context: ActingContext, visit_id: int, document_id
) -> HttpResponse:
    found = interactions.mine_or_404(context, visit_id, "counter")
    try:
        document = counter.print_document(context, found, document_id)
    except InteractionError:
        raise Http404 from None
    except NotCoLocated as refusal:
        return _visit_page(request, context, found, status=403, error=refusal.message)
    response = HttpResponse(documents.pdf_for(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.template}.pdf"'
    return response


@require_POST
@guards.requires("channels.counter")
def end_visit(request: HttpRequest, context: ActingContext, visit_id: int) -> HttpResponse:
    return _end(
        request, context, interactions.mine_or_404(context, visit_id, "counter"), "channels:counter"
    )


def _end(request, context, found: Interaction, home: str) -> HttpResponse:
    form = forms.EndForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the outcome of this contact."))
        return redirect(home)
    try:
        interactions.end(found, form.cleaned_data["outcome"], form.cleaned_data["topic"])
    except InteractionError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("The contact is recorded."))
    return redirect(home)


# --- Phone ------------------------------------------------------------------------------


@guards.requires("channels.phone")
def phone_home(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form, status, call = _find_and_start(request, context, phone.start_call)
    if call is not None:
        return redirect("channels:call", call_id=call.pk)
    return render(
        request,
        "channels/phone_home.html",
        {"form": form, "tasks": transfers.queue(context)},
        status=status,
    )


def _call_page(
    request, context, call: Interaction, *, status: int = 200, error: str = "", caller_form=None
) -> HttpResponse:
    found = []
    if call.verified_at is not None and call.is_open:
        found = phone.lookup(context, call)
    agencies = picklists.transfer_agencies(call.agency, call.person)
    return render(
        request,
        "channels/call.html",
        {
            "call": call,
            "contacts": [(c, phone.masked(c)) for c in phone.verified_contacts(call.person)],
            "caller_form": caller_form or forms.CallerForm(questions=phone.questions(call.person)),
            "attempts_left": phone.attempts_left(call),
            "applications": found,
            "transfer_form": forms.TransferForm(agencies=agencies),
            "callback_form": forms.CallbackForm(),
            "booked": _booked_in(call),
            "end_form": forms.EndForm(),
            "error": error,
        },
        status=status,
    )


@guards.requires("channels.phone")
def call(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    return _call_page(request, context, interactions.mine_or_404(context, call_id, "phone"))


@require_POST
@guards.requires("channels.phone")
def send_code(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, call_id, "phone")
    try:
        contact_id = int(request.POST.get("contact", ""))
    except ValueError:
        return _call_page(request, context, found, status=400, error=_("Choose where to send it."))
    try:
        phone.send_code(context, found, contact_id)
    except phone.NotVerified as problem:
        return _call_page(request, context, found, status=403, error=problem.message)
    except InteractionError as problem:
        return _call_page(request, context, found, status=400, error=problem.message)
    messages.success(request, _("A code is sent to %(to)s.") % {"to": found.code_sent_to})
    return redirect("channels:call", call_id=found.pk)


@require_POST
@guards.requires("channels.phone")
def verify_caller(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, call_id, "phone")
    form = forms.CallerForm(request.POST, questions=phone.questions(found.person))
    if not form.is_valid():
        return _call_page(request, context, found, status=400, caller_form=form)
    answers = {k: v for k, v in form.cleaned_data.items() if k != "code"}
    try:
        ok = phone.verify(context, found, answers, form.cleaned_data["code"])
    except phone.NotVerified as problem:
        return _call_page(request, context, found, status=403, error=problem.message)
    except InteractionError as problem:
        return _call_page(request, context, found, status=400, error=problem.message)
    if not ok:
        left = phone.attempts_left(found)
        message = (
            _("The answers or the code do not match. Attempts left: %(n)s.") % {"n": left}
            if left
            else _("Too many failed attempts: this caller cannot be verified.")
        )
        # A wrong answer is bad input (400); once the attempts are used up it is a refusal.
        return _call_page(request, context, found, status=400 if left else 403, error=message)
    messages.success(request, _("The caller is verified."))
    return redirect("channels:call", call_id=found.pk)


@require_POST
@guards.requires("channels.phone")
def transfer(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, call_id, "phone")
    agencies = picklists.transfer_agencies(found.agency, found.person)
    form = forms.TransferForm(request.POST, agencies=agencies)
    if not form.is_valid():
        return _call_page(
            request,
            context,
            found,
            status=400,
            error=_("Choose an agency and say what the caller needs."),
        )
    try:
        task = transfers.warm_transfer(
            context, found, form.cleaned_data["agency"], form.cleaned_data["summary"]
        )
    except phone.NotVerified as problem:
        return _call_page(request, context, found, status=403, error=problem.message)
    except InteractionError as problem:
        return _call_page(request, context, found, status=400, error=problem.message)
    messages.success(
        request,
        _("The caller is transferred to %(agency)s with the call's context.")
        % {"agency": task.agency.name},
    )
    return redirect("channels:phone")


@require_POST
@guards.requires("channels.phone")
def callback(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    found = interactions.mine_or_404(context, call_id, "phone")
    form = forms.CallbackForm(request.POST)
    if not form.is_valid():
        return _call_page(
            request,
            context,
            found,
            status=400,
            error=_("Give the number and say what the caller needs."),
        )
    try:
        transfers.request_callback(
            context,
            found,
            form.cleaned_data["phone"],
            form.cleaned_data["summary"],
            due_at=None,
        )
    except phone.NotVerified as problem:
        return _call_page(request, context, found, status=403, error=problem.message)
    except InteractionError as problem:
        return _call_page(request, context, found, status=400, error=problem.message)
    messages.success(request, _("A call-back is waiting in your agency's queue."))
    return redirect("channels:call", call_id=found.pk)


@require_POST
@guards.requires("channels.phone")
def end_call(request: HttpRequest, context: ActingContext, call_id: int) -> HttpResponse:
    return _end(
        request, context, interactions.mine_or_404(context, call_id, "phone"), "channels:phone"
    )


@require_POST
@guards.requires("channels.phone")
def take_task(request: HttpRequest, context: ActingContext, task_id: int) -> HttpResponse:
    try:
        _task, new_call = transfers.take(context, task_id)
    except InteractionError:
        raise Http404 from None
    return redirect("channels:call", call_id=new_call.pk)
