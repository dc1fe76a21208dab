from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("backoffice/", views.home, name="home"),
    path("backoffice/order/<str:service_key>/", views.order, name="order"),
    path("backoffice/requests/<uuid:request_id>/", views.request_detail, name="request"),
    path("backoffice/requests/<uuid:request_id>/rating/", views.rate, name="rate"),
    path("backoffice/requests/<uuid:request_id>/survey/", views.survey, name="survey"),
    path("backoffice/requests/<uuid:request_id>/time/", views.log_time, name="log-time"),
    path("backoffice/statements/<int:pk>/", views.statement_detail, name="statement"),
    path("backoffice/statements/<int:pk>/pdf/", views.statement_pdf, name="statement-pdf"),
    path("backoffice/statements/<int:pk>/lines/<int:line>/", views.answer_line, name="answer"),
    path("backoffice/provider/", views.provider_requests, name="provider"),
    path("backoffice/employees/", views.find_employee, name="employees"),
    path("backoffice/provider/statements/", views.issue, name="issue"),
    path("backoffice/provider/dashboard/", views.provider_dashboard, name="dashboard"),
    path("backoffice/provider/outages/", views.outages, name="outages"),
    path("backoffice/procurements/<int:pk>/", views.procurement_detail, name="procurement"),
    path("backoffice/procurements/<int:pk>/sign/", views.sign, name="sign"),
    path("backoffice/businesses/", views.businesses, name="businesses"),
    path("backoffice/businesses/<int:business_id>/", views.business_home, name="business"),
    path(
        "backoffice/businesses/<int:business_id>/order/<str:service_key>/",
        views.business_order,
        name="business-order",
    ),
    path(
        "backoffice/businesses/<int:business_id>/order/<str:service_key>/check/",
        views.business_check,
        name="business-check",
    ),
    path(
        "backoffice/businesses/<int:business_id>/order/<str:service_key>/<slug:page>/",
        views.business_form,
        name="business-form",
    ),
    path(
        "backoffice/businesses/<int:business_id>/applications/<uuid:application_id>/",
        views.business_application,
        name="business-application",
    ),
]
