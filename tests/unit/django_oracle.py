"""Django 4.1 and DRF 3.14, the legacy's versions, set up once for the oracle tests
(tests/unit/test_*_oracle.py): a test dependency, never imported by samsyn itself."""
from __future__ import annotations

import django
from django.conf import settings


def configure() -> None:
    """The same settings for every oracle module, whichever pytest imports first."""
    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                            "rest_framework"],
            USE_I18N=True, LANGUAGE_CODE="en-us", USE_TZ=True)
        django.setup()
