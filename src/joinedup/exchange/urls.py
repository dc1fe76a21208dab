from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("v1/messages", views.messages, name="messages"),
]
