"""Pre-send checks: one service, the `mailing_check` command, and what blocks scheduling."""

import io
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from articles.models import Article
from mailings import checks, services
from mailings.checks import mailing_check
from signups.models import MailingList
from tests.conftest import require
from tests.mailings.factories import MailingFactory, subscribers

pytestmark = pytest.mark.django_db

SEEDS = Path(settings.BASE_DIR) / "seeds" / "articles"


def run_check(mailing_id: int) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("mailing_check", str(mailing_id), stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture(autouse=True)
def _lists():
    """The starting lists: mailings link to their pages (« /atelier/ »)."""
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())


@pytest.fixture
def seed_000(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("import_articles", str(SEEDS / "000_44d30dadf588b13b.txt"), stdout=io.StringIO())
    return Article.objects.get()


def test_the_seed_article_whose_images_are_missing_is_blocked(seed_000):
    mailing = services.mailing_create_from_article(article=seed_000)
    mailing.lists.set([subscribers(2, MailingList.objects.get(slug="newsletter"))[0].mailing_list])
    code, out = run_check(mailing.pk)
    assert code == 1
    assert "Bloquant" in out
    for name in ("asset-1.jpeg", "asset-2.jpeg", "asset-3.jpeg"):
        assert f"Image introuvable : ./{name}" in out
    # What readers would get instead: the caption, never a broken image.
    html, text = services.message_preview(
        message=mailing, contact=mailing.audience().first().contact
    )
    assert "<img" not in html and "./asset-1.jpeg" not in html + text
    assert '<span class="image-missing"' in html and "1001Startups" in html


def test_images_that_exist_are_absolute_media_urls_and_the_check_passes(seed_000, settings):
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True)
    for name in ("asset-1.jpeg", "asset-2.jpeg", "asset-3.jpeg"):
        (media / name).write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    mailing = services.mailing_create_from_article(article=seed_000)
    mailing.lists.set([subscribers(1, MailingList.objects.get(slug="newsletter"))[0].mailing_list])
    html, text = services.message_preview(
        message=mailing, contact=mailing.audience().first().contact
    )
    assert 'src="https://pouls.example/media/asset-1.jpeg"' in html
    assert "(https://pouls.example/media/asset-2.jpeg)" in text
    report = mailing_check(mailing=mailing)
    assert report.ok, report.blocking
    assert not any("Image" in w for w in report.warnings)  # each has its caption as alt


def test_relative_links_become_absolute_and_a_dead_link_to_the_site_blocks():
    subs = subscribers(1)
    mailing = MailingFactory(
        lists=[subs[0].mailing_list],
        body="Voir [l’atelier](./atelier/), [le plan](#plan) et [rien](/pas-de-page-ici/).",
    )
    html, _text = services.message_preview(message=mailing, contact=subs[0].contact)
    assert 'href="https://pouls.example/atelier/"' in html
    assert 'href="https://pouls.example/#plan"' in html
    assert 'href="./' not in html and 'href="#' not in html
    report = mailing_check(mailing=mailing)
    assert report.blocking == [
        "Lien vers le site qui répond « page introuvable » (404) : "
        "https://pouls.example/pas-de-page-ici/."
    ]


def test_empty_audience_and_the_placeholder_address_in_production_block(settings):
    mailing = MailingFactory(body="Un texte.")
    settings.PRODUCTION = True
    settings.MAIL_POSTAL_ADDRESS = settings.MAIL_POSTAL_ADDRESS_PLACEHOLDER
    report = mailing_check(mailing=mailing)
    assert any("audience est vide" in item for item in report.blocking)
    assert any("MAIL_POSTAL_ADDRESS" in item for item in report.blocking)
    settings.PRODUCTION = False
    assert not any("MAIL_POSTAL_ADDRESS" in i for i in mailing_check(mailing=mailing).blocking)


