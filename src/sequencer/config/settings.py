"""Django settings, read from the environment.

Only glue lives here. Every value a self-hoster may change is an environment variable
documented in the README: SEQUENCER_DATA_DIR, DATABASE_URL, SEQUENCER_SECRET_KEY,
SEQUENCER_BASE_URL, SEQUENCER_DEBUG, SEQUENCER_ALLOWED_HOSTS, SEQUENCER_PROXY_COUNT,
SEQUENCER_SIGNIN_FAILURE_LIMIT, SEQUENCER_SIGNIN_COOLOFF_MINUTES,
SEQUENCER_BLOCK_PRIVATE_HOSTS, SEQUENCER_SEND_CONCURRENCY, SEQUENCER_AI_*, SEQUENCER_LOG_LEVEL,
SEQUENCER_LOG_FORMAT.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from sequencer.config.private_files import private_dir, private_file
from sequencer.config.transport import https_settings
from sequencer.operations.log_format import logging_config

DATA_DIR = private_dir(Path(os.environ.get("SEQUENCER_DATA_DIR", "./data")).resolve())


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept in the data dir."""
    if key := os.environ.get("SEQUENCER_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if path.exists():
        private_file(path)
    else:
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'sequencer.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] and config["NAME"] != ":memory:":
            private_file(Path(config["NAME"]))
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock when a transaction starts, so two writers
            # queue on the busy timeout instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # WAL with synchronous=NORMAL: a commit is in the log when it returns, so a
            # killed process (SIGKILL) loses nothing committed and sending stays
            # exactly-once; the log is fsynced only at checkpoints, so a power loss or OS
            # crash may forget the last commits. A forgotten "sent" is settled by the
            # engine's reconcile (the row is still sending, its Sent folder is searched by
            # Message-ID); a forgotten "sending" means the email may go out twice. See the
            # README (Configuration). FULL would fsync every commit (two per email).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    return config


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("SEQUENCER_DEBUG", "") == "1"
BASE_URL = os.environ.get("SEQUENCER_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The dotted path of the function that returns the workspace's text generator (or None
# when no model is set up); see sequencer.ai.source. Empty: AI slots use their fallback.
# The default is what an admin chooses in Settings → AI (the built-in model at first).
SEQUENCER_AI_GENERATOR = "sequencer.ai.providers.workspace_generator"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("SEQUENCER_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [BASE_URL]
# How many reverse proxies (each appending to X-Forwarded-For) stand in front of
# Sequencer; 0 means browsers connect directly and forwarded headers are not trusted.
SEQUENCER_PROXY_COUNT = int(os.environ.get("SEQUENCER_PROXY_COUNT", "0") or 0)
# Refuse mailbox and calendar connections to loopback, private, link-local and reserved
# addresses (sequencer/netguard.py). Off by default: a mail server on the same host or
# network is a common self-hosted setup.
SEQUENCER_BLOCK_PRIVATE_HOSTS = os.environ.get("SEQUENCER_BLOCK_PRIVATE_HOSTS", "").lower() in {
    "1",
    "true",
    "yes",
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_htmx",
    "template_partials",
    "heroicons",
    # Django Ninja's own templates and bundled Swagger UI files: the API docs page loads
    # them from this server (not a CDN) and needs no inline script.
    "ninja",
    # The composer's ProseMirror/Tiptap bundle (static files only; its form field is unused).
    "django_prose_editor",
    "sequencer.workspace",
    "sequencer.crm",
    "sequencer.sequences",
    "sequencer.mail",
    "sequencer.calendars",
    "sequencer.ai",
    "sequencer.webhooks",
    "sequencer.automations",
    "sequencer.housekeeping",
    "sequencer.operations",
    "sequencer.web",
]

MIDDLEWARE = [
    # First: /healthz and /readyz are answered before the host check, sessions and
    # sign-in could turn a probe into a 400 or a redirect (sequencer/operations/probes.py).
    "sequencer.web.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sequencer.config.urls"
WSGI_APPLICATION = "sequencer.config.wsgi.application"

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
                "csp.context_processors.nonce",
                "sequencer.web.shell.workspace_name",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "workspace.User"
AUTH_PASSWORD_VALIDATORS = [
    # Compares with the whole address and with its parts, so neither the address itself
    # nor "alice" for alice@example.com is accepted as a password.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Axes refuses any sign-in for a throttled account or address before the password is
# checked; ModelBackend then checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttle (sequencer/web/signin_throttle.py): counted in the database, shared by
# every process; per account and, separately, per address.
AXES_FAILURE_LIMIT = int(os.environ.get("SEQUENCER_SIGNIN_FAILURE_LIMIT", "10") or 10)
AXES_COOLOFF_TIME = timedelta(
    minutes=float(os.environ.get("SEQUENCER_SIGNIN_COOLOFF_MINUTES", "15") or 15)
)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "sequencer.web.signin_throttle.throttled_username"
AXES_CLIENT_IP_CALLABLE = "sequencer.web.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "sequencer.web.signin_throttle.lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Lax, not Strict: the OAuth provider's redirect back to the callback is a cross-site
# top-level navigation that must carry the session.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
_transport = https_settings(BASE_URL, SEQUENCER_PROXY_COUNT)
SESSION_COOKIE_SECURE: bool = _transport["SESSION_COOKIE_SECURE"]
CSRF_COOKIE_SECURE: bool = _transport["CSRF_COOKIE_SECURE"]
SECURE_HSTS_SECONDS: int = _transport["SECURE_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = _transport["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
SECURE_HSTS_PRELOAD: bool = _transport["SECURE_HSTS_PRELOAD"]
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = _transport["SECURE_PROXY_SSL_HEADER"]

# Content Security Policy (django-csp): only this server's own scripts, styles and images;
# an inline script needs the per-response nonce ({{ CSP_NONCE }} in templates). Every page
# has this policy, the API docs too (Ninja's bundled Swagger UI starts from a static file).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Uploaded attachments and inline images are kept in the database so that any number
# of web processes on any number of machines see the same files.
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
# The Enroll dialog takes up to 1,000 people at once, with an address choice for each.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2500

# Gmail and Microsoft 365 mailboxes are connected with OAuth through the operator's own
# app registrations (README: "Connecting Gmail and Microsoft 365"); a provider whose client
# id is empty is not offered. The URLs change only to point the tests at a local emulator.
GOOGLE_CLIENT_ID = os.environ.get("SEQUENCER_GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = os.environ.get("SEQUENCER_GOOGLE_CLIENT_SECRET", "")
MICROSOFT_CLIENT_ID = os.environ.get("SEQUENCER_MICROSOFT_CLIENT_ID", "")
MICROSOFT_CLIENT_SECRET = os.environ.get("SEQUENCER_MICROSOFT_CLIENT_SECRET", "")
# "common" lets work and personal accounts of any tenant sign in; a tenant id or domain
# restricts sign-in to that organisation.
MICROSOFT_TENANT = os.environ.get("SEQUENCER_MICROSOFT_TENANT", "common")
GOOGLE_API_URL = os.environ.get("SEQUENCER_GOOGLE_API_URL", "https://gmail.googleapis.com")
GOOGLE_OAUTH_URL = os.environ.get("SEQUENCER_GOOGLE_OAUTH_URL", "https://accounts.google.com")
GRAPH_API_URL = os.environ.get("SEQUENCER_GRAPH_API_URL", "https://graph.microsoft.com")
MICROSOFT_LOGIN_URL = os.environ.get(
    "SEQUENCER_MICROSOFT_LOGIN_URL", "https://login.microsoftonline.com"
)

# Plain text by default, JSON lines with SEQUENCER_LOG_FORMAT=json; secrets masked in both
# (sequencer/operations/log_format.py).
LOGGING = logging_config(
    os.environ.get("SEQUENCER_LOG_FORMAT", "text"), os.environ.get("SEQUENCER_LOG_LEVEL", "INFO")
)

# How many mailboxes one worker sends from at once (engine/sending.py): each is a thread
# holding a database connection while the tick sends, so it also bounds a worker's
# connections. Chosen from bench/bench_sending.py (docs/benchmarks.md).
SEQUENCER_SEND_CONCURRENCY = max(1, int(os.environ.get("SEQUENCER_SEND_CONCURRENCY", "8") or 8))

# The provider, server and key are chosen in Settings → AI (sequencer/ai/providers.py);
# these two are about this machine: another GGUF file for the built-in model, and how
# long to wait for a server's answer.
SEQUENCER_AI_MODEL_PATH = os.environ.get("SEQUENCER_AI_MODEL_PATH", "")
SEQUENCER_AI_TIMEOUT = float(os.environ.get("SEQUENCER_AI_TIMEOUT", "60") or 60)

# Housekeeping (`sequencer housekeeping`, and once a day in a worker): how many days each
# kind of data that only grows is kept; 0 keeps it forever. Read and checked by
# sequencer/housekeeping/retention_settings.py, which names a wrong one.
SEQUENCER_KEEP_RAW_INBOUND_DAYS = os.environ.get("SEQUENCER_KEEP_RAW_INBOUND_DAYS", "90")
SEQUENCER_KEEP_SEEN_CALENDAR_EVENTS_DAYS = os.environ.get(
    "SEQUENCER_KEEP_SEEN_CALENDAR_EVENTS_DAYS", "30"
)
SEQUENCER_KEEP_FINISHED_DELIVERIES_DAYS = os.environ.get(
    "SEQUENCER_KEEP_FINISHED_DELIVERIES_DAYS", "180"
)
SEQUENCER_KEEP_UNUSED_ATTACHMENTS_DAYS = os.environ.get(
    "SEQUENCER_KEEP_UNUSED_ATTACHMENTS_DAYS", "1"
)
