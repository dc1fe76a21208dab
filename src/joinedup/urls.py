from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from joinedup.api.api import api
from joinedup.exchange import views as exchange_views
from joinedup.identity import guards
from joinedup.web import views as web_views

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", web_views.health, name="health"),
    path("ping", web_views.ping, name="ping"),
    path("metrics", web_views.metrics, name="metrics"),
    path("account/oidc/", include("joinedup.identity.oidc_urls")),
    # Other nodes post here; no language prefix (machines), answers follow Accept-Language.
    path("exchange/", include("joinedup.exchange.urls")),
]
# Pages live under a language prefix (/en/, /fr/); "/" redirects to the reader's language.
urlpatterns += i18n_patterns(
    path("account/", include("joinedup.identity.urls")),
    path("staff/", include("joinedup.identity.staff_urls")),
    path("", include("joinedup.bundles.urls")),
    path("", include("joinedup.channels.urls")),
    path("", include("joinedup.sharing.urls")),
    path("", include("joinedup.exchange.page_urls")),
    path("", include("joinedup.clientindex.urls")),
    path("", include("joinedup.delivery.urls")),
    path("", include("joinedup.performance.urls")),
    path("", include("joinedup.funding.urls")),
    path("", include("joinedup.engagement.urls")),
    path("", include("joinedup.care.urls")),
    path("", include("joinedup.backoffice.urls")),
    path("", include("joinedup.rules.urls")),
    path("", include("joinedup.web.urls")),
    prefix_default_language=True,
)

handler404 = "joinedup.web.views.page_not_found"

# Liveness and the benchmark's reference answer stay bare (no acting context built), and are
# declared public so that the authorisation matrix knows them.
guards.declare(web_views.health, "public")
guards.declare(web_views.ping, "public")
# Monitoring: no person's data, and a bearer token of its own (JOINEDUP_METRICS_TOKEN).
guards.declare(web_views.metrics, "public")
# Node-to-node messages: the sender is proved by the message's signature (trust list).
guards.declare(exchange_views.messages, "public")
# The exchange benchmark's unsealed reference: routed only with JOINEDUP_BENCH_FLOOR.
guards.declare(exchange_views.plain_messages, "public")
