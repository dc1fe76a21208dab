from django.urls import path

from . import views

app_name = "identity-staff"

urlpatterns = [
    path("", views.staff_home, name="home"),
    path("role/", views.choose_membership, name="choose-membership"),
    path("people/find/", views.find_person, name="find-person"),
    path("people/<int:person_id>/", views.person_detail, name="person"),
    path("people/<int:person_id>/proofing/", views.record_proofing, name="record-proofing"),
    path("people/<int:person_id>/mandates/", views.record_mandate, name="record-mandate"),
]
