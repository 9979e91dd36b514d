"""Pouls settings: everything comes from the environment (see the README's table).

With no configuration at all the platform runs on embedded defaults: SQLite,
Celery's filesystem transport and email written as .eml files, all under var/.
"""

import base64
import datetime
import hashlib
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

VAR_DIR = Path(env("POULS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _config_error(message: str):
    """Stop with one line that names the variable, not a traceback."""
    sys.exit(f"Pouls configuration error: {message}")


DJANGO_ENV = env("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    _config_error(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# --- secrets and hosts -------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        _config_error("DJANGO_SECRET_KEY is missing or shorter than 50 characters (production).")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        _config_error("DJANGO_ALLOWED_HOSTS is missing (production).")
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
    if not SECRET_KEY:
        key_file = VAR_DIR / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(64))
            key_file.chmod(0o600)
        SECRET_KEY = key_file.read_text().strip()
    ALLOWED_HOSTS = env.list(
        "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
    )


def _listening_url() -> str:
    """Development: the address the web server listens on (`HOST`, `PORT`, as
    `make run` and platform/gunicorn.conf.py read them), so links in emails work."""
    host = env("HOST", default="localhost").strip("[]") or "localhost"
    if host in ("0.0.0.0", "::"):  # noqa: S104 — listening everywhere: this machine is localhost
        host = "localhost"
    if ":" in host:
        host = f"[{host}]"
    # Under `make run`, honcho gives each process its own PORT (web 8000, worker 8100…):
    # the Makefile passes the web's as POULS_WEB_PORT.
    port = env("POULS_WEB_PORT", default="") or env("PORT", default="8000")
    return f"http://{host}:{port}"


if PRODUCTION and not env("SITE_URL", default=""):
    _config_error("SITE_URL is missing (production): every link in emails is built on it.")
SITE_URL = env("SITE_URL", default="").rstrip("/") or _listening_url()
if urlsplit(SITE_URL).scheme not in ("http", "https") or not urlsplit(SITE_URL).netloc:
    _config_error(f"SITE_URL must be an absolute http(s) URL, not {SITE_URL!r}.")
SITE_NAME = env("SITE_NAME", default="Pouls")
# The blog author's name on their replies to comments when the article names no author.
SITE_AUTHOR = env("SITE_AUTHOR", default="")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
# Other sites whose pages may hold the public signup form (config/origin.py).
POULS_FORM_ORIGINS = env.list("POULS_FORM_ORIGINS", default=[])
# The few copies of Django's and anymail's internals that make hot paths faster
# (config/fastpaths.py). Off, every feature goes through the upstream public call.
POULS_FASTPATHS = env.bool("POULS_FASTPATHS", default=True)

# --- applications ------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "anymail",
    "csp",
    "axes",
    "config",
    "articles",
    "signups",
    "mailings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns the authentication backend's lockout into the French lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
            # French typography in every template: `typographie` (config/typography.py).
            "builtins": ["config.typography"],
        },
    },
]

# --- database ----------------------------------------------------------------
DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis", "sqlite"}
_database_url = env("DATABASE_URL", default="")
if not _database_url:
    if PRODUCTION:
        _config_error("DATABASE_URL is missing (production needs PostgreSQL).")
    _database_url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
if urlsplit(_database_url).scheme not in DATABASE_SCHEMES:
    _config_error(
        "DATABASE_URL is malformed: expected postgres://user:password@host:5432/name "
        f"or sqlite:///path, got {urlsplit(_database_url).scheme or 'no scheme'}."
    )
try:
    _db = env.db_url_config(_database_url)
