"""Django settings: the environment chooses embedded (default) or scaled mode.

Embedded: SQLite in ./data, an in-process Celery broker and an in-memory channel layer,
all in one process. Scaled: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (broker and
channel layer) shared by any number of web and worker processes.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from workflows import private
from workflows.engine.payloads import MAX_DEPTH_CEILING

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LEGATO_DATA_DIR", BASE_DIR / "data"))

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not REDIS_URL
# Behind a TLS-terminating reverse proxy: trust its X-Forwarded-Proto (and, in `serve`,
# its X-Forwarded-For). Without it no forwarded header is believed.
BEHIND_PROXY = os.environ.get("LEGATO_BEHIND_PROXY", "0") == "1"
SQLITE_PATH = DATA_DIR / "legato.sqlite3"
# 0700, and its secrets and the SQLite database 0600 (workflows/private.py).
private.prepare_data_dir(DATA_DIR, None if DATABASE_URL else SQLITE_PATH)


def _secret_key() -> str:
    """Read the secret from the environment, else (embedded mode) a per-install local file.

    A hard-coded key would be shared by every checkout; a generated one stays local. With
    a shared database or broker, processes on several hosts would each generate their own:
    sessions and signed values made by one would fail on the next, so that refuses to start.
    """
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    if DATABASE_URL or REDIS_URL:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DATABASE_URL or REDIS_URL (scaled mode) every "
            "process must share one secret key: set DJANGO_SECRET_KEY to the same long random "
            "value everywhere, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    path = DATA_DIR / "secret_key"
    private.create_private_file(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "workflows",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workflows.urls"
ASGI_APPLICATION = "workflows.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

if DATABASE_URL:
    # Workers and sweepers keep their connection (seconds). The ASGI entry point sets 0:
    # Django runs each request's sync code in a thread of its own, and a kept connection
    # per such thread exhausted PostgreSQL's max_connections under bursts of requests.
    _max_age = int(os.environ.get("LEGATO_DB_CONN_MAX_AGE", 60))
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=_max_age)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Who holds a connection, in pg_stat_activity: workflows/celery.py and asgi.py
        # name theirs legato-worker and legato-web.
        DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ.get(
            "LEGATO_DB_APPLICATION_NAME", "legato"
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # IMMEDIATE: a transition takes the write lock when it begins, so two
                # writers queue instead of failing half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords and password guessing (docs/security.md, workflows/web/accounts.py).
LOGIN_FAILURE_LIMIT = int(os.environ.get("LEGATO_LOGIN_FAILURE_LIMIT", 10))
LOGIN_COOLOFF_MINUTES = float(os.environ.get("LEGATO_LOGIN_COOLOFF_MINUTES", 15))
PASSWORD_MIN_LENGTH = int(os.environ.get("LEGATO_PASSWORD_MIN_LENGTH", 12))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes: after LOGIN_FAILURE_LIMIT failed sign-ins for one user name (from any
# address) or from one address (for any user name), that user or address cannot sign in
# until LOGIN_COOLOFF_MINUTES after its last failure, nor try a password at all (it is
# not compared). The counts are rows in the database, shared by every web process; an
# administrator unlocks by deleting them in the admin (Axes > Access attempts).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
# A success must not wipe the counts: an attacker with an account of their own would sign
# in between guesses to clear their address (and the victim's count with it).
AXES_RESET_ON_SUCCESS = False
# Guesses during a lockout are refused unrecorded: the lockout ends on time, and the
# table does not grow with an attacker's persistence.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "workflows.web.accounts.client_address"
AXES_LOCKOUT_CALLABLE = "workflows.web.accounts.locked_out"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve app static files straight from the source tree (no collectstatic step on a laptop).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Content-Security-Policy on every response (django-csp): scripts, styles and everything
# else from this origin only, no inline script or style, no plugins, no framing. The two
# diagram pages add 'wasm-unsafe-eval' for the vendored Graphviz (workflows/web/views.py);
# nothing else relaxes it. LEGATO_CSP_REPORT_URI sends violation reports somewhere.
_CSP_REPORT_URI = os.environ.get("LEGATO_CSP_REPORT_URI", "")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        # 'self' covers the same origin's ws:/wss: too (CSP level 3), for the live viewer.
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"report-uri": [_CSP_REPORT_URI]} if _CSP_REPORT_URI else {}),
    }
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Authorization: Token <key>, keys kept as their SHA-256 (workflows/tokens.py).
        "workflows.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "workflows.api.permissions.RolePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "workflows.api.pagination.StrictCursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "workflows.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only: one parser to make safe (depth, NUL characters), and what the docs say.
    "DEFAULT_PARSER_CLASSES": ["workflows.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per-user request rates: a runaway script gets 429 (Throttled) instead of starving
    # everyone else. Generous by default; tune with LEGATO_API_RATE (e.g. "600/min").
    "DEFAULT_THROTTLE_CLASSES": ["workflows.api.throttling.UserRate"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("LEGATO_API_RATE", "20000/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Legato API",
    "DESCRIPTION": "Start, watch and operate workflow executions; manage flows. "
    "Step Functions semantics in REST form (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like everything else, the schema and the docs page need a signed-in user with a role
    # (a user in no group gets 403, as from every other endpoint).
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.IsAuthenticated",
        "workflows.api.permissions.RolePermission",
    ],
    # Swagger UI from the vendored sidecar package: the docs page fetches nothing from
    # the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "workflows.models.Execution.Status",
        "TaskAttemptStatusEnum": "workflows.models.TaskAttempt.Status",
    },
    "TAGS": [
        {"name": "flows", "description": "Flows, their versions, graphs and validation."},
        {"name": "executions", "description": "Start, list, read and operate executions."},
        {"name": "callbacks", "description": "Task tokens and activity workers."},
    ],
}

if REDIS_URL:
    # Shared by every web process, so request rates (throttling) count across them.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "workflows.web.layers.ThreadSafeInMemoryChannelLayer"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }

# Celery: the database is the truth, the broker only a wake-up hint (docs/architecture.md).
STEP_HARD_LIMIT = int(os.environ.get("LEGATO_STEP_HARD_LIMIT", 3600))
_VISIBILITY_TIMEOUT = STEP_HARD_LIMIT + 300
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": _VISIBILITY_TIMEOUT}
    if REDIS_URL
    # The in-process transport polls its queues; a short interval keeps step latency low.
    else {"polling_interval": 0.01}
)
CELERY_VISIBILITY_TIMEOUT = _VISIBILITY_TIMEOUT
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TIME_LIMIT = STEP_HARD_LIMIT
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "legato"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes every database connection before and after each task
# unless this many tasks have run (celery#9824 reverted honouring CONN_MAX_AGE): a new
# PostgreSQL connection per step was most of a step's cost. workflows/celery.py applies
# Django's own rule (CONN_MAX_AGE, drop broken connections) around each task instead.
CELERY_DB_REUSE_MAX = 2**62

# Engine and runtime knobs.
LEGATO = {
    # How long a dispatched attempt may sit unclaimed before the sweeper publishes it again.
    "REPUBLISH_AFTER_SECONDS": float(os.environ.get("LEGATO_REPUBLISH_AFTER", 30)),
    # How long a claimed attempt may go without a heartbeat before it is presumed lost.
    "CLAIM_LEASE_SECONDS": float(os.environ.get("LEGATO_CLAIM_LEASE", 60)),
    "SWEEP_INTERVAL_SECONDS": float(os.environ.get("LEGATO_SWEEP_INTERVAL", 1.0)),
    # How long one worker delivery may go on running the next steps of its execution
    # itself, without the broker (0: every step goes through the broker). Bounded so a
    # long chain cannot keep a pool process from the other executions waiting.
    "CONTINUE_SECONDS": float(os.environ.get("LEGATO_CONTINUE_SECONDS", 0.5)),
    "MAX_PAYLOAD_BYTES": int(os.environ.get("LEGATO_MAX_PAYLOAD_BYTES", 256 * 1024)),
    # How deep a payload, a request body's field or a definition may nest. Deeper values
    # are refused where they come in (400, States.Runtime): later recursive code and
    # SQLite's JSON functions would fail on them as a 500. At most MAX_DEPTH_CEILING
    # (200; see engine/payloads.py): a larger setting is lowered to it.
    "MAX_JSON_DEPTH": max(
        1, min(int(os.environ.get("LEGATO_MAX_JSON_DEPTH", 100)), MAX_DEPTH_CEILING)
    ),
    # An execution whose history grows past this fails (Step Functions: 25,000).
    "MAX_HISTORY_EVENTS": int(os.environ.get("LEGATO_MAX_HISTORY_EVENTS", 25_000)),
    # What one step may record (state inputs, in the history and the snapshot) before the
    # execution fails: a loop or a wide Map of large inputs would write gigabytes at once.
    "MAX_STEP_BYTES": int(os.environ.get("LEGATO_MAX_STEP_BYTES", 64 * 1024 * 1024)),
    # The most items one Map state may fan out to.
    "MAX_MAP_ITEMS": int(os.environ.get("LEGATO_MAX_MAP_ITEMS", 100_000)),
    # A flow: task may start a child only this many levels deep (a flow that starts itself).
    "MAX_CHILD_DEPTH": int(os.environ.get("LEGATO_MAX_CHILD_DEPTH", 16)),
    # Child executions ever started under one execution a user started, at any depth
    # (Distributed Map runs not counted); 0: no cap. Bounds flows that start themselves
    # without waiting, which neither the depth nor the running cap stops.
    "MAX_DESCENDANTS": int(os.environ.get("LEGATO_MAX_DESCENDANTS", 10_000)),
    # Running executions of one flow (Distributed Map runs not counted); 0: no cap.
    "MAX_RUNNING_PER_FLOW": int(os.environ.get("LEGATO_MAX_RUNNING_PER_FLOW", 1000)),
    # Every evaluation of a JSONata expression (and intrinsic printing) is budgeted: its
    # running time, its nesting of function calls and the bytes of values it builds.
    "EXPRESSION_TIMEOUT_MS": int(os.environ.get("LEGATO_EXPRESSION_TIMEOUT_MS", 1000)),
    "EXPRESSION_MAX_DEPTH": int(os.environ.get("LEGATO_EXPRESSION_MAX_DEPTH", 200)),
    "EXPRESSION_MAX_BYTES": int(os.environ.get("LEGATO_EXPRESSION_MAX_BYTES", 64 * 1024 * 1024)),
    # All the evaluations of one interpreter step together (a Pass with thirty expressions).
    "EXPRESSION_STEP_TIMEOUT_MS": int(os.environ.get("LEGATO_EXPRESSION_STEP_TIMEOUT_MS", 10_000)),
    # Test-only: protections switched off for the fault suite's negative controls
    # (fencing, row_lock, sweeper, idempotency_key, outage_retry). Never set this in
    # production.
    "UNSAFE": {p.strip() for p in os.environ.get("LEGATO_UNSAFE", "").split(",") if p.strip()},
    # Hosts an `http` Task may call ("*" for any); empty by default: no request forgery.
    "HTTP_ALLOWED_HOSTS": {
        h.strip().lower()
        for h in os.environ.get("LEGATO_HTTP_ALLOWED_HOSTS", "").split(",")
        if h.strip()
    },
    # Where Map's ItemReader/ResultWriter read and write files (legato:file, s3:*).
    "FILES_ROOT": os.environ.get("LEGATO_FILES_ROOT", str(DATA_DIR / "files")),
    # Sign-in failures before a user name or an address is locked out, for how long after
    # its last failure, and the shortest password accepted (set above, where Django and
    # django-axes read them).
    "LOGIN_FAILURE_LIMIT": LOGIN_FAILURE_LIMIT,
    "LOGIN_COOLOFF_MINUTES": LOGIN_COOLOFF_MINUTES,
    "PASSWORD_MIN_LENGTH": PASSWORD_MIN_LENGTH,
    # The only modules a `python:` Task resource may import (and their submodules).
    # Celery task names a celery: Task may send (exact, or a prefix ending in "*"); none by
    # default, and never Legato's own (legato.*).
    "CELERY_TASKS": [
        t.strip() for t in os.environ.get("LEGATO_CELERY_TASKS", "").split(",") if t.strip()
    ],
    "TASK_MODULES": [
        m.strip()
        for m in os.environ.get("LEGATO_TASK_MODULES", "examples.tasks").split(",")
        if m.strip()
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEGATO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "kombu": {"level": "WARNING"},
    },
}

if not DEBUG and not EMBEDDED:
    # Scaled mode is production: HTTPS-only cookies and HSTS unless a test or a local
    # trial opts out with LEGATO_INSECURE_COOKIES=1.
    _SECURE = os.environ.get("LEGATO_INSECURE_COOKIES", "0") != "1"
    SESSION_COOKIE_SECURE = _SECURE
    CSRF_COOKIE_SECURE = _SECURE
    SECURE_HSTS_SECONDS = int(os.environ.get("LEGATO_HSTS_SECONDS", 31_536_000 if _SECURE else 0))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _SECURE
    SECURE_HSTS_PRELOAD = os.environ.get("LEGATO_HSTS_PRELOAD", "0") == "1"
    # Behind a TLS-terminating proxy, redirect http to https and trust its header.
    SECURE_SSL_REDIRECT = os.environ.get("LEGATO_SSL_REDIRECT", "0") == "1"
    if BEHIND_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
