"""Settings, read from the environment only.

`DEBUG` is off unless the environment turns it on (``./dev`` and the tests do, with a
development key of their own): the image, the chart and a bare start are production-safe. With
`DEBUG` off the process refuses to start without a `SECRET_KEY` and `ALLOWED_HOSTS`, and turns on
the HTTPS protections that `manage.py check --deploy` asks for, so that an unsafe production
start is loud, not silent. Everything else has a local default (SQLite in `data/`, services on
the loopback ports the project's scripts use).

`DEBUG` is for a server bound to the loopback interface only: its `ALLOWED_HOSTS` default is the
loopback names, which is no protection on a public address (any client can send
`Host: localhost`), and its error pages show the code and settings (URL passwords masked,
:mod:`invoker_web.debug`).
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from invoker_web.gc_tuning import DEFAULT_THRESHOLDS, parse_thresholds
from orchestrator.planning.placement import Placement, PlacementError

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret(name: str) -> str | None:
    """A secret from `NAME`, or from the file named by `NAME_FILE` (a mounted Kubernetes Secret)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc}") from exc
    return env.str(name, default="") or None


def _required(name: str, value: object) -> None:
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see README, 'Configuration').")


DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("INVOKER_DATA_DIR", default=str(BASE_DIR / "data")))

SECRET_KEY = _secret("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG:
    if not SECRET_KEY:  # no default key at all: ./dev and the tests export a development one
        raise ImproperlyConfigured(
            "SECRET_KEY must be set, even with DEBUG on (./dev exports a development key)."
        )
    # Loopback names only: DEBUG is for a server bound to the loopback interface (see above).
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
else:
    _required("SECRET_KEY", SECRET_KEY)
    _required("ALLOWED_HOSTS", ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, pinned and served from here: no CDN
    "channels",
    "axes",
    "topology_editor",
    "jobs",
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
    # Last, as django-axes asks: it turns a locked sign-in into the 429 (invoker_web/ratelimit.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "invoker_web.urls"
ASGI_APPLICATION = "invoker_web.asgi.application"
WSGI_APPLICATION = None

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

if "DATABASE_URL" not in env:
    # The local default: a SQLite file that needs its folder.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
# Concurrent writes wait for each other, up to this long, instead of failing. SQLite takes its
# write lock when a transaction begins (IMMEDIATE): two deferred transactions that both read and
# then write fail at once with "database is locked", whatever the timeout. A write still waiting
# after it gets 503 "busy" (topology_editor.services.saving), on SQLite as on PostgreSQL.
DATABASE_LOCK_TIMEOUT_SECONDS = env.float("DATABASE_LOCK_TIMEOUT_SECONDS", default=10.0)
_database_options = DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _database_options.update(transaction_mode="IMMEDIATE", timeout=DATABASE_LOCK_TIMEOUT_SECONDS)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _lock_timeout = f"-c lock_timeout={round(DATABASE_LOCK_TIMEOUT_SECONDS * 1000)}"
    _database_options["options"] = f"{_database_options.get('options', '')} {_lock_timeout}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's PBKDF2 (1,000,000 iterations) costs ~0.5 s of CPU per sign-in and per created user: the
# test suite signs in and creates users hundreds of times. A test run may ask for a fast hasher; a
# production start that asks for it is refused by name.
if env.bool("INVOKER_TEST_PASSWORD_HASHER", default=False):
    if not DEBUG:
        raise ImproperlyConfigured(
            "INVOKER_TEST_PASSWORD_HASHER stores passwords unsafely (MD5): it is for tests, with DEBUG on."
        )
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/admin/login/"
# Axes' backend refuses locked sign-ins before the password is checked; ModelBackend checks it.
AUTHENTICATION_BACKENDS = [
    "invoker_web.ratelimit.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Static files are served by the app itself (no CDN, works offline); finders spare local runs a collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Services --------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:16379/0")
KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
# The executors' state cache is a Redis of its own, never REDIS_URL by default: the control
# plane's Redis holds Celery's queue and the Channels layer, and must not share memory, eviction
# or a FLUSHDB with executor state. The default is the one `./dev` runs (STATE_REDIS_PORT).
INVOKER_STATE_REDIS_URL = env.str("INVOKER_STATE_REDIS_URL", default="redis://127.0.0.1:16381/0")
INVOKER_BACKEND = env.str("INVOKER_BACKEND", default="local")
if INVOKER_BACKEND not in ("local", "kubernetes"):
    raise ImproperlyConfigured(f"INVOKER_BACKEND must be 'local' or 'kubernetes', got {INVOKER_BACKEND!r}")
INVOKER_KUBECONFIG = env.str("KUBECONFIG", default="") or None
INVOKER_KUBE_IN_CLUSTER = env.bool("INVOKER_KUBE_IN_CLUSTER", default=False)
INVOKER_NAMESPACE = env.str("INVOKER_NAMESPACE", default="default")
# Where executor pods run on Kubernetes: INVOKER_POD_NODE_SELECTOR, INVOKER_POD_TOLERATIONS.
try:
    INVOKER_POD_PLACEMENT = Placement.from_environ(
        {
            "INVOKER_POD_NODE_SELECTOR": env.str("INVOKER_POD_NODE_SELECTOR", default=""),
            "INVOKER_POD_TOLERATIONS": env.str("INVOKER_POD_TOLERATIONS", default=""),
        }
    )
except PlacementError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
INVOKER_LOCAL_STATE_DIR = Path(env.str("INVOKER_LOCAL_STATE_DIR", default=str(DATA_DIR / "local-runtime")))
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=2.0)


def _limit(name: str) -> int | None:
    """A positive size limit from ``name``; ``None`` (unset) keeps the orchestrator's default."""
    raw = env.str(name, default="")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


# How large one deployment may be (orchestrator.spec.model.Limits; README, "Configuration").
INVOKER_SPEC_LIMITS = {
    "max_entities": _limit("INVOKER_MAX_ENTITIES"),
    "max_pods_per_entity": _limit("INVOKER_MAX_PODS_PER_ENTITY"),
    "max_pods": _limit("INVOKER_MAX_PODS"),
    "max_partitions_per_pod": _limit("INVOKER_MAX_PARTITIONS_PER_POD"),
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
INVOKER_RESYNC_SECONDS = env.float("INVOKER_RESYNC_SECONDS", default=30.0)
INVOKER_METRICS_INTERVAL_SECONDS = env.float("INVOKER_METRICS_INTERVAL_SECONDS", default=2.0)
# Task modules besides jobs/tasks.py (which autodiscovery finds): issue 16's drain, autoscaler
# and canary.
CELERY_IMPORTS = ("jobs.drain", "jobs.autoscaling", "jobs.canary")
INVOKER_AUTOSCALE_SECONDS = env.float("INVOKER_AUTOSCALE_SECONDS", default=10.0)
# How long an editor tab counts as present without refreshing its entry (topology_editor/presence.py).
INVOKER_PRESENCE_TTL_SECONDS = env.float("INVOKER_PRESENCE_TTL_SECONDS", default=30.0)
#: The web server's garbage collector thresholds (invoker_web/gc_tuning.py).
INVOKER_GC_THRESHOLDS = parse_thresholds(env.str("INVOKER_GC_THRESHOLDS", default=DEFAULT_THRESHOLDS))
CELERY_BEAT_SCHEDULE = {
    "resync-every-deployment": {"task": "jobs.resync_all", "schedule": INVOKER_RESYNC_SECONDS},
    "collect-metrics": {"task": "jobs.collect_metrics", "schedule": INVOKER_METRICS_INTERVAL_SECONDS},
    "autoscale": {"task": "jobs.autoscale", "schedule": INVOKER_AUTOSCALE_SECONDS},
}

# The cache holds the sign-in failure counts and the API's request counts, so that every process
# (web workers, replicas) sees the same ones: Redis, never a per-process memory cache.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_REDIS_URL", default=REDIS_URL),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="invoker"),
    }
}

