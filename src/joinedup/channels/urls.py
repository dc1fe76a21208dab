from django.urls import path

from . import appointment_views, bundle_views, views

app_name = "channels"

urlpatterns = [
    path("counter/", views.counter_home, name="counter"),
    path("counter/register/", views.register, name="register"),
    path("counter/visits/<int:visit_id>/", views.visit, name="visit"),
    path("counter/visits/<int:visit_id>/verify/", views.verify, name="verify"),
    # The guided life event, for the person at the counter (the portal's journey).
    path("counter/visits/<int:visit_id>/bundle/", bundle_views.bundle, name="bundle"),
    path(
        "counter/visits/<int:visit_id>/bundle/<uuid:draft_id>/questions/",
        bundle_views.questions,
        name="bundle-questions",
    ),
    path(
        "counter/visits/<int:visit_id>/bundle/<uuid:draft_id>/services/",
        bundle_views.legs,
        name="bundle-legs",
    ),
    path(
        "counter/visits/<int:visit_id>/bundle/<uuid:draft_id>/form/<slug:page>/",
        bundle_views.form_page,
        name="bundle-form",
    ),
    path(
        "counter/visits/<int:visit_id>/bundle/<uuid:draft_id>/check/",
        bundle_views.check,
        name="bundle-check",
    ),
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
    # Appointments: the person's own (My services), staff booking in a visit or a call,
    # and an office's day.
    path("my/appointments/", appointment_views.my_appointments, name="my-appointments"),
    path("my/appointments/book/", appointment_views.find_office, name="find-office"),
    path(
        "my/appointments/offices/<slug:office_key>/",
        appointment_views.office_slots,
        name="office-slots",
    ),
    path(
        "my/appointments/<int:appointment_id>/cancel/",
        appointment_views.cancel,
        name="cancel-appointment",
    ),
    path(
        "counter/visits/<int:visit_id>/appointment/",
        appointment_views.visit_appointment,
        name="visit-appointment",
    ),
    path(
        "phone/calls/<int:call_id>/appointment/",
        appointment_views.call_appointment,
        name="call-appointment",
    ),
    path(
        "counter/offices/<slug:office_key>/appointments/",
        appointment_views.office_day,
        name="office-day",
    ),
    path(
        "counter/appointments/<int:appointment_id>/mark/",
        appointment_views.mark,
        name="mark-appointment",
    ),
]
