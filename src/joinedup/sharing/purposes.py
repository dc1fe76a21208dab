"""The names of the purposes data is used for, as people read them ("To register the birth",
not "birth-registration").

A purpose is a key on every ledger row and consent (machines compare keys); people see its
name. The platform's own purposes are named here; an app that reads data for a purpose of
its own names it with `register`; a purpose only a data file knows (a bundle's consent) is
named by the registry of consent titles (sharing.presentation) or, last, shown as words made
of its key.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

_NAMES: dict[str, Any] = {}


def register(key: str, label: Any) -> None:
    """Name a purpose (a lazy translation, so each reader sees their language)."""
    _NAMES[key] = label


def known(key: str) -> bool:
    return key in _NAMES


def name(key: str) -> str:
    """The purpose's name in the reader's language; words made of the key when unnamed."""
    label = _NAMES.get(key)
    if label is not None:
        return str(label)
    words = key.replace(".", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


# The purposes the platform's own code reads data for (each app's module names the key).
register("person-record", _("To show your record to staff serving you"))
register("service-delivery", _("To work on your application"))
register("counter-service", _("To serve you at a counter"))
register("joint-delivery", _("To deliver a service jointly with another agency"))
register("caller-status-enquiry", _("To answer your question on the phone"))
register("bundle-prefill", _("To fill in a form for you with what we already know"))
register("platform-administration", _("To administer the platform"))
