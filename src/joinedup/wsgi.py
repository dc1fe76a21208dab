"""WSGI entry point, used by gunicorn (`joinedup serve`) and by any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joinedup.settings")
application = get_wsgi_application()
