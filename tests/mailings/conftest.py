import pytest


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://pouls.example"
    settings.DEFAULT_FROM_EMAIL = "Pouls <bonjour@pouls.example>"
    settings.MAIL_POSTAL_ADDRESS = "Pouls, 12 rue des Lecteurs, 75011 Paris"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
