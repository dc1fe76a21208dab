"""A response cache for the public catalogue API, never stale after a change.

The catalogue (jurisdictions, agencies, services, routing) is read far more often than it
changes, and building one answer costs tens of milliseconds of ORM and schema work. So the
answers to anonymous reads are kept in Django's cache, keyed by the full path with its query,
the language of the answer, and the catalogue's version token.

The token lives in the database (`CatalogueVersion`) and changes in the same transaction as
any change to a model of the catalogue apps: saves, deletes and many-to-many changes through
the ORM, loading a federation, the admin. Every process reads the token before answering, so
no process can serve an answer built before a change it can see, whatever cache backend is
used (one per process by default, Redis shared by all at scale; see JOINEDUP_CACHE_URL).

Writes that bypass the ORM's signals (`QuerySet.update`, `bulk_create`, raw SQL) must call
`bump_catalogue_version()` themselves.

Only requests without credentials are answered from the cache: a request with a bearer token,
an acting-for header or a session goes through the authorisation policy as usual.
"""

import hashlib
import uuid
from collections.abc import Callable

from django.apps import apps as global_apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections, models
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from .models import CatalogueVersion

# Apps whose models make up the public catalogue: a change to any of their models changes it.
CATALOGUE_APPS = frozenset({"federation"})

# API operations (namespace:url name) whose answer depends only on the path, the query, the
# language and the catalogue: nothing about who asks.
CACHED_VIEWS = frozenset(
    {
        "api:list_jurisdictions",
        "api:get_jurisdiction",
        "api:list_agencies",
        "api:list_offices",
        "api:list_services",
        "api:get_service",
        "api:get_route",
    }
)

# Answers worth keeping: found, and not found (routing's "nobody delivers it there").
CACHED_STATUSES = frozenset({200, 404})
CREDENTIAL_HEADERS = ("Authorization", "X-Acting-For")
KEY_PREFIX = "api-catalogue"
VERSION_ROW = 1


def current_version(using: str = "default") -> str | None:
    """The catalogue's version token, or None when it cannot be known (nothing is cached).

    Read on every cached request, so in plain SQL: the ORM would take longer to build the
    query than the database takes to answer it.
    """
    connection = connections[using]
    table = connection.ops.quote_name(CatalogueVersion._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT token FROM {table} WHERE id = %s", [VERSION_ROW])  # noqa: S608
            row = cursor.fetchone()
    except DatabaseError:  # not migrated yet
        return None
    return row[0] if row else None


def bump_catalogue_version(using: str = "default") -> None:
    """Give the catalogue a new version: every answer cached so far is set aside."""
    token = uuid.uuid4().hex
    versions = CatalogueVersion.objects.using(using)
    if not versions.filter(pk=VERSION_ROW).update(token=token):
        versions.update_or_create(pk=VERSION_ROW, defaults={"token": token})


def _is_catalogue_model(sender: type[models.Model]) -> bool:
    # Historical models (inside migrations) live in their own registry; the migration's
    # end bumps the version instead, once its tables exist.
    return sender._meta.app_label in CATALOGUE_APPS and sender._meta.apps is global_apps


def _saved_or_deleted(sender: type[models.Model], using: str = "default", **kwargs) -> None:
    if _is_catalogue_model(sender):
        bump_catalogue_version(using)


def _many_to_many_changed(
    sender: type[models.Model], action: str, using: str = "default", **kwargs
) -> None:
    if action.startswith("post_") and _is_catalogue_model(sender):
        bump_catalogue_version(using)


def _migrated(sender, using: str = "default", **kwargs) -> None:
    # Data migrations write through historical models, which send no signal we act on.
    if sender.label == "api":
        bump_catalogue_version(using)


def connect_signals() -> None:
    """Bump the version on every catalogue change; called once, when the app is ready."""
    post_save.connect(_saved_or_deleted, dispatch_uid="api-catalogue-saved")
    post_delete.connect(_saved_or_deleted, dispatch_uid="api-catalogue-deleted")
    m2m_changed.connect(_many_to_many_changed, dispatch_uid="api-catalogue-m2m")
    post_migrate.connect(_migrated, dispatch_uid="api-catalogue-migrated")


def response_key(version: str, language: str, full_path: str) -> str:
    """The cache key of one answer; the path is hashed to keep keys short whatever the query."""
    digest = hashlib.sha256(full_path.encode()).hexdigest()
    return f"{KEY_PREFIX}:{version}:{language}:{digest}"


def _anonymous(request: HttpRequest) -> bool:
    return not any(request.headers.get(name) for name in CREDENTIAL_HEADERS) and (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class CatalogueCacheMiddleware:
    """Answers anonymous reads of the public catalogue from the cache, and fills it.

    It must come after LocaleMiddleware, which chooses the language of the answer. Every
    other middleware still runs on a cached answer, so its headers are the usual ones.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        key = getattr(request, "_catalogue_cache_key", None)
        if (
            key
            and response.status_code in CACHED_STATUSES
            and not response.streaming
            and not response.cookies
        ):
            cache.set(key, (response.status_code, response["Content-Type"], response.content))
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            request.method != "GET"
            or match is None
            or match.view_name not in CACHED_VIEWS
            or not _anonymous(request)
        ):
            return None
        version = current_version()
        if version is None:
            return None
        key = response_key(version, get_language() or "", request.get_full_path())
        cached = cache.get(key)
        if cached is not None:
            status, content_type, content = cached
            return HttpResponse(content, status=status, content_type=content_type)
        request._catalogue_cache_key = key
        return None