# --- Brute force: sign-in failures and API requests (invoker_web/ratelimit.py) ----------------
AXES_HANDLER = "invoker_web.ratelimit.TieredCacheHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("INVOKER_LOGIN_FAILURES_PER_ACCOUNT", default=10)
INVOKER_LOGIN_FAILURES_PER_ADDRESS = env.int("INVOKER_LOGIN_FAILURES_PER_ADDRESS", default=50)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("INVOKER_LOGIN_LOCKOUT_MINUTES", default=15.0))
AXES_LOCKOUT_CALLABLE = "invoker_web.ratelimit.lockout_response"
AXES_VERBOSE = False
# The client address failures are counted against (django-axes reads it through django-ipware).
# By default the connecting peer's (REMOTE_ADDR). Behind an ingress every peer is the ingress, so
# one client's failures would lock out everyone: the chart sets the order to
# "HTTP_X_FORWARDED_FOR,REMOTE_ADDR" and AXES_IPWARE_PROXY_COUNT to the proxies that append to the
# header before the one that connects (0 for an ingress alone). The client is then the entry that
# many places left of the last; what a client wrote further left is never believed, and a longer
# chain than expected is read the same way rather than lumped under the proxy's address.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)
AXES_IPWARE_PROXY_ORDER = "left-most"
IPWARE_STRICT = False
INVOKER_API_RATE_PER_USER = env.str("INVOKER_API_RATE_PER_USER", default="1200/minute")
for _name, _value in (
    ("INVOKER_LOGIN_FAILURES_PER_ACCOUNT", AXES_FAILURE_LIMIT),
    ("INVOKER_LOGIN_FAILURES_PER_ADDRESS", INVOKER_LOGIN_FAILURES_PER_ADDRESS),
    ("INVOKER_LOGIN_LOCKOUT_MINUTES", AXES_COOLOFF_TIME.total_seconds()),
):
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be positive, got {_value}")
if AXES_IPWARE_META_PRECEDENCE_ORDER != ["REMOTE_ADDR"] and AXES_IPWARE_PROXY_COUNT is None:
    raise ImproperlyConfigured(
        "AXES_IPWARE_PROXY_COUNT must be set when AXES_IPWARE_META_PRECEDENCE_ORDER reads a header "
        f"({AXES_IPWARE_META_PRECEDENCE_ORDER}): without it a client chooses its own address"
    )
