"""WSGI entry point for any WSGI server (the CLI serves it with waitress)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer.config.settings")
application = get_wsgi_application()
