from django.conf import settings
from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("v1/messages", views.messages, name="messages"),
]

if settings.BENCH_FLOOR:
    # The benchmark's unsealed reference (bench/exchange.py); never routed in production.
    urlpatterns.append(path("v1/plain-messages", views.plain_messages, name="plain-messages"))
