"""Identity pages: thin views that call `accounts`, `assurance`, `mandates` and `client_registry`.

Each view declares its policy rule; the decorator builds the acting context once and hands it
in. Bad input re-renders the form with a translated message and a 400.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from joinedup.federation.models import Office, Service

from . import (
    accounts,
    acting,
    assurance,
    client_registry,
    console,
    disclosure,
    guards,
    mandates,
    policy,
)
from .acting import ActingContext, ActingError
from .forms import (
    ActingForForm,
    CodeForm,
    EmailForm,
    FindPersonForm,
    MandateForm,
    MembershipForm,
    NewPasswordForm,
    ProfileFactsForm,
    ProofingForm,
    SignInForm,
    SignUpForm,
    country_of,
)
from .guards import next_target
from .models import AssuranceLevel, Business, IdentityProofing, Mandate, Person, User
from .providers import provider_name
from .tasks import send_record_copy


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def load_person(person_id: int, **_kwargs) -> Person:
    return get_object_or_404(Person, pk=person_id)


def load_service(key: str, **_kwargs) -> Service:
    return get_object_or_404(Service, key=key)


# --- Sign-up, e-mail verification, sign-in, sign-out -------------------------------------


@guards.public
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    user = accounts.sign_up(
                        email=data["email"],
                        password=data["password"],
                        given_names=data["given_names"],
                        family_name=data["family_name"],
                        birth_date=data["birth_date"],
                        preferred_language=data["preferred_language"],
                    )
                    accounts.send_verification_email(user, request.build_absolute_uri)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                return redirect("identity:sign-up-sent")
        return render(request, "identity/sign_up.html", {"form": form}, status=400)
    return render(request, "identity/sign_up.html", {"form": form})


@guards.public
def sign_up_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/sign_up_sent.html")


@guards.public
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        accounts.verify_email(uidb64, token)
    except ValidationError as error:
        return render(
            request,
            "identity/message.html",
            {"title": _("Link not valid"), "text": error.messages[0]},
            status=400,
        )
    messages.success(request, _("Your email address is confirmed. You can now sign in."))
    return redirect("identity:sign-in")


@guards.public
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    next_url = next_target(request)
    if request.method == "POST":
        if form.is_valid():
            email = accounts.normalise_email(form.cleaned_data["username"])
            password = form.cleaned_data["password"]
            user = authenticate(request, username=accounts.username_for(email), password=password)
            if user is not None:
                login(request, user)
                if acting.needs_second_factor(user):
                    target = "identity:two-factor"
                    if accounts.confirmed_device(user) is None:
                        target = "identity:two-factor-setup"
                    return redirect(f"{reverse(target)}?{urlencode({'next': next_url})}")
                return redirect(next_url)
            pending = accounts.pending_verification(email, password)
            if pending is not None:
                accounts.send_verification_email(pending, request.build_absolute_uri)
                form.add_error(
                    None,
                    _("Confirm your email address first: we have sent you a new link."),
                )
            else:
                form.add_error(None, _("The email address or the password is not right."))
        return render(request, "identity/sign_in.html", _sign_in_page(form, next_url), status=400)
    return render(request, "identity/sign_in.html", _sign_in_page(form, next_url))


def _sign_in_page(form: SignInForm, next_url: str) -> dict:
    providers = [{"key": key, "name": provider_name(key)} for key in settings.OIDC_PROVIDERS]
    return {"form": form, "next": next_url, "providers": providers}


@guards.requires("account.signed_in")
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("web:home")


# --- Password reset ------------------------------------------------------------------------


@guards.public
def password_reset(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            reset = PasswordResetForm(
                {"email": accounts.normalise_email(form.cleaned_data["email"])}
            )
            reset.is_valid()
            reset.save(
                request=request,
                use_https=request.is_secure(),
                from_email=settings.DEFAULT_FROM_EMAIL,
                subject_template_name="identity/email/reset_subject.txt",
                email_template_name="identity/email/reset_body.txt",
            )
            # The same answer whether or not an account exists: addresses are not disclosed.
            return redirect("identity:password-reset-sent")
        return render(request, "identity/password_reset.html", {"form": form}, status=400)
    return render(request, "identity/password_reset.html", {"form": form})


@guards.public
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "identity/message.html",
        {
            "title": _("Check your email"),
            "text": _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. The link works once, for a few days."
            ),
        },
    )


@guards.public
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = accounts.user_from_uid(uidb64)
    if user is None or not default_token_generator.check_token(user, token):
        return render(
            request,
            "identity/message.html",
            {
                "title": _("Link not valid"),
                "text": _("This link is not valid or was already used. Ask for a new one."),
            },
            status=400,
        )
    form = NewPasswordForm(user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            accounts.set_new_password(form)
            messages.success(request, _("Your password is changed. Sign in with it."))
            return redirect("identity:sign-in")
        return render(request, "identity/password_reset_confirm.html", {"form": form}, status=400)
    return render(request, "identity/password_reset_confirm.html", {"form": form})


# --- Second factor ------------------------------------------------------------------------


@guards.requires("account.signed_in")
def two_factor(request: HttpRequest, context: ActingContext) -> HttpResponse:
    user = User.objects.get(pk=context.user_id)
    if accounts.confirmed_device(user) is None:
        return redirect(
            f"{reverse('identity:two-factor-setup')}?{urlencode({'next': next_target(request)})}"
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            device = accounts.check_totp(user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                return redirect(next_target(request))
            form.add_error("code", _("This code is not right, or has expired. Try the next one."))
        return render(
            request,
            "identity/two_factor.html",
            {"form": form, "next": next_target(request)},
            status=400,
        )
    return render(request, "identity/two_factor.html", {"form": form, "next": next_target(request)})


@guards.requires("account.signed_in")
def two_factor_setup(request: HttpRequest, context: ActingContext) -> HttpResponse:
    user = User.objects.get(pk=context.user_id)
    if accounts.confirmed_device(user) is not None and not context.second_factor:
        # Replacing an authenticator needs the current one: a stolen password is not enough.
        return redirect(
            f"{reverse('identity:two-factor')}?{urlencode({'next': next_target(request)})}"
        )
    device = accounts.start_totp_enrolment(user)
    form = CodeForm(request.POST or None)
    page = {
        "form": form,
        "next": next_target(request),
        "qr": accounts.totp_qr_svg(device),
        "secret": accounts.totp_secret(device),
    }
    if request.method == "POST":
        if form.is_valid() and accounts.confirm_totp(device, form.cleaned_data["code"]):
            otp_login(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(next_target(request))
        if form.is_valid():
            form.add_error("code", _("This code is not right. Check the app and try again."))
        return render(request, "identity/two_factor_setup.html", page, status=400)
    return render(request, "identity/two_factor_setup.html", page)


# --- The account, acting for someone, stepping up ------------------------------------------


@guards.requires("account.self")
def account(request: HttpRequest, context: ActingContext) -> HttpResponse:
    user = User.objects.select_related("person").get(pk=context.user_id)
    person = user.person
    subject = Person.objects.filter(pk=context.subject_id).first() if context.subject_id else None
    return render(
        request,
        "identity/account.html",
        {
            "account": user,
            "person": person,
            "subject": subject,
            "context": context,
            "level": context.assurance,
            "proofings": assurance.valid_proofings(person),
            "mandates": mandates.acting_for(person),
            "memberships": acting.memberships_in_force(user),
            "section": "account",
        },
    )


def _represented(person: Person) -> list[Business]:
    """The businesses the person represents under a mandate in force."""
    found = {
        mandate.business.pk: mandate.business
        for mandate in mandates.acting_for(person)
        if mandate.business_id and mandate.kind == Mandate.Kind.BUSINESS_REPRESENTATIVE
    }
    return sorted(found.values(), key=lambda business: (business.legal_name, business.pk))


@guards.requires("account.self")
def profile_facts(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The facts a person chooses to give about themself (accessibility needs, the date they
    arrived in the country) and the size of the businesses they represent: all optional."""
    person = User.objects.select_related("person").get(pk=context.user_id).person
    if person is None:
        raise Http404(_("Your account is not linked to a person in the registry yet."))
    businesses = _represented(person)
    initial = {
        "accessibility_needs": person.accessibility_needs,
        "arrival_date": person.arrival_date,
        **{f"size_{business.pk}": business.size for business in businesses},
    }
    if request.method == "POST":
        form = ProfileFactsForm(request.POST, person=person, businesses=businesses)
        if form.is_valid():
            data = form.cleaned_data
            with transaction.atomic():
                person.accessibility_needs = data["accessibility_needs"] or ""
                person.arrival_date = data["arrival_date"]
                person.save(update_fields=["accessibility_needs", "arrival_date", "updated_at"])
                for business in businesses:
                    business.size = data[f"size_{business.pk}"] or ""
                    business.save(update_fields=["size"])
            messages.success(request, _("Your profile is saved."))
            return redirect("identity:account")
        status = 400
    else:
        form = ProfileFactsForm(initial=initial, person=person, businesses=businesses)
        status = 200
    return render(
        request,
        "identity/profile.html",
        {"form": form, "person": person, "section": "account"},
        status=status,
    )


