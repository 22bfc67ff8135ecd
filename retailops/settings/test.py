"""Test settings: PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, else the local services)."""

import os

import dj_database_url

from .base import *  # noqa: F403

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/retailops"),
        conn_max_age=0,
    )
}
DATABASES["default"]["OPTIONS"] = dict(POSTGRES_OPTIONS)  # noqa: F405 - the suite runs what production runs
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2, "max_retries": 0}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The test client and live_server serve static files themselves; WhiteNoise would only warn that
# there is no collected static root.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise")]  # noqa: F405
# Query-count budgets compare requests with each other, so every request reads its token here;
# tests/core/test_token_cache.py turns the cache on to test it.
API_TOKEN_CACHE_SECONDS = 0
