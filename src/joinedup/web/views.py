"""Page views: thin, they gather what a page shows and hand it to a template."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {})


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers; also the framework's floor in the catalogue benchmark."""
    connection.ensure_connection()
    return JsonResponse({"status": "ok"})
