import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Each web worker loads what the monitoring intake needs before its first request.
from monitoring.text.warmup import process_warm  # noqa: E402 - needs the application set up

process_warm()
