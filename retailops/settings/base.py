"""Settings shared by every environment; everything secret or deployment-specific comes from the environment."""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "viewflow",
    "viewflow.workflow",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.stock",
    "apps.orders",
    "apps.returns",
    "apps.approvals",
    "apps.suppliers",
    "apps.journal",
    "apps.reconciliation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.NulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.OutOfRangeMiddleware",
]

ROOT_URLCONF = "retailops.urls"
WSGI_APPLICATION = "retailops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL (PostgreSQL in every real deployment). Without it: an embedded SQLite database in
# WAL mode with IMMEDIATE transactions, so writers queue for the lock instead of failing late.
DATA_DIR = Path(os.environ.get("RETAILOPS_DATA_DIR", BASE_DIR / "var"))

# Server-side parameter binding lets psycopg prepare a statement once a connection has run it
# `prepare_threshold` times: PostgreSQL then skips parsing and planning it, and psycopg no longer
# quotes every parameter into the SQL text (order intake: about 1 ms less CPU per order).
POSTGRES_OPTIONS = {
    "server_side_binding": env_bool("DB_SERVER_SIDE_BINDING", True),
    "prepare_threshold": int(os.environ.get("DB_PREPARE_THRESHOLD", "5")),
}

if os.environ.get("DATABASE_URL"):
    DATABASES = {
        # Persistent connections; a health check (one extra round trip on the first query of every
        # request) only where the network between web and database drops idle connections.
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"],
            conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "retailops.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Order intake bodies are small; anything larger is refused with 413 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024))

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a request without credentials gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.HasRequiredPerms"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A verified API token is remembered per process this long (apps/core/api/authentication.py); 0: off.
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "10"))

SPECTACULAR_SETTINGS = {
    "TITLE": "RetailOps API",
    "DESCRIPTION": "Order-to-cash, stock and operations API for omnichannel retail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served from this deployment, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name ("status", "reason") get their own component names.
    "ENUM_NAME_OVERRIDES": {
        "ReturnStatusEnum": "apps.returns.states.ReturnStatus",
        "PurchaseOrderStatusEnum": "apps.suppliers.states.PurchaseOrderStatus",
        "SupplierInvoiceStatusEnum": "apps.suppliers.states.InvoiceStatus",
        "ReturnReasonEnum": "apps.returns.states.ReturnReason",
        "ReasonEnum": "apps.stock.models.AdjustmentReason",  # keeps its name now that returns have reasons too
        "ReconciliationRunStatusEnum": "apps.reconciliation.states.RunStatus",
        "ReconciliationRunKindEnum": "apps.reconciliation.states.RunKind",
        "ReconciliationMatchStatusEnum": "apps.reconciliation.states.MatchStatus",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
# CELERY_BROKER_URL (Redis in every real deployment). Without it: kombu's filesystem transport in
# the data directory, so the embedded setup still runs jobs in a background worker, with no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if not CELERY_BROKER_URL:
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _sub in ("out", "processed", "control"):
        try:
            (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only image: the broker is configured explicitly there
            pass
else:
    # A broker that is down must not stall a request: fail fast, the outbox sweep catches up.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "max_retries": 0,
    }
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fixup closes the database connection before and after every task unless this is
# set; reusing it (CONN_MAX_AGE still applies) saves a PostgreSQL backend start per relay task.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))

# --- Domain settings -----------------------------------------------------------------------------
# Every threshold, valuation and report is in this currency; documents convert at their own date.
COMPANY_CURRENCY = os.environ.get("COMPANY_CURRENCY", "USD").upper()

ORDER_REVIEW_THRESHOLD = Decimal(os.environ.get("ORDER_REVIEW_THRESHOLD", "5000.00"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "6"))
OUTBOX_BATCH_SIZE = 200
# Delivered events are deleted this many days after delivery (daily job); 0 keeps them forever.
OUTBOX_RETENTION_DAYS = int(os.environ.get("OUTBOX_RETENTION_DAYS", "30"))
# Commits nudge the relay at most once per this many seconds in total (see apps.core.outbox.outbox_nudge).
OUTBOX_NUDGE_INTERVAL = float(os.environ.get("OUTBOX_NUDGE_INTERVAL", "0.1"))
# How long an incident may wait in the exception queue, by severity: due_at = created_at + hours.
INCIDENT_SLA_HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}
# Transfers worth more than this (Σ quantity × cost), or taking a source below its replenishment
# minimum, need approval (policy "stock.transfer").
TRANSFER_APPROVAL_VALUE = Decimal(os.environ.get("TRANSFER_APPROVAL_VALUE", "2000.00"))

# --- E-mail ---------------------------------------------------------------------------------------
# SMTP when EMAIL_HOST is set (production); otherwise messages are written to the console. The test
# runner swaps in the in-memory backend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "retailops@localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Every periodic job, in one place. django-celery-beat's DatabaseScheduler copies these into its
# tables on start, where ops can pause or re-time them in the admin.
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-sweep": {"task": "apps.core.tasks.outbox_relay_task", "schedule": 10.0},
    "outbox-purge-delivered": {"task": "apps.core.tasks.outbox_purge_task", "schedule": 86400.0},
    "orders-backorder-sweep": {"task": "apps.orders.tasks.order_allocate_backorders_task", "schedule": 300.0},
    "stock-verify-invariants": {"task": "apps.stock.tasks.stock_verify_invariants_task", "schedule": 3600.0},
    "approvals-escalate-overdue": {"task": "apps.approvals.tasks.approvals_escalate_overdue_task", "schedule": 300.0},
    "stock-replenishment-propose": {"task": "apps.stock.tasks.stock_replenishment_propose_task", "schedule": 3600.0},
    "suppliers-po-overdue": {"task": "apps.suppliers.tasks.purchase_orders_flag_overdue_task", "schedule": 3600.0},
    "suppliers-replenishment-propose": {
        "task": "apps.suppliers.tasks.purchase_orders_propose_task",
        "schedule": 3600.0,
    },
    "reconciliation-runs-resume": {
        "task": "apps.reconciliation.tasks.reconciliation_runs_resume_task",
        "schedule": 120.0,
    },
    "journal-verify-integrity": {"task": "apps.journal.tasks.journal_verify_integrity_task", "schedule": 3600.0},
}

