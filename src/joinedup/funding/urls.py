from django.urls import path

from . import views

app_name = "funding"

urlpatterns = [
    path("funding/", views.explore, name="explorer"),
    path("funding/programs/<slug:key>/", views.program_page, name="program"),
    path(
        "funding/services/<str:key>/providers/",
        views.provider_comparison,
        name="providers",
    ),
    path("funding/scenarios/", views.scenario_list, name="scenarios"),
    path("funding/scenarios/<int:scenario_id>/", views.scenario_page, name="scenario"),
    path("funding/oversight/", views.oversight_list, name="oversight"),
    path("funding/oversight/<int:review_id>/", views.review_page, name="review"),
    path("funding/payments/", views.payment_list, name="payments"),
    path("funding/places/", views.place_list, name="places"),
    path("funding/places/<slug:key>/", views.place_page, name="place"),
    path("funding/places/<slug:key>/compare/", views.place_compare, name="place-compare"),
    path("funding/places/<slug:key>/export/", views.place_export, name="place-export"),
    path("funding/pilots/new/", views.pilot_new, name="pilot-new"),
    path("funding/pilots/<slug:key>/", views.pilot_page, name="pilot"),
    path("funding/pilots/<slug:key>/edit/", views.pilot_edit, name="pilot-edit"),
]
