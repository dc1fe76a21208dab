from django.urls import path

from . import views

app_name = "sharing"

urlpatterns = [
    path("my-data/access/", views.access_log, name="access-log"),
    path("my-data/consents/", views.consent_list, name="consents"),
    path(
        "my-data/consents/<uuid:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent-withdraw",
    ),
    path(
        "my-data/consents/<uuid:consent_id>/receipt.<str:format>",
        views.consent_receipt,
        name="consent-receipt",
    ),
    path("staff/break-glass/", views.review_queue, name="review-queue"),
    path("staff/break-glass/<int:case_id>/review/", views.review_case, name="review-case"),
]
