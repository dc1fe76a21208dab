"""The person's pages (under a language prefix); the machines' endpoint is in urls.py."""

from django.urls import path

from . import pages

app_name = "exchange-pages"

urlpatterns = [
    path("my-data/evidence-requests/", pages.evidence_requests, name="evidence-requests"),
    path("my-data/evidence-requests/<int:pk>/", pages.evidence_request, name="evidence-request"),
    path(
        "my-data/evidence-requests/<int:pk>/decide/",
        pages.evidence_decide,
        name="evidence-decide",
    ),
]
