from django.urls import path

from . import views

app_name = "delivery"

urlpatterns = [
    path("services/<str:key>/apply/", views.apply_start, name="apply"),
    path("applications/", views.my_applications, name="my-applications"),
    path("applications/drafts/<uuid:draft_id>/", views.draft_page, name="draft"),
    path("applications/drafts/<uuid:draft_id>/<slug:page>/", views.draft_page, name="draft-page"),
    path(
        "applications/drafts/<uuid:draft_id>/check/answers/", views.draft_check, name="draft-check"
    ),
    path("applications/<uuid:application_id>/", views.application_status, name="application"),
    path("applications/<uuid:application_id>/respond/", views.respond, name="respond"),
    path(
        "applications/<uuid:application_id>/documents/<uuid:document_id>.pdf",
        views.document_pdf,
        name="document-pdf",
    ),
    path("payments/sandbox/<str:intent_id>/", views.sandbox_checkout, name="sandbox-checkout"),
    path("documents/<uuid:document_id>/verify/", views.verify_document, name="verify"),
    path("staff/queue/", views.queue_page, name="queue"),
    path("staff/work-items/<int:item_id>/", views.work_item_page, name="work-item"),
    path("staff/supervisor/", views.supervisor_page, name="supervisor"),
]
