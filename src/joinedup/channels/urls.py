from django.urls import path

from . import views

app_name = "channels"

urlpatterns = [
    path("counter/", views.counter_home, name="counter"),
    path("counter/register/", views.register, name="register"),
    path("counter/visits/<int:visit_id>/", views.visit, name="visit"),
    path("counter/visits/<int:visit_id>/verify/", views.verify, name="verify"),
    path("counter/visits/<int:visit_id>/bundle/", views.bundle, name="bundle"),
    path("counter/visits/<int:visit_id>/service/", views.service, name="service"),
    path("counter/visits/<int:visit_id>/issue/", views.issue, name="issue"),
    path("counter/visits/<int:visit_id>/pay/", views.pay, name="pay"),
    path(
        "counter/visits/<int:visit_id>/documents/<uuid:document_id>/",
        views.print_document,
        name="print",
    ),
    path("counter/visits/<int:visit_id>/end/", views.end_visit, name="end-visit"),
    path("phone/", views.phone_home, name="phone"),
    path("phone/calls/<int:call_id>/", views.call, name="call"),
    path("phone/calls/<int:call_id>/code/", views.send_code, name="send-code"),
    path("phone/calls/<int:call_id>/verify/", views.verify_caller, name="verify-caller"),
    path("phone/calls/<int:call_id>/transfer/", views.transfer, name="transfer"),
    path("phone/calls/<int:call_id>/callback/", views.callback, name="callback"),
    path("phone/calls/<int:call_id>/end/", views.end_call, name="end-call"),
    path("phone/tasks/<int:task_id>/take/", views.take_task, name="take-task"),
]
