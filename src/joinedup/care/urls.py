from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("find-help/", views.find_help, name="find-help"),
    path("staff/care/", views.workspace, name="workspace"),
    path("staff/care/cases/new/", views.case_open, name="case-open"),
    path("staff/care/cases/<str:reference>/", views.case_detail, name="case"),
    path("staff/care/cases/<str:reference>/<slug:what>/", views.case_form, name="case-form"),
    path(
        "staff/care/cases/<str:reference>/assessments/<slug:set_key>/",
        views.assess,
        name="assess",
    ),
    path("staff/care/referrals/<uuid:referral_id>/", views.referral_detail, name="referral"),
    path(
        "staff/care/referrals/<uuid:referral_id>/step/",
        views.referral_step,
        name="referral-step",
    ),
    path("referral-reply/<str:token>/", views.referral_link, name="referral-link"),
    path("my/care/", views.my_care, name="mine"),
    path("my/care/withdraw/", views.my_withdraw, name="mine-withdraw"),
    path("my/care/request/", views.my_request, name="mine-request"),
]
