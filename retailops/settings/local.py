"""Local development and `make demo`: debug on, embedded defaults unless the environment says otherwise."""

from .base import *  # noqa: F403
from .base import DATA_DIR, SECRET_KEY, env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = SECRET_KEY or "local-development-only-not-secret"  # noqa: S105
DATA_DIR.mkdir(parents=True, exist_ok=True)
