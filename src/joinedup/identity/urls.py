from django.urls import path

from . import oidc_views, views

app_name = "identity"

urlpatterns = [
    path("", views.account, name="account"),
    path("sign-up/", views.sign_up, name="sign-up"),
    path("sign-up/sent/", views.sign_up_sent, name="sign-up-sent"),
    path("verify/<str:uidb64>/<str:token>/", views.verify_email, name="verify-email"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("two-factor/", views.two_factor, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("acting/", views.choose_acting, name="choose-acting"),
    path("profile/", views.profile_facts, name="profile"),
    path("people/<int:person_id>/", views.person_detail, name="person"),
    path("people/<int:person_id>/copy/", views.email_record, name="email-record"),
    path("step-up/", views.step_up, name="step-up"),
    path("services/<str:key>/start/", views.service_start, name="service-start"),
    path("sign-in/<slug:provider>/", oidc_views.start, name="oidc-start"),
]