@guards.requires("account.self")
@require_POST
def choose_acting(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form = ActingForForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "identity/forbidden.html",
            {"reason": _("Choose a person from the list.")},
            status=400,
        )
    try:
        mandate = acting.choose_subject(request.session, context, form.cleaned_data["subject"])
    except ActingError as error:
        return render(request, "identity/forbidden.html", {"reason": str(error)}, status=403)
    if mandate is None:
        messages.info(request, _("You are acting for yourself."))
    else:
        messages.info(request, _("You are now acting for %(name)s.") % {"name": mandate.subject})
    return redirect("identity:account")


@guards.public
def step_up(request: HttpRequest, context: ActingContext) -> HttpResponse:
    key = request.GET.get("service", "")
    service = Service.objects.filter(key=key).first()
    if service is None:
        raise Http404(_("There is no service with this key."))
    person = Person.objects.filter(pk=context.person_id).first() if context.person_id else None
    plan = assurance.step_up(service, person)
    return render(
        request,
        "identity/step_up.html",
        {
            "plan": plan,
            "service": service,
            "signed_in": not context.is_anonymous,
            "next": next_target(request),
        },
    )


@guards.requires("service.apply", resource=load_service)
def service_start(
    request: HttpRequest, context: ActingContext, service: Service, key: str
) -> HttpResponse:
    subject = Person.objects.filter(pk=context.subject_id).first()
    return render(
        request,
        "identity/service_start.html",
        {"service": service, "subject": subject, "context": context},
    )