def test_a_message_without_unsubscribe_link_is_blocked(monkeypatch):
    mailing = MailingFactory(lists=[subscribers(1)[0].mailing_list])
    real = checks.rendering.render_message

    def without_footer(message, language=""):
        rendered = real(message, language)
        rendered.html = rendered.html.replace("@@UNSUB@@", "https://pouls.example/")
        return rendered

    monkeypatch.setattr(checks.rendering, "render_message", without_footer)
    report = mailing_check(mailing=mailing)
    assert report.blocking == ["Le message n’a pas de lien de désinscription."]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            "Écoutez vos clients avant de construire votre produit, même si vous êtes pressé·e",
            "caractères",
        ),
        ("OFFRE SPÉCIALE POUR VOUS", "capitales"),
        ("🚀🔥💡", "ni lettre ni chiffre"),
    ],
)
def test_subject_warnings(subject, expected):
    mailing = MailingFactory(subject=subject, lists=[subscribers(1)[0].mailing_list])
    report = mailing_check(mailing=mailing)
    assert report.ok
    assert any(expected in warning for warning in report.warnings), report.warnings


def test_size_preheader_and_alt_text_warnings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    long_body = "![](photo.png)\n\n" + "\n\n".join(
        ["Un paragraphe de texte assez long. " * 20] * 200
    )
    mailing = MailingFactory(preheader="", body=long_body, lists=[subscribers(1)[0].mailing_list])
    report = mailing_check(mailing=mailing)
    assert report.ok
    text = "\n".join(report.warnings)
    assert "Gmail coupe au-delà de 102 Ko" in text
    assert "Pas de texte d’aperçu" in text
    assert "L’image photo.png n’a pas de texte alternatif." in text


class _Site(BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(404 if "disparu" in self.path else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_external_links_are_asked_only_when_enabled(settings):
    server = HTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        mailing = MailingFactory(
            body=f"[ok]({base}/article) et [mort]({base}/disparu)",
            lists=[subscribers(1)[0].mailing_list],
        )
        offline = mailing_check(mailing=mailing)
        assert "2 liens externes non vérifiés (MAIL_CHECK_LINKS désactivé)." in offline.notes
        settings.MAIL_CHECK_LINKS = True
        report = mailing_check(mailing=mailing)
        assert report.ok  # a dead external link warns, it does not block
        assert report.warnings == [f"Le lien {base}/disparu ne répond pas (404)."]
    finally:
        server.shutdown()


def test_a_clean_mailing_passes_and_the_command_exits_0():
    mailing = MailingFactory(lists=[subscribers(3)[0].mailing_list])
    code, out = run_check(mailing.pk)
    assert code == 0, out
    assert "Aucun problème trouvé." in out


def test_spamassassin_score_parsing():
    output = (
        "X-Spam-Checker-Version: SpamAssassin 4.0.1\n"
        "X-Spam-Status: No, score=1.3 required=5.0 tests=HTML_MESSAGE,\n\tMIME_HTML_ONLY\n"
    )
    assert float(checks._SPAM_SCORE.search(output).group(1)) == 1.3


def test_the_real_spamassassin_scores_a_rendered_mailing_offline(monkeypatch):
    """spamassassin itself (Debian's package; CI installs it), local tests only."""
    require(shutil.which("spamassassin") is not None, "spamassassin is not installed")
    calls = []
    real_run = subprocess.run

    def run(args, **kwargs):
        calls.append((args, kwargs))
        return real_run(args, **kwargs)

    monkeypatch.setattr(checks.subprocess, "run", run)
    mailing = MailingFactory(lists=[subscribers(3)[0].mailing_list])
    report = mailing_check(mailing=mailing)
    [(args, kwargs)] = calls
    assert args[1:] == ["-t", "-L"]  # -L: no DNS block lists, no network
    assert 0 < kwargs["timeout"] <= 20
    message = kwargs["input"].decode()
    assert "Subject: " in message and "List-Unsubscribe:" in message  # the rendered mailing
    [note] = [n for n in report.notes if n.startswith("Score SpamAssassin")]
    score = float(note.removeprefix("Score SpamAssassin : ").rstrip("."))
    assert -20 < score < checks.SPAM_THRESHOLD, note
    code, out = run_check(mailing.pk)
    assert code == 0 and f"Score SpamAssassin : {score}" in out


def test_a_spamassassin_that_hangs_is_given_up(tmp_path, monkeypatch):
    slow = tmp_path / "spamassassin"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(checks, "SPAM_TIMEOUT", 0.5)
    mailing = MailingFactory(lists=[subscribers(1)[0].mailing_list])
    started = time.monotonic()
    report = mailing_check(mailing=mailing)
    assert time.monotonic() - started < 10
    assert any("n’a pas répondu à temps" in note for note in report.notes)
