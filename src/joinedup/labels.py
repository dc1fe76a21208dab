"""A field's choice label, as `instance.get_<field>_display()` gives it, for less.

Django's `get_<field>_display` turns the field's whole list of choices into a dict at each
call, hashing every label on the way: a label is a lazy translation, and hashing one
translates it. A page that shows a status per row (a case's referrals, actions, goals) paid
a translation per choice per row. Here the choices' dict is made once per field (its labels
stay lazy) and only the label shown is translated, in the language of the request.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.encoding import force_str

_CHOICES: dict[models.Field, dict[Any, Any]] = {}


def display(instance: models.Model, name: str) -> Any:
    """`instance.get_<name>_display()`: the label of the field's value, else the value."""
    field = instance._meta.get_field(name)
    choices = _CHOICES.get(field)
    if choices is None:
        choices = _CHOICES[field] = dict(field.flatchoices)
    value = getattr(instance, field.attname)
    try:
        label = choices.get(value, value)
    except TypeError:  # a value that cannot be a key (never a choice)
        return getattr(instance, f"get_{name}_display")()
    return force_str(label, strings_only=True)
