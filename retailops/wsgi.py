"""WSGI entry point (gunicorn retailops.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailops.settings.production")
application = get_wsgi_application()