# --- Staff ---------------------------------------------------------------------------------


@guards.requires("staff.console")
def staff_home(request: HttpRequest, context: ActingContext) -> HttpResponse:
    """The console: the tools the person's current role allows, each asked of the policy."""
    user = User.objects.get(pk=context.user_id)
    tools = console.tools_for(context)
    tool_keys = {tool.key for tool in tools}
    return render(
        request,
        "identity/staff_home.html",
        {
            "context": context,
            "memberships": acting.memberships_in_force(user),
            "find_form": (
                FindPersonForm(country=country_of(context))
                if "identity-find-person" in tool_keys
                else None
            ),
            "tools": [tool for tool in tools if tool.key != "identity-find-person"],
            "section": "staff",
        },
    )


@guards.requires("staff.console")
@require_POST
def choose_membership(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form = MembershipForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "identity/forbidden.html",
            {"reason": _("Choose a role from the list.")},
            status=400,
        )
    user = User.objects.get(pk=context.user_id)
    try:
        acting.choose_membership(request.session, user, form.cleaned_data["membership"])
    except ActingError as error:
        return render(request, "identity/forbidden.html", {"reason": str(error)}, status=403)
    return redirect("identity-staff:home")


@guards.requires("person.find")
def find_person(request: HttpRequest, context: ActingContext) -> HttpResponse:
    form = FindPersonForm(request.POST or None, country=country_of(context))
    if request.method == "POST":
        if form.is_valid():
            person = client_registry.find_by_identifier(
                form.cleaned_data["kind"], form.cleaned_data["value"]
            )
            if person is not None:
                return redirect("identity-staff:person", person_id=person.pk)
            form.add_error(None, _("Nobody in the registry holds this number."))
            return render(request, "identity/find_person.html", {"form": form}, status=404)
        return render(request, "identity/find_person.html", {"form": form}, status=400)
    return render(request, "identity/find_person.html", {"form": form})


