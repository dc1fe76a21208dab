"""Forms of the identity pages. Every message is translated and none repeats an identifier."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import identifiers
from .acting import ActingContext
from .models import Business, IdentityProofing, Mandate, Person, User, validate_arrival_date

TEXT = {"class": "usa-input"}
DATE_ERRORS = {"invalid": _("Enter a real date, such as 2015-06-30.")}


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={**TEXT, "autocomplete": "email"}),
        error_messages={"invalid": _("Enter an email address such as name@example.org.")},
    )
    given_names = forms.CharField(
        label=_("Given names"),
        max_length=200,
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Family name"),
        max_length=200,
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "family-name"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example 1985-04-23."),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date", "autocomplete": "bday"}),
        error_messages=DATE_ERRORS,
    )
    preferred_language = forms.ChoiceField(
        label=_("Preferred official language"),
        choices=User.Language.choices,
        widget=forms.Select(attrs={"class": "usa-select"}),
    )
    password = forms.CharField(
        label=_("Password"),
        help_text=_("At least 12 characters; not a common password."),
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords are not the same."))
        return data


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("Email address"),
        max_length=254,
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "current-password"}),
    )


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={**TEXT, "autocomplete": "email"}),
        error_messages={"invalid": _("Enter an email address such as name@example.org.")},
    )


class NewPasswordForm(SetPasswordForm):
    """Django's set-password form, with the design system's classes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({**TEXT, "autocomplete": "new-password"})


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Six-digit code"),
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        help_text=_("From your authenticator app."),
        widget=forms.TextInput(
            attrs={**TEXT, "autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
        error_messages={"invalid": _("Enter the six digits shown in your authenticator app.")},
    )


class ActingForForm(forms.Form):
    subject = forms.IntegerField(
        label=_("Act for"),
        required=False,
        error_messages={"invalid": _("Choose a person from the list.")},
    )


class MembershipForm(forms.Form):
    membership = forms.IntegerField(error_messages={"invalid": _("Choose a role from the list.")})


class UnechoedTextInput(forms.TextInput):
    """A text field the person sees while typing, never written back into the page (not
    even to correct it): a number typed at the counter stays out of page records."""

    def format_value(self, value):
        return None


class FindPersonForm(forms.Form):
    """Find a person by an identifier: the kinds the people of the agent's country hold,
    the number typed as visible text with the way each kind is written shown beside it."""

    kind = forms.ChoiceField(
        label=_("Kind of identifier"),
        choices=(),
        widget=forms.Select(attrs={"class": "usa-select"}),
    )
    value = forms.CharField(
        label=_("Number"),
        max_length=40,
        widget=UnechoedTextInput(attrs={**TEXT, "autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, country: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kinds = identifiers.for_country(country)
        self.fields["kind"].choices = [(t.key, capfirst(t.label)) for t in kinds]
        self.fields["value"].help_text = " ".join(
            gettext("%(kind)s: %(format)s.") % {"kind": capfirst(t.label), "format": t.format}
            for t in kinds
            if t.format
        )

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("value"):
            try:
                data["value"] = identifiers.get(data["kind"]).clean(data["value"])
            except forms.ValidationError as error:
                self.add_error("value", error)
        return data


def country_of(context: ActingContext) -> str | None:
    """The country of the agency the staff member acts for (CA for CA-ON), or None."""
    code = getattr(context, "agency_jurisdiction", None) or ""
    return code.split("-")[0] or None


class ProofingForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How was identity verified?"),
        choices=[
            (IdentityProofing.Method.IN_PERSON, IdentityProofing.Method.IN_PERSON.label),
            (IdentityProofing.Method.DOCUMENT_CHECK, IdentityProofing.Method.DOCUMENT_CHECK.label),
        ],
        widget=forms.Select(attrs={"class": "usa-select"}),
    )
    evidence = forms.MultipleChoiceField(
        label=_("Documents seen"),
        choices=[
            ("passport", _("Passport")),
            ("drivers-licence", _("Driver's licence")),
            ("birth-certificate", _("Birth certificate")),
            ("permanent-resident-card", _("Permanent resident card")),
            ("photo-card", _("Provincial photo card")),
        ],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "usa-checkbox__input"}),
        error_messages={"required": _("Tick at least one document you saw.")},
    )
    office = forms.ChoiceField(
        label=_("Office"),
        required=False,
        widget=forms.Select(attrs={"class": "usa-select"}),
    )

    def __init__(self, *args, offices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [("", _("Not at an office"))] + [
            (office.key, office.name) for office in offices
        ]

    def clean(self):
        data = super().clean()
        if data.get("method") == IdentityProofing.Method.IN_PERSON and not data.get("office"):
            self.add_error("office", _("Say at which office the person was seen."))
        return data


class MandateForm(forms.Form):
    holder = forms.IntegerField(
        label=_("Person who will act (registry number)"),
        widget=forms.NumberInput(attrs=TEXT),
        error_messages={"invalid": _("Enter the registry number of a person.")},
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in Mandate.Kind.choices if c[0] != Mandate.Kind.BUSINESS_REPRESENTATIVE],
        widget=forms.Select(attrs={"class": "usa-select"}),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scope"),
        choices=Mandate.Scope.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "usa-checkbox__input"}),
        error_messages={"required": _("Choose at least one thing the mandate allows.")},
    )
    valid_from = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
        error_messages=DATE_ERRORS,
    )
    valid_to = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
        error_messages=DATE_ERRORS,
    )
    basis = forms.CharField(
        label=_("Based on"), max_length=200, required=False, widget=forms.TextInput(attrs=TEXT)
    )

    def clean_holder(self):
        pk = self.cleaned_data["holder"]
        holder = Person.objects.filter(pk=pk).first()
        if holder is None:
            raise forms.ValidationError(_("No person has this registry number."))
        return holder


