"""The consoles' forms (server-rendered, no JavaScript needed)."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from joinedup.identity.forms import FindPersonForm, country_of

from . import picklists
from .models import Interaction

TEXT = {"class": "usa-input"}
AREA = {"class": "usa-textarea"}
SELECT = {"class": "usa-select"}

__all__ = ["FindPersonForm", "country_of"]


class RegisterForm(forms.Form):
    given_names = forms.CharField(
        label=_("Given names"), max_length=200, widget=forms.TextInput(TEXT)
    )
    family_name = forms.CharField(
        label=_("Family name"), max_length=200, widget=forms.TextInput(TEXT)
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example, 1988-03-14"),
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
    )
    street_address = forms.CharField(
        label=_("Street address"), max_length=200, required=False, widget=forms.TextInput(TEXT)
    )
    locality = forms.CharField(
        label=_("City or town"), max_length=100, required=False, widget=forms.TextInput(TEXT)
    )
    postal_code = forms.CharField(
        label=_("Postal code"), max_length=20, required=False, widget=forms.TextInput(TEXT)
    )
    place = forms.CharField(
        label=_("Jurisdiction code of the address"),
        help_text=_("For example, CA-ON-TOR"),
        max_length=32,
        required=False,
        widget=forms.TextInput(TEXT),
    )
    email = forms.EmailField(
        label=_("Email address"), required=False, widget=forms.EmailInput(TEXT)
    )

    def clean(self):
        data = super().clean()
        address = [data.get("street_address"), data.get("locality")]
        if any(address) and not all(address):
            raise forms.ValidationError(_("Give both the street address and the city, or neither."))
        return data


EVIDENCE = [
    ("passport", _("Passport")),
    ("driver_licence", _("Driver's licence")),
    ("birth_certificate", _("Birth certificate")),
    ("citizenship_card", _("Citizenship or permanent resident card")),
    ("health_card", _("Health card with photo")),
]


class VerifyForm(forms.Form):
    evidence = forms.MultipleChoiceField(
        label=_("Identity documents seen"),
        choices=EVIDENCE,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "usa-checkbox__input"}),
    )


def _json_object(raw: str, label: str) -> dict:
    raw = (raw or "").strip() or "{}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise forms.ValidationError(
            _("%(label)s must be written as JSON.") % {"label": label}
        ) from None
    if not isinstance(value, dict):
        raise forms.ValidationError(_("%(label)s must be a JSON object.") % {"label": label})
    return value


class ChooseBundleForm(forms.Form):
    bundle = forms.ChoiceField(label=_("Life event"), widget=forms.Select(SELECT))

    def __init__(self, *args, bundles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bundle"].choices = [(b.key, b.name) for b in bundles]


class ServiceForm(forms.Form):
    service = forms.CharField(
        label=_("Service catalogue key"),
        help_text=_("For example, ca.birth-certificate"),
        max_length=120,
        widget=forms.TextInput(TEXT),
    )
    answers = forms.CharField(label=_("Answers (JSON)"), widget=forms.Textarea(AREA))

    def clean_answers(self):
        return _json_object(self.cleaned_data.get("answers", ""), _("Answers"))


class EndForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[c for c in Interaction.Outcome.choices if c[0]],
        widget=forms.Select(SELECT),
    )
    topic = forms.CharField(
        label=_("Topic"), max_length=200, required=False, widget=forms.TextInput(TEXT)
    )


class CallerForm(forms.Form):
    """The knowledge questions and the one-time code, asked together."""

    code = forms.CharField(
        label=_("One-time code the caller reads out"),
        max_length=12,
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off", "inputmode": "numeric"}),
    )

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        for question in questions:
            self.fields[question.key] = forms.CharField(
                label=question.label,
                max_length=100,
                widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off"}),
            )
        self.order_fields([q.key for q in questions] + ["code"])


class TransferForm(forms.Form):
    agency = forms.ChoiceField(label=_("Transfer to"), widget=forms.Select(SELECT))
    summary = forms.CharField(
        label=_("What the caller needs"), max_length=2000, widget=forms.Textarea(AREA)
    )

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = picklists.agency_choices(list(agencies))


class CallbackForm(forms.Form):
    phone = forms.CharField(
        label=_("Number to call back"), max_length=40, widget=forms.TextInput(TEXT)
    )
    summary = forms.CharField(
        label=_("What the caller needs"), max_length=2000, widget=forms.Textarea(AREA)
    )


# --- Appointments -----------------------------------------------------------------------


class FindOfficeForm(forms.Form):
    """Where and for what: both optional, so a person may just look around."""

    service = forms.ChoiceField(
        label=_("Service you need"), required=False, widget=forms.Select(SELECT)
    )
    place = forms.CharField(
        label=_("Town, postal code or place code"),
        help_text=_("For example, Toronto, M5G or CA-ON-TOR"),
        max_length=100,
        required=False,
        widget=forms.TextInput(TEXT),
    )

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = picklists.service_choices(list(services))
        self.fields["service"].choices = [("", _("Any service")), *choices]


class DayForm(forms.Form):
    day = forms.DateField(
        label=_("Day"),
        help_text=_("For example, 2026-03-14"),
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
    )


class StaffBookingForm(forms.Form):
    """The console's choice of service, office and day, before the free times."""

    service = forms.ChoiceField(label=_("Service"), widget=forms.Select(SELECT))
    office = forms.ChoiceField(label=_("Office"), widget=forms.Select(SELECT))
    day = forms.DateField(
        label=_("Day"),
        help_text=_("For example, 2026-03-14"),
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}),
    )

    def __init__(self, *args, services=(), offices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = picklists.service_choices(list(services))
        self.fields["office"].choices = picklists.office_choices(list(offices))
