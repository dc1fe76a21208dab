"""The OpenID Connect callback, outside the language prefix: providers register one exact
redirect address per client, whatever language the person reads in."""

from django.urls import path

from . import oidc_views

app_name = "oidc"

urlpatterns = [
    path("<slug:provider>/callback/", oidc_views.callback, name="callback"),
]