# Returns (RMA): window, restocking fee in percent per reason code, reasons that refund shipping, and the
# refund amount above which the seeded approval policy asks for approval (the policy is data afterwards).
RETURN_WINDOW_DAYS = int(os.environ.get("RETURN_WINDOW_DAYS", "30"))
RETURN_RESTOCKING_FEE_PCT = {"changed_mind": 10, "other": 10}
RETURN_SHIPPING_REFUND_REASONS = ("damaged", "wrong_item", "defective")
RETURN_REFUND_APPROVAL_THRESHOLD = Decimal(os.environ.get("RETURN_REFUND_APPROVAL_THRESHOLD", "250.00"))

# --- Procurement (apps.suppliers) ---
# Spend bands are approval policy data (migration suppliers 0002); these are the matching tolerances.
PO_OVER_RECEIPT_TOLERANCE_PCT = Decimal(os.environ.get("PO_OVER_RECEIPT_TOLERANCE_PCT", "0"))
INVOICE_PRICE_TOLERANCE_PCT = Decimal(os.environ.get("INVOICE_PRICE_TOLERANCE_PCT", "2"))
INVOICE_QUANTITY_TOLERANCE_PCT = Decimal(os.environ.get("INVOICE_QUANTITY_TOLERANCE_PCT", "0"))

# Reconciliation: upload cap (larger files get 413), rows stored per transaction (progress steps),
# the bank date window around a payout's date, and texts that make an unmatched credit look like a payout.
RECONCILIATION_MAX_UPLOAD_BYTES = int(os.environ.get("RECONCILIATION_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
RECONCILIATION_IMPORT_CHUNK = int(os.environ.get("RECONCILIATION_IMPORT_CHUNK", "5000"))
RECONCILIATION_BANK_DAYS_BEFORE = int(os.environ.get("RECONCILIATION_BANK_DAYS_BEFORE", "1"))
RECONCILIATION_BANK_DAYS_AFTER = int(os.environ.get("RECONCILIATION_BANK_DAYS_AFTER", "3"))
RECONCILIATION_PAYOUT_MARKERS = ("stripe", "po_")

# Journal (apps.journal): order prices are tax-inclusive; the sales tax inside them is split out at
# this rate (0: no tax is separated). Payments by these methods settle through card clearing; others
# (marketplace, invoice) are receivables.
JOURNAL_SALES_TAX_RATE = Decimal(os.environ.get("JOURNAL_SALES_TAX_RATE", "0"))
JOURNAL_CLEARING_PAYMENT_METHODS = ("card", "paypal", "wallet", "apple_pay", "google_pay")
