"""In English, the consent text is translated beside the French one that is accepted."""

from django.test import Client

from signups.models import Consent


def test_english_reader_reads_the_consent_in_english(lists):
    client = Client()
    client.cookies["django_language"] = "en"
    for path in ("/newsletter/", "/atelier/", "/"):
        html = client.get(path).content.decode()
        assert '<html lang="en">' in html
        assert "Translation: I agree to receive" in html, path
        # The French text, the one recorded as consent, is shown too and marked French.
        assert '<span lang="fr">J’accepte de recevoir' in html, path


def test_french_reader_sees_no_translation(lists):
    html = Client().get("/newsletter/").content.decode()
    assert "Translation:" not in html and '<span lang="fr">J’accepte de recevoir' in html
    assert not Consent.objects.exists()
