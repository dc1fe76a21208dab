from django.urls import path

from . import views

app_name = "performance"

urlpatterns = [
    path("performance/", views.index, name="index"),
    path("performance/open-data/kpis.csv", views.open_data_csv, name="open-data-csv"),
    path("performance/open-data/package.zip", views.open_data_package, name="open-data-package"),
    path("performance/services/<str:key>/", views.service_page, name="service"),
    path("performance/jurisdictions/<str:code>/", views.jurisdiction_page, name="jurisdiction"),
    path("performance/agencies/<slug:key>/", views.dashboard, name="dashboard"),
    path(
        "performance/agencies/<slug:key>/rules-departures/",
        views.rules_departures_page,
        name="rules-departures",
    ),
    path("performance/feedback/", views.feedback_list, name="feedback"),
    path("performance/complaints/", views.complaints_page, name="complaints"),
    path("performance/feedback/<uuid:invitation_id>/", views.feedback_form, name="feedback-form"),
    path("performance/survey/thanks/", views.survey_thanks, name="survey-thanks"),
    path("performance/survey/<str:token>/", views.survey, name="survey"),
    path("performance/referrals/", views.referrals_page, name="referrals"),
    path(
        "performance/jurisdictions/<str:code>/integration/",
        views.integration_page,
        name="integration",
    ),
    path("performance/groups/", views.groups_page, name="groups"),
    path("performance/channels/", views.channels_page, name="channels"),
    path(
        "performance/agencies/<slug:key>/staffing/",
        views.agency_staffing_page,
        name="agency-staffing",
    ),
    path("performance/offices/<slug:key>/staffing/", views.staffing_page, name="staffing"),
]
