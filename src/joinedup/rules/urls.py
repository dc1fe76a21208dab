"""The rules' pages; the project's urls.py puts them under a language prefix."""

from django.urls import path

from . import views

app_name = "rules"

urlpatterns = [
    path("what-could-i-get/", views.screener_page, name="screener"),
    path("staff/rules/what-if/", views.what_if_page, name="what-if"),
]
