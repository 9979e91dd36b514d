import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import require
from tests.helpers import ROOT


@pytest.mark.django_db
def test_the_interface_is_french_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Aller au contenu" in html
    assert response["Content-Language"] == "fr"


@pytest.mark.django_db
def test_english_is_available(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html
    assert "Aller au contenu" not in html


def test_compiled_catalogues_are_committed_and_current(tmp_path):
    """A fresh machine needs no gettext: every .po has its .mo, and the .mo says the same."""
    catalogues = list(Path(ROOT, "locale").glob("*/LC_MESSAGES/django.po"))
    assert catalogues, "no translation catalogue"
    require(shutil.which("msgfmt") is not None, "needs gettext's msgfmt")
    for po in catalogues:
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run make messages"
        fresh = tmp_path / "fresh.mo"
        subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
        assert _catalog(mo) == _catalog(fresh), f"{mo} is older than {po}: run make messages"


def _catalog(path: Path) -> dict:
    with path.open("rb") as fh:
        return dict(gettext.GNUTranslations(fh)._catalog)
