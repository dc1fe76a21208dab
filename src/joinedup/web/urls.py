"""The public pages; the project's urls.py puts them under a language prefix (/en/, /fr/)."""

from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("services/", views.service_list, name="service-list"),
    path("services/<str:key>/", views.service_detail, name="service"),
    path("places/", views.place_list, name="place-list"),
    path("places/<str:code>/", views.place_detail, name="place"),
    path("life-situations/", views.life_situation_list, name="life-situation-list"),
    path("life-situations/<slug:key>/", views.life_situation_detail, name="life-situation"),
    path("agencies/<slug:key>/", views.agency_detail, name="agency"),
]
