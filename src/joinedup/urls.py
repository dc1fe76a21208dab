from django.contrib import admin
from django.urls import include, path

from joinedup.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("joinedup.web.urls")),
]