if AXES_IPWARE_PROXY_COUNT is not None and AXES_IPWARE_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"AXES_IPWARE_PROXY_COUNT must be 0 or more, got {AXES_IPWARE_PROXY_COUNT}")
if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", INVOKER_API_RATE_PER_USER):
    raise ImproperlyConfigured(
        f"INVOKER_API_RATE_PER_USER must be like '1200/minute', got {INVOKER_API_RATE_PER_USER!r}"
    )

# Redis connections per web process for the websockets' channel layer: a burst of sockets
# connecting at once waits up to CHANNELS_REDIS_POOL_TIMEOUT seconds for one (invoker_web/channel_layer.py).
CHANNELS_REDIS_MAX_CONNECTIONS = env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=50)
CHANNELS_REDIS_POOL_TIMEOUT = env.float("CHANNELS_REDIS_POOL_TIMEOUT", default=20.0)
if CHANNELS_REDIS_MAX_CONNECTIONS < 2 or CHANNELS_REDIS_POOL_TIMEOUT <= 0:
    raise ImproperlyConfigured(
        "CHANNELS_REDIS_MAX_CONNECTIONS must be 2 or more and CHANNELS_REDIS_POOL_TIMEOUT positive, got "
        f"{CHANNELS_REDIS_MAX_CONNECTIONS} and {CHANNELS_REDIS_POOL_TIMEOUT}"
    )
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "invoker_web.channel_layer.PooledRedisChannelLayer",
        # channels_redis blocks on Redis for up to 5 s per receive; redis-py's own 5 s read
        # timeout would cut every idle websocket, so the layer's connections wait without one.
        "CONFIG": {
            "hosts": [{"address": env.str("CHANNELS_REDIS_URL", default=REDIS_URL), "socket_timeout": None}],
            "max_connections": CHANNELS_REDIS_MAX_CONNECTIONS,
            "pool_timeout": CHANNELS_REDIS_POOL_TIMEOUT,
        },
    },
}

REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate: Token` header makes an anonymous request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's, counting wrong tokens as failed sign-ins of their address.
        "invoker_web.ratelimit.LockoutTokenAuthentication",
        # Its CSRF check never parses the body before the role check (see the module).
        "topology_editor.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own HTML renderer, allowed the inline styles of its templates (invoker_web/content_policy.py).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "invoker_web.content_policy.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["topology_editor.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "topology_editor.api.pagination.Pagination",
    "EXCEPTION_HANDLER": "topology_editor.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["invoker_web.ratelimit.UserRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Invoker API",
    "DESCRIPTION": "Topologies of stateful entities joined by Kafka topics, and their reconciliation.",
    "VERSION": "0.1.0",
    # The schema and its docs need a login like everything else but the health probes.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "topology_editor.api.schema.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Every response says the page may load scripts, styles, images, fonts, fetches and websockets
# from this origin only, run no inline script or style and be framed by no other site. The pages
# keep their code in static/ (no inline <script> or <style>); Plotly and Swagger UI are served
# from pinned Python packages (plotly, drf-spectacular-sidecar). "data:" images are the icons
# Swagger UI's stylesheet embeds. One widening: DRF's browsable API pages also allow inline
# styles (invoker_web/content_policy.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

# Error reports (the DEBUG page, error mails) mask the passwords of URLs, not just secret names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "invoker_web.debug.CredentialMaskingFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # kafka-python narrates every connection at INFO; its warnings and errors are what matter here.
    # django-axes narrates every sign-in at INFO; its warnings (failures, lockouts) are what matter.
    "loggers": {
        "kafka": {"level": env.str("KAFKA_LOG_LEVEL", default="WARNING")},
        "axes": {"level": "WARNING"},
    },
}

# --- Production protections (what `check --deploy` asks for) ----------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers talk plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    X_FRAME_OPTIONS = "DENY"
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