except Exception as exc:  # django-environ raises several types for bad URLs
    _config_error(f"DATABASE_URL is malformed: {exc}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat read while one of them writes;
    # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    # Prepared statements where the code asks for one (the signup's statement, see
    # signups/services.py; Django's own cursors never prepare). Set it to false
    # behind a connection pooler in transaction mode (PgBouncer < 1.21).
    if env.bool("DJANGO_DB_PREPARED_STATEMENTS", default=True):
        _db.setdefault("OPTIONS", {})["prepare_threshold"] = 5
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache ------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
    _config_error(f"REDIS_URL is malformed: expected redis://host:6379/0, got {REDIS_URL!r}.")
if PRODUCTION and not REDIS_URL:
    _config_error("REDIS_URL is missing (production needs Redis for Celery and the cache).")


def _another_database(url: str) -> str:
    """REDIS_URL with the next database number (15, the last by default, gives 14)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix":
        db = int(query.get("db", 0))
        query["db"] = str(db + 1 if db < 15 else db - 1)
        return f"{url.partition('?')[0]}?{urlencode(query)}"  # urlunsplit drops "//"
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + 1 if db < 15 else db - 1}"))


# Two caches. "default" holds the small keys that coordinate the platform (rate-limit
# counters, wake-up keys, the send-rate budget, beat's heartbeat): next to the broker,
# never evicted. "pages" holds the reading site's whole pages, which anyone can make
# more of: its own Redis database (CACHE_URL), meant for an evicting Redis (allkeys-lru;
# see the README's operations), so that a full page cache drops pages and never
# blocks the broker or the counters.
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="pouls")
try:
    CACHE_URL = env("CACHE_URL", default="") or (_another_database(REDIS_URL) if REDIS_URL else "")
except ValueError:
    _config_error(f"REDIS_URL is malformed: its database must be a number, got {REDIS_URL!r}.")
if CACHE_URL and urlsplit(CACHE_URL).scheme not in ("redis", "rediss", "unix"):
    _config_error(f"CACHE_URL is malformed: expected redis://host:6379/1, got {CACHE_URL!r}.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        },
    }
if CACHE_URL:
    CACHES["pages"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
    }
else:
    CACHES["pages"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache-pages"),
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        # Django's file cache culls a third of its files past this many.
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }

# --- Celery ------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message not acknowledged within this delay is redelivered; schedules
        # never rely on it (the database holds them), tasks are idempotent.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    for _sub in ("in", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"mailings.*": {"queue": "mail"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=300_000)
# Celery's Django fix-up closes every database connection before and after each task
# (a new PostgreSQL backend, cold caches, for every batch, tick and wake-up) unless told
# to reuse them: reuse them, and close the unusable or obsolete ones as Django does
# around a web request (CONN_MAX_AGE, CONN_HEALTH_CHECKS; config/celery_app.py).
CELERY_DB_REUSE_MAX = 10**9
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)


# --- email -------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="config.mail.EmlFileBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Pouls <bonjour@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Sender identity and postal address, printed in every marketing email (LCEN, CAN-SPAM).
MAIL_POSTAL_ADDRESS_PLACEHOLDER = "Pouls, adresse postale à configurer"
MAIL_POSTAL_ADDRESS = env("MAIL_POSTAL_ADDRESS", default=MAIL_POSTAL_ADDRESS_PLACEHOLDER)
# Every ANYMAIL_<KEY> variable becomes ANYMAIL["<KEY>"]: any ESP by configuration alone,
# e.g. EMAIL_BACKEND=anymail.backends.brevo.EmailBackend and ANYMAIL_BREVO_API_KEY=...
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_")
}

# --- ESP webhooks (mailings/webhooks.py) -------------------------------------------
# Only the configured ESP's endpoints answer, and only with WEBHOOK_SECRET (HTTP basic
# auth `user:password`), in every mode; the ESP's signature is checked too where its key
# is set (ANYMAIL_<ESP>_WEBHOOK_SIGNING_KEY…, passed to anymail like every ANYMAIL_*).
WEBHOOK_SECRET = env("WEBHOOK_SECRET", default="")
if WEBHOOK_SECRET:
    ANYMAIL.setdefault("WEBHOOK_SECRET", WEBHOOK_SECRET)
if PRODUCTION and "anymail" in EMAIL_BACKEND and not ANYMAIL.get("WEBHOOK_SECRET"):
    _config_error(
        "WEBHOOK_SECRET is missing: an anymail EMAIL_BACKEND needs it to receive the ESP's "
        "webhooks (production)."
    )
# Mount the ESP's inbound webhook too (emails to the List-Unsubscribe mailbox unsubscribe,
# replies to MAIL_REPLY_TO reach the inbox).
MAIL_INBOUND_WEBHOOK = env.bool("MAIL_INBOUND_WEBHOOK", default=False)
# The replies inbox: with the inbound webhook on, every mailing and lesson carries a
# Reply-To of this mailbox with a signed tag (reponses+<tag>@…), to be routed to the
# ESP's inbound webhook; replies then land in the admin. Empty: no Reply-To, replies go
# to DEFAULT_FROM_EMAIL as before.
MAIL_REPLY_TO = env("MAIL_REPLY_TO", default="")
# The files readers attach to their replies: kept in STORAGES["replies"] (never served by
# the site; staff download them from the inbox), each up to this size, this many per reply.
MAIL_INBOUND_ATTACHMENT_MAX_BYTES = env.int(
    "MAIL_INBOUND_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024
)
MAIL_INBOUND_ATTACHMENTS_MAX = env.int("MAIL_INBOUND_ATTACHMENTS_MAX", default=10)
# Events accepted in one webhook request; past it the request is refused with 413.
MAIL_WEBHOOK_MAX_EVENTS = env.int("MAIL_WEBHOOK_MAX_EVENTS", default=5000)
# This many soft bounces (distinct messages) within this many days stop mail to a contact
# (reversible by the editor, unlike a hard bounce or a complaint).
MAIL_SOFT_BOUNCE_LIMIT = env.int("MAIL_SOFT_BOUNCE_LIMIT", default=3)
MAIL_SOFT_BOUNCE_DAYS = env.int("MAIL_SOFT_BOUNCE_DAYS", default=15)

# --- production refuses placeholders ------------------------------------------------
# The values of platform/pouls.env.example that only show where a real one goes: with
# the example's secret key anyone can forge preference links (export, erasure). Each
# mark is matched case-insensitively inside the value.
PLACEHOLDER_MARKS = (
    "change-me",
    "...",
    "a-long-random-secret",
    ":password@",
    "adresse postale à configurer",
    "rue de l’exemple",
)
# Backends with which no email leaves the machine (files, memory, console).
LOCAL_EMAIL_BACKENDS = {
    "config.mail.EmlFileBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


def _placeholder(value: str) -> bool:
    return any(mark in value.lower() for mark in PLACEHOLDER_MARKS)


if PRODUCTION:
    for _name, _value in [
        ("DJANGO_SECRET_KEY", SECRET_KEY),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("DATABASE_URL", _database_url),
        ("EMAIL_HOST_PASSWORD", EMAIL_HOST_PASSWORD),
        *((f"ANYMAIL_{key}", str(value)) for key, value in ANYMAIL.items()),
    ]:
        if _placeholder(_value):
            _config_error(f"{_name} still holds the example's placeholder value (production).")
    if any("*" in host for host in ALLOWED_HOSTS):
        _config_error("DJANGO_ALLOWED_HOSTS must name the site's hosts, not '*' (production).")
    if EMAIL_BACKEND not in LOCAL_EMAIL_BACKENDS and (
        not MAIL_POSTAL_ADDRESS.strip() or _placeholder(MAIL_POSTAL_ADDRESS)
    ):
        _config_error(
            "MAIL_POSTAL_ADDRESS is empty or the placeholder; marketing emails must carry the "
            "sender's real postal address (production)."
        )

# --- internationalisation ---------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("Anglais"))]
# The blog's time zone, the one place it is named: the site's dates, the editor's
# forms, the beat's schedule, and every reader's zone until they say otherwise.
TIME_ZONE = "Europe/Paris"
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Readers' reply attachments: outside MEDIA_ROOT, so no URL of the site reaches them.
    "replies": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "replies")},
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# --- security ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    # Off unless asked for: both reach beyond this site (every subdomain; the browsers'
    # built-in list, from which removal takes months), so check --deploy is told so.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
    )
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]


# --- Content-Security-Policy (django-csp) ------------------------------------------
# Every page: scripts, styles, images and fonts from this site only, no plugins, no
# framing, forms posting here only. No inline script anywhere (the time-zone filler is
# static/js/time-zone.js); the one inline style block, in the self-contained 500 page,
# is allowed by its hash, computed here from the template itself.
def _inline_style_hashes(*names: str) -> list[str]:
    hashes = []
    for name in names:
        text = (BASE_DIR / "templates" / name).read_text(encoding="utf-8")
        for block in re.findall(r"<style>(.*?)</style>", text, flags=re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return hashes


# Players whose iframes an article may embed (articles.rendering keeps these and turns
# any other iframe into a link); the policy below lets exactly these be framed.
ARTICLES_EMBED_HOSTS = [
    "www.youtube.com", "youtube.com", "www.youtube-nocookie.com", "player.vimeo.com",
    "w.soundcloud.com", "open.spotify.com", "www.dailymotion.com", "geo.dailymotion.com",
    "bandcamp.com", "embed.podcasts.apple.com", "www.slideshare.net", "player.ausha.co",
    "www.google.com", "docs.google.com", "embed.ted.com", "www.loom.com",
]  # fmt: skip

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, *_inline_style_hashes("500.html")],
        # Imported articles show images from their platforms' CDNs (Medium, Ghost,
        # Substack, the old blog): any https image, never a script.
        "img-src": [SELF, "data:", "https:"],
        "frame-src": [f"https://{host}" for host in ARTICLES_EMBED_HOSTS],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- admin login throttling (django-axes) ---------------------------------------------
# A user name tried from one IP is locked after AXES_FAILURE_LIMIT wrong passwords, for
# AXES_COOLOFF_MINUTES (0: until `manage.py axes_reset_ip_username IP NAME`); other IPs
# and other names are not. The lockout page is French (config.views.admin_locked_out).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_cooloff = env.int("AXES_COOLOFF_MINUTES", default=30)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=_cooloff) if _cooloff else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.views.admin_locked_out"
# The same client IP as rate limits and consent evidence: behind trusted proxies,
# the address the outermost of them saw (REMOTE_ADDR is the proxy's own).
AXES_CLIENT_IP_CALLABLE = "signups.ratelimit.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes announces itself at every start: errors stay one line (preflight).
        "axes.apps": {"level": "WARNING"},
    },
}

# --- signups -------------------------------------------------------------------
# email-validator checks the domain's DNS (MX) only when this is on.
SIGNUPS_CHECK_DELIVERABILITY = env.bool("SIGNUPS_CHECK_DELIVERABILITY", default=False)
# The largest body a public form's POST may carry; past it, 413 before parsing.
SIGNUPS_MAX_BODY_BYTES = 64 * 1024
# Signup and application POSTs allowed per client IP / per address: (count, seconds).
SIGNUPS_RATE_PER_IP = (
    env.int("SIGNUPS_RATE_PER_IP", default=20),
    env.int("SIGNUPS_RATE_PER_IP_WINDOW", default=600),
)
SIGNUPS_RATE_PER_ADDRESS = (
    env.int("SIGNUPS_RATE_PER_ADDRESS", default=5),
    env.int("SIGNUPS_RATE_PER_ADDRESS_WINDOW", default=3600),
)
# Behind reverse proxies of our own: how many append to SIGNUPS_CLIENT_IP_HEADER (the client
# is the entry the outermost one added, the N-th from the right); 0: REMOTE_ADDR only.
SIGNUPS_TRUSTED_PROXIES = env.int("SIGNUPS_TRUSTED_PROXIES", default=0)
SIGNUPS_CLIENT_IP_HEADER = env("SIGNUPS_CLIENT_IP_HEADER", default="HTTP_X_FORWARDED_FOR")

# --- mailings (sending) -----------------------------------------------------
# Open tracking per reader is off unless enabled (consent is becoming required for it).
MAIL_TRACK_OPENS = env.bool("MAIL_TRACK_OPENS", default=False)
# Links of mailings and sequence emails through the site's own signed redirect, which
# records each click per reader (personal data: see the README before turning it on).
MAIL_TRACK_CLICKS = env.bool("MAIL_TRACK_CLICKS", default=False)
# Messages per second handed to the configured EMAIL_BACKEND (0: no limit), shared by all workers.
MAIL_SEND_RATE = env.float("MAIL_SEND_RATE", default=0)
MAIL_BATCH_SIZE = env.int("MAIL_BATCH_SIZE", default=500)
MAIL_CHUNK_SIZE = env.int("MAIL_CHUNK_SIZE", default=100)
MAIL_HANDOVER_STEP = env.int("MAIL_HANDOVER_STEP", default=0)
MAIL_PARALLEL_BATCHES = env.int("MAIL_PARALLEL_BATCHES", default=4)
MAIL_LEASE_SECONDS = env.int("MAIL_LEASE_SECONDS", default=300)
MAIL_REQUEUE_AFTER = env.int("MAIL_REQUEUE_AFTER", default=60)
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=5)
MAIL_RETRY_BACKOFF = env.int("MAIL_RETRY_BACKOFF", default=30)
# One ESP API call per chunk (anymail batch sending) and the ESP's merge-field syntax.
MAIL_ESP_BATCH = env.bool("MAIL_ESP_BATCH", default=False)
MAIL_ESP_MERGE_FIELD = env("MAIL_ESP_MERGE_FIELD", default="%recipient.{}%")
MAIL_UNSUBSCRIBE_MAILTO = env("MAIL_UNSUBSCRIBE_MAILTO", default="")
# Pre-send checks: ask each external link of a mailing with a HEAD request (off: offline).
MAIL_CHECK_LINKS = env.bool("MAIL_CHECK_LINKS", default=False)
MAIL_CHECK_LINKS_TIMEOUT = env.float("MAIL_CHECK_LINKS_TIMEOUT", default=5)

# --- articles ------------------------------------------------------------------
# Comments allowed per client IP / per address: (count, seconds).
COMMENTS_RATE_PER_IP = (
    env.int("COMMENTS_RATE_PER_IP", default=10),
    env.int("COMMENTS_RATE_PER_IP_WINDOW", default=600),
)
COMMENTS_RATE_PER_ADDRESS = (
    env.int("COMMENTS_RATE_PER_ADDRESS", default=5),
    env.int("COMMENTS_RATE_PER_ADDRESS_WINDOW", default=600),
)
# Imports: where uploaded files wait for the worker (web and worker must both reach it),
# and what an archive may hold: bytes unpacked, unpacked/packed ratio of a member over
# 1 MiB, members.
IMPORT_UPLOAD_DIR = VAR_DIR / "imports"
IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
IMPORT_MAX_RATIO = 100
IMPORT_MAX_FILES = 20_000
# Last, so every other middleware still sees the request and the response: serves the
# reading pages this web process holds without resolving the URL (articles/cache.py).
MIDDLEWARE += ["articles.cache.CachedPagesMiddleware"]
