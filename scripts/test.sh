#!/usr/bin/env bash
# `make test`: lint, types, Django checks and the whole pytest suite on PostgreSQL and Redis, with a real
# Celery worker and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PYTHON_BIN=$BIN/python
source scripts/services.sh

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's Chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "could not install chromium; browser tests will fail"
  else
    echo "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
  fi
fi

export DJANGO_SETTINGS_MODULE=retailops.settings.test
$BIN/ruff check --quiet .
$BIN/ruff format --check --quiet .
$BIN/mypy  # django-stubs + DRF stubs; settings and files in pyproject.toml
$BIN/python manage.py check --fail-level WARNING
$BIN/python manage.py makemigrations --check --dry-run >/dev/null || { echo "models changed without a migration"; exit 1; }
$BIN/python manage.py spectacular --fail-on-warn --validate --file /dev/null
# Not exec: the EXIT trap of services.sh must stop any throwaway PostgreSQL/Redis it started.
$BIN/python -m pytest "$@"
