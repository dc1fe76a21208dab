"""What a request must be before the API reads it: a bounded URL, a bounded JSON body in UTF-8,
and no NUL character anywhere.

Django and the web server refuse some of these themselves, but with an HTML page (an over-long
URL, a body over DATA_UPLOAD_MAX_MEMORY_SIZE) or not at all (a body in another encoding or
compressed would reach the endpoint and be read as something else; a NUL character reaches
PostgreSQL, which cannot store it, and becomes a 500). This middleware answers them first, in
the API's own shape (`{"detail": ...}`), so a partner's client always gets JSON it can read:

- 414 for a URL longer than JOINEDUP_MAX_URL_LENGTH (the site answers its own error page);
- 413 for a body larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE;
- 415 for a body that is not `application/json` in UTF-8, or that claims a content coding;
- 400 for a body that is not valid UTF-8 or not JSON;
- 422 for a body that is not a JSON object (every operation's body is one: a list or a bare
  value would otherwise be read as an object with every field left to its default), and for
  a NUL character in the path, the query or any text of the JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Endpoints whose body is a third party's own format, read as raw bytes and checked by a
#: signature (payment providers' webhooks): only the size limit applies to them.
RAW_BODY_SUFFIXES = ("/webhook",)
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _refusal(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _has_nul(value: Any) -> bool:
    """True when any text in a parsed JSON document (keys included) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _empty_form(request: HttpRequest) -> bool:
    """True for a form body without a single field or file."""
    # Read into memory first, so that the endpoint can still read the body after the form.
    if not request.body:
        return True
    try:
        return not request.POST and not request.FILES
    except Exception:  # a malformed form is not an empty one; the 415 below refuses it
        return False


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _body_refusal(request: HttpRequest) -> HttpResponse | None:
    """The refusal of a request's body, or None when the API may read it."""
    length = _content_length(request)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return _refusal(
            413,
            _("The request body is too large: at most %(size)s bytes.")
            % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
    if request.path.endswith(RAW_BODY_SUFFIXES):
        return None
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return _refusal(415, _("Send the request body without a content coding."))
    if length == 0:
        return None
    media_type, _sep, parameters = request.META.get("CONTENT_TYPE", "").partition(";")
    media_type = media_type.strip().lower()
    charset = ""
    for parameter in parameters.split(";"):
        name, _eq, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media_type in FORM_TYPES and _empty_form(request):
        return None  # a form with nothing in it (what some clients send for a bare POST)
    if media_type != "application/json" or charset not in {"", "utf-8", "utf8"}:
        return _refusal(415, _("Send the request body as application/json in UTF-8."))
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return _refusal(400, _("The request body is not valid UTF-8."))
    try:
        document = json.loads(text)
    except ValueError:
        return _refusal(400, _("The request body is not valid JSON."))
    if not isinstance(document, dict):
        return _refusal(422, _("The request body must be a JSON object."))
    if _has_nul(document):
        return _refusal(422, _("Text may not contain the NUL character."))
    return None


class AdmissionMiddleware:
    """Refuses, before any view, the requests the API cannot read (see the module's text)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_api = request.path.startswith(API_PREFIX)
        if len(request.get_full_path()) > settings.MAX_URL_LENGTH:
            if is_api:
                return _refusal(414, _("The address of this request is too long."))
            return render(request, "414.html", status=414)
        if not is_api:
            return self.get_response(request)
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return _refusal(422, _("Text may not contain the NUL character."))
        if request.method in BODY_METHODS:
            refusal = _body_refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)