#: What the person page shows, read through the data gate, and why it is read.
PERSON_RECORD = ("identity", "birth", "address")
PERSON_RECORD_PURPOSE = "person-record"
#: What the pages recording a proof or a mandate show of the person: their name.
NAME = ("given_names", "family_name")


def _refused(request: HttpRequest, refusal: disclosure.Refused) -> HttpResponse:
    return render(request, "identity/forbidden.html", {"reason": refusal.message}, status=403)


@guards.requires("person.view", resource=load_person)
def person_detail(
    request: HttpRequest, context: ActingContext, person: Person, person_id: int
) -> HttpResponse:
    """A person's record: for anyone but the person, only what the data gate lets through,
    and the read is in the person's ledger."""
    try:
        shown = disclosure.disclose(context, person, PERSON_RECORD, PERSON_RECORD_PURPOSE)
    except disclosure.Refused as refusal:
        return _refused(request, refusal)
    return render(
        request,
        "identity/person.html",
        {
            "person": person,
            "context": context,
            "shown": shown.fields,
            "level": assurance.level_of(person),
            "proofings": assurance.valid_proofings(person).select_related("office", "agency"),
            "identifiers": person.identifiers.all() if "masked_identifiers" in shown.fields else [],
            "address": person.current_address() if "address" in shown.fields else None,
            "mandates_given": mandates.in_force().filter(subject=person).select_related("holder"),
            "can_prove": policy.decide(context, "proofing.record", person).allowed,
            "can_record_mandate": policy.decide(context, "mandate.record", person).allowed,
        },
    )


def _staff_offices(context: ActingContext):
    offices = Office.objects.filter(agency__key=context.agency_key).select_related("agency")
    if context.office_keys:
        offices = offices.filter(key__in=context.office_keys)
    return list(offices)


@guards.requires("proofing.record", resource=load_person)
def record_proofing(
    request: HttpRequest, context: ActingContext, person: Person, person_id: int
) -> HttpResponse:
    try:  # the page names the person
        disclosure.disclose(context, person, NAME, "identity-proofing")
    except disclosure.Refused as refusal:
        return _refused(request, refusal)
    offices = _staff_offices(context)
    form = ProofingForm(request.POST or None, offices=offices)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            office = next((o for o in offices if o.key == data["office"]), None)
            in_person = data["method"] == IdentityProofing.Method.IN_PERSON
            try:
                assurance.record_proofing(
                    person,
                    level=AssuranceLevel.IN_PERSON if in_person else AssuranceLevel.REMOTE,
                    method=data["method"],
                    evidence=data["evidence"],
                    verified_by=User.objects.get(pk=context.user_id),
                    office=office,
                    agency=office.agency if office else None,
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("The proof of identity is recorded."))
                return redirect("identity-staff:person", person_id=person.pk)
        return render(
            request, "identity/record_proofing.html", {"form": form, "person": person}, status=400
        )
    return render(request, "identity/record_proofing.html", {"form": form, "person": person})


@guards.requires("mandate.record", resource=load_person)
def record_mandate(
    request: HttpRequest, context: ActingContext, person: Person, person_id: int
) -> HttpResponse:
    try:  # the page names the person
        disclosure.disclose(context, person, NAME, "mandate-recording")
    except disclosure.Refused as refusal:
        return _refused(request, refusal)
    form = MandateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                mandates.grant_mandate(
                    holder=data["holder"],
                    kind=data["kind"],
                    subject=person,
                    scopes=data["scopes"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    basis=data["basis"],
                    recorded_by=User.objects.get(pk=context.user_id),
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("The mandate is recorded."))
                return redirect("identity-staff:person", person_id=person.pk)
        return render(
            request, "identity/record_mandate.html", {"form": form, "person": person}, status=400
        )
    return render(request, "identity/record_mandate.html", {"form": form, "person": person})


@guards.requires("person.view", resource=load_person)
@require_POST
def email_record(
    request: HttpRequest, context: ActingContext, person: Person, person_id: int
) -> HttpResponse:
    """Send a copy of the record by e-mail, in the background, with the requester's context."""
    send_record_copy.enqueue(context.to_json(), person.pk)
    messages.success(request, _("A copy of the record is on its way to your email address."))
    return redirect("identity:person", person_id=person.pk)