class ProfileFactsForm(forms.Form):
    """Facts a person chooses to give about themself, and the size of each business they
    represent. Every one is optional; leaving one empty takes it back."""

    accessibility_needs = forms.ChoiceField(
        label=_("Accessibility needs"),
        help_text=_(
            "Whether you have needs, such as a disability, that change how you use services. "
            "Optional. Only whether needs were declared is counted, without your name, to "
            "see how well services serve people with such needs."
        ),
        choices=[("", _("I prefer not to say")), *Person.AccessibilityNeeds.choices],
        required=False,
        widget=forms.Select(attrs={"class": "usa-select"}),
    )
    arrival_date = forms.DateField(
        label=_("Date you arrived in the country"),
        help_text=_(
            "If you came to live here from another country. Optional. Only whether you "
            "arrived in the last five years is counted with your requests, without your name."
        ),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
        error_messages=DATE_ERRORS,
    )

    def __init__(self, *args, person: Person, businesses=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        self.businesses = list(businesses)
        for business in self.businesses:
            self.fields[f"size_{business.pk}"] = forms.ChoiceField(
                label=_("Size of %(business)s") % {"business": business.legal_name},
                help_text=_("The number of its employees. Optional."),
                choices=[("", _("I prefer not to say")), *Business.Size.choices],
                required=False,
                widget=forms.Select(attrs={"class": "usa-select"}),
            )

    def size_fields(self):
        return [self[f"size_{business.pk}"] for business in self.businesses]

    def clean_arrival_date(self):
        arrival = self.cleaned_data.get("arrival_date")
        if arrival is None:
            return None
        try:
            validate_arrival_date(arrival)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages[0], code=error.code) from error
        born = self.person.birth_date
        if born is not None and arrival < born:
            raise forms.ValidationError(
                _("An arrival date cannot be before your date of birth (%(born)s).")
                % {"born": born.isoformat()},
                code="before_birth",
            )
        return arrival
