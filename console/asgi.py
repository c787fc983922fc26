"""The ASGI application: Console's Messages API (`billing.messages_api`) on its own paths,
Django for everything else. Serve it with uvicorn (see the README)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from billing.messages_api.app import with_gateway  # noqa: E402

if settings.DEBUG:
    # What runserver does in development; in production WhiteNoise serves them.
    django_application = ASGIStaticFilesHandler(django_application)
application = with_gateway(django_application)
