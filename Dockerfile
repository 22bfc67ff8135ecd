# RetailOps: one image for the portal (default CMD), the Celery worker and beat (see docker-compose.yml).
# Configuration comes from the environment at run time: DATABASE_URL, CELERY_BROKER_URL,
# DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS (see retailops/settings/production.py).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the pinned dependencies in a virtualenv -------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install --upgrade pip \
    && pip install -r /tmp/requirements.txt

# --- runtime: the virtualenv and the code, run as an unprivileged user -------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=retailops.settings.production \
    WEB_CONCURRENCY=3
RUN groupadd --system --gid 10001 retailops \
    && useradd --system --uid 10001 --gid retailops --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin retailops
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays owned by root: the application cannot rewrite itself.
COPY . /app
# Static files are collected (and compressed by WhiteNoise's storage) at build time; production
# settings refuse to load without a secret, so a throwaway one is given to this command only.
# The data directory (var/) is the embedded SQLite/broker fallback's; it must be the user's.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q apps retailops \
    && mkdir -p /app/var \
    && chown -R retailops:retailops /app/var \
    && chown -R root:root /app/var/staticfiles
USER retailops
EXPOSE 8000
# gunicorn.conf.py (read from /app) sets gthread workers with keep-alive. Workers: WEB_CONCURRENCY;
# threads per worker: GUNICORN_THREADS; further options: GUNICORN_CMD_ARGS. No control socket: it
# would go under $HOME, which the unprivileged user cannot write.
CMD ["gunicorn", "retailops.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--no-control-socket"]
