"""The citizen portal's pages; the project's urls.py puts them under a language prefix."""

from django.urls import path

from . import views

app_name = "bundles"

urlpatterns = [
    path("life-events/", views.bundle_list, name="list"),
    path("life-events/<slug:key>/", views.bundle_start, name="start"),
    path("life-events/<slug:key>/begin/", views.bundle_begin, name="begin"),
    path("life-events/journeys/<uuid:draft_id>/questions/", views.questions, name="questions"),
    path("life-events/journeys/<uuid:draft_id>/services/", views.services, name="services"),
    path("life-events/journeys/<uuid:draft_id>/form/<slug:page>/", views.form_page, name="form"),
    path("life-events/journeys/<uuid:draft_id>/check/", views.check, name="check"),
    path("my/", views.my_services, name="my-services"),
    path("my/family/", views.switch_person, name="switch-person"),
    path("my/bundles/<uuid:submission_id>/", views.submission_status, name="submission"),
    path(
        "my/bundles/<uuid:submission_id>/legs/<int:leg_id>/answer/",
        views.leg_answer,
        name="leg-answer",
    ),
    path("my/offers/<uuid:offer_id>/", views.offer_page, name="offer"),
    path(
        "my/consents/<uuid:consent_id>/withdraw/",
        views.withdraw_consent,
        name="withdraw-consent",
    ),
]
