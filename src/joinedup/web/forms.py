"""The forms of the public pages: filtering the catalogue and choosing a place.

Values arrive in the address bar, so anyone can type anything; each field says clearly what
was wrong instead of failing.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from joinedup.federation.models import Jurisdiction, LifeSituation, Service


def place_choices() -> list[tuple[str, str]]:
    """Every jurisdiction as (code, "Canada › Ontario › Toronto"), parents first."""
    jurisdictions = list(Jurisdiction.objects.order_by("path").only("code", "path", "names"))
    names = {j.code: j.name for j in jurisdictions}
    return [
        (j.code, " › ".join(names.get(code, code) for code in j.ancestor_codes))
        for j in jurisdictions
    ]


class CodeChoiceField(forms.ChoiceField):
    """A choice of jurisdiction code, in any case: "ca-on" is CA-ON."""

    def to_python(self, value: object) -> str:
        return super().to_python(value).strip().upper()


class ServiceFilterForm(forms.Form):
    """The filters of the service list; every field is optional."""

    q = forms.CharField(
        label=_("Words"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "usa-input", "enterkeyhint": "search"}),
        error_messages={"max_length": _("Use at most %(limit_value)d characters to search.")},
    )
    jurisdiction = CodeChoiceField(
        label=_("Place"),
        required=False,
        widget=forms.Select(attrs={"class": "usa-select"}),
        error_messages={"invalid_choice": _("There is no place with the code “%(value)s”.")},
    )
    frame = forms.ChoiceField(
        label=_("Kind of service"),
        required=False,
        choices=[("", _("Any kind")), *Service.Frame.choices],
        widget=forms.Select(attrs={"class": "usa-select"}),
        error_messages={"invalid_choice": _("There is no kind of service called “%(value)s”.")},
    )
    life_situation = forms.ChoiceField(
        label=_("Life situation"),
        required=False,
        widget=forms.Select(attrs={"class": "usa-select"}),
        error_messages={"invalid_choice": _("There is no life situation called “%(value)s”.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [("", _("Anywhere")), *place_choices()]
        self.fields["life_situation"].choices = [
            ("", _("Any life situation")),
            *((s.key, s.name) for s in LifeSituation.objects.order_by("position", "key")),
        ]

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)


class PlaceForm(forms.Form):
    """ "Who delivers this where I live?": one place, chosen from the jurisdiction tree."""

    place = CodeChoiceField(
        label=_("Where do you live?"),
        help_text=_("Choose your city or town; if it is not listed, choose your province."),
        widget=forms.Select(attrs={"class": "usa-select"}),
        error_messages={
            "required": _("Choose a place."),
            "invalid_choice": _("There is no place with the code “%(value)s”."),
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [("", _("- Select -")), *place_choices()]
