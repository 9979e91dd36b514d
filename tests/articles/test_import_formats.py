"""WordPress, Ghost, Medium and Substack exports, as the platforms write them."""

import datetime as dt
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from articles.importing import import_run
from articles.models import Article, Comment, CommentStatus, Redirect, Status

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures" / "import"


def run(*paths, expect_failures=0, **options) -> str:
    out = io.StringIO()
    if expect_failures:
        with pytest.raises(CommandError) as raised:
            call_command("import_articles", *map(str, paths), stdout=out, **options)
        assert raised.value.returncode == 1
    else:
        call_command("import_articles", *map(str, paths), stdout=out, **options)
    return out.getvalue()


def zip_folder(folder: Path, target: Path, *, inside: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in folder.rglob("*"):
            if path.is_file():
                archive.write(path, f"{inside}{path.relative_to(folder).as_posix()}")
    return target


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- WordPress ---------------------------------------------------------------------


def test_wxr_posts_pages_drafts_and_what_is_left_out(media):
    out = run(FIXTURES / "wordpress")
    assert "4 fichiers : 4 créé(s), 0 mis à jour, 0 inchangé(s), 0 en échec." in out
    assert "Éléments WordPress non importés : attachment (2), nav_menu_item (1)." in out
    post = Article.objects.get(source_path="wxr:https://blog.exemple-wp.fr/?p=12")
    assert post.title == "Écouter ses clients\xa0: la méthode"
    assert post.slug == "ecouter-ses-clients"  # wp:post_name
    assert post.status == Status.PUBLISHED and post.is_live
    assert post.published_at == dt.datetime(2015, 3, 12, 9, 20, tzinfo=dt.UTC)
    assert post.author == "Selma D."  # display name, never the address
    assert post.description == "La méthode pour écouter vos clients."
    assert sorted(post.categories.values_list("name", "hidden")) == [
        ("Marketing", False),
        ("Uncategorized", True),
    ]
    assert post.extra["tags"] == ["clients"]
    assert Article.objects.get(title="Un brouillon jamais publié").status == Status.DRAFT
    private = Article.objects.get(title="Réservé à l’équipe")
    assert private.status == Status.DRAFT and not private.is_live
    page = Article.objects.get(title="À propos")
    assert page.extra["wordpress"]["type"] == "page" and page.is_live
    assert "javascript" not in page.body_html


def test_wxr_old_urls_redirect(client, media):
    run(FIXTURES / "wordpress")
    post = Article.objects.get(slug="ecouter-ses-clients")
    assert Redirect.objects.get(old_path="/2015/03/12/ecouter-ses-clients").article == post
    response = client.get("/2015/03/12/ecouter-ses-clients/")
    assert response.status_code == 301 and response["Location"] == post.get_absolute_url()
    assert client.get("/a-propos/").status_code == 301
    # A private post's old address leads nowhere.
    assert client.get("/2016/01/04/reserve/").status_code == 404


def test_wxr_comments_threaded_with_approval_and_no_address(client, media):
    run(FIXTURES / "wordpress")
    post = Article.objects.get(slug="ecouter-ses-clients")
    comments = list(post.comments.order_by("position"))
    assert [(c.author, c.status) for c in comments] == [
        ("Evelyne", CommentStatus.APPROVED),
        ("Selma D.", CommentStatus.APPROVED),
        ("Evelyne", CommentStatus.APPROVED),
        ("Paul", CommentStatus.PENDING),
    ]  # spam and the pingback are left out
    first, reply, reply_to_reply, pending = comments
    assert reply.parent == first and reply_to_reply.parent == reply
    assert first.body == "Merci, très utile !"  # markup removed, text kept
    assert first.created_at == dt.datetime(2015, 3, 13, 7, 0, tzinfo=dt.UTC)
    page = client.get(post.get_absolute_url()).content.decode()
    assert "Et pour les services\u202f?" in page
    assert "Commentaire en attente" not in page
    assert "exemple-lecteurs.fr" not in page and "203.0.113.7" not in page
    assert not Comment.objects.filter(author__contains="@").exists()


def test_wxr_shortcodes_and_attachments_beside_the_export(media):
    out = run(FIXTURES / "wordpress")
    post = Article.objects.get(slug="ecouter-ses-clients")
    html = post.body_html
    assert '<figure class="wp-caption">' in html
    assert '<img src="/media/imports/wordpress/2015/03/tableau.png"' in html
    assert "<figcaption>Le tableau des hypothèses</figcaption>" in html
    assert '<figure class="gallery">' in html
    assert 'src="/media/imports/wordpress/2015/03/atelier.png"' in html
    assert (media / "imports/wordpress/2015/03/tableau.png").is_file()
    assert "[caption" not in html and "[gallery" not in html and "contact-form" not in html
    assert 'href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"' in html
    assert "<pre>def ecouter():\n\n    return" in html  # the blank line in code is kept
    assert "avertissement : Codes courts retirés (leur texte est gardé) : [contact-form-7]." in out
    assert "Galerie : 1 image(s) sur 3 introuvable(s)" in out


def test_wxr_reimport_is_idempotent_and_updates_what_changed(media, tmp_path):
    folder = tmp_path / "wp"
    shutil.copytree(FIXTURES / "wordpress", folder)
    run(folder)
    again = run(folder)
    assert "0 créé(s), 0 mis à jour, 4 inchangé(s), 0 en échec." in again
    export = folder / "blog.wordpress.2024-05-01.xml"
    export.write_text(
        export.read_text().replace("Pas encore prêt.", "Maintenant prêt."), encoding="utf-8"
    )
    changed = run(folder)
    assert "0 créé(s), 1 mis à jour, 3 inchangé(s), 0 en échec." in changed
    assert "Maintenant prêt." in Article.objects.get(title="Un brouillon jamais publié").body
    assert Comment.objects.count() == 4


MALFORMED = {
    "tronque.xml": (
        b'<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
        b"<item><title>Un</title><wp:post_type>post</wp:post_type></item><item><title>Deux",
        "mal formé",
    ),
    "xxe.xml": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&xxe;</title>'
        b"</item></channel></rss>",
        "DTD",
    ),
    "milliard.xml": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&lol3;</title>'
        b"</item></channel></rss>",
        "DTD",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_or_hostile_xml_is_refused_with_a_clear_message(tmp_path, name):
    content, message = MALFORMED[name]
    (tmp_path / name).write_bytes(content)
    (tmp_path / "bon.md").write_text("---\ntitle: Bon\ndate: 2020-01-01\n---\nTexte.\n", "utf-8")
    out = run(tmp_path, expect_failures=1)
    line = next(line for line in out.splitlines() if line.startswith("échec : "))
    assert name in line and message in line
    assert "root:" not in out and "lollol" not in out
    assert list(Article.objects.values_list("title", flat=True)) == ["Bon"]  # the rest goes on


# --- Ghost ------------------------------------------------------------------------


def test_ghost_export_lexical_mobiledoc_and_html(client):
    out = run(FIXTURES / "ghost", expect_failures=1)
    assert (
        "échec : selma.ghost.2024-05-01-08-00-00.json › sans-titre — Article Ghost sans titre"
        in out
    )
    lexical = Article.objects.get(slug="ecrire-avec-lexical")
    assert lexical.author == "Selma Dupont, Marc Leblanc"
    assert lexical.description == "Ce que Lexical change."
    assert list(lexical.categories.values_list("name", flat=True)) == [
        "Stratégie"
    ]  # not #newsletter
    assert (
        "<strong>Ghost 5</strong>" in lexical.body_html
        and "<h2>Une section</h2>" in lexical.body_html
    )
    assert "<figcaption><span>Le schéma complet</span></figcaption>" in lexical.body_html
    assert "<script" not in lexical.body_html and "Bloc HTML" in lexical.body_html
    mobiledoc = Article.objects.get(slug="ancien-billet")
    assert '<a href="https://exemple.fr/" rel="noopener">un lien</a>' in mobiledoc.body_html
    assert "<strong>Markdown</strong>" in mobiledoc.body_html
    assert mobiledoc.canonical_link == "https://medium.com/@selma/ancien-billet-123"
    html = Article.objects.get(slug="billet-html")
    assert html.canonical_link == "" and "onerror" not in html.body_html
    assert Article.objects.get(slug="membres").status == Status.DRAFT  # paid members only
    assert Article.objects.get(slug="brouillon-ghost").status == Status.DRAFT


# --- Medium and Substack, as zips -------------------------------------------------


def test_medium_zip_published_only_canonical_kept_chrome_removed(tmp_path):
    archive = zip_folder(
        FIXTURES / "medium", tmp_path / "medium-export.zip", inside="medium-export/"
    )
    out = run(archive)
    assert "1 brouillon(s) Medium non importé(s)" in out
    article = Article.objects.get()
    assert article.title == "Ce que mes clients m’ont appris"
    assert article.canonical_link == (
        "https://medium.com/@selma/ce-que-mes-clients-m-ont-appris-3a4b5c6d7e8f"
    )
    assert article.description == "Trois leçons tirées de cent entretiens"
    assert article.author == "Selma Dupont"
    assert article.published_at.date() == dt.date(2016, 4, 2)
    html = article.body_html
    assert "graf--title" not in html and "<h3" not in html and "section-divider" not in html
    assert html.count("Ce que mes clients") == 0  # the title is not repeated in the text
    assert "<figcaption>Mon carnet d’entretiens</figcaption>" in html
    assert 'src="https://cdn-images-1.medium.com/max/800/1*AbCdEf.png"' in html
    assert "<hr" not in html


def test_substack_zip_posts_and_their_texts(tmp_path, client):
    archive = zip_folder(FIXTURES / "substack", tmp_path / "export-substack.zip")
    out = run(archive, expect_failures=1)
    assert "échec : posts/139000004.fichier-absent.html — Le fichier du texte" in out
    first = Article.objects.get(slug="premier-numero")
    assert first.is_live and first.description == "Pourquoi cette lettre"
    assert "Subscribe now" not in first.body_html
    assert "<figcaption>Le plan du trimestre</figcaption>" in first.body_html
    assert client.get("/p/premier-numero").status_code == 301
    assert Article.objects.get(slug="reserve-aux-payants").status == Status.DRAFT
    assert Article.objects.get(slug="brouillon").status == Status.DRAFT
    again = run(archive, expect_failures=1)
    assert "0 créé(s), 0 mis à jour, 3 inchangé(s), 1 en échec." in again


# --- archives that must be refused -------------------------------------------------


def test_zip_with_parent_paths_is_refused_whole(tmp_path):
    archive = tmp_path / "piege.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("posts/ok.md", "---\ntitle: OK\n---\nTexte.\n")
        z.writestr("../../evil.md", "---\ntitle: Évadé\n---\nTexte.\n")
    out = run(archive, expect_failures=1)
    assert "Archive refusée" in out and "../../evil.md" in out
    assert not Article.objects.exists()
    assert not (tmp_path.parent / "evil.md").exists()


def test_zip_bomb_is_refused(tmp_path, settings):
    archive = tmp_path / "bombe.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("posts/gros.md", b"0" * (20 * 1024 * 1024))  # 20 MB of zeros, ~20 KB packed
    out = run(archive, expect_failures=1)
    assert "bombe de décompression" in out
    settings.IMPORT_MAX_RATIO = 10_000
    settings.IMPORT_MAX_UNPACKED_BYTES = 5 * 1024 * 1024
    out = run(archive, expect_failures=1)
    assert "au-delà de 5 Mo" in out


def test_not_a_zip_is_refused_clearly(tmp_path):
    (tmp_path / "faux.zip").write_bytes(b"PK\x03\x04 pas vraiment un zip")
    out = run(tmp_path / "faux.zip", expect_failures=1)
    assert "Archive illisible" in out


# --- the command's options ---------------------------------------------------------


def test_dry_run_reports_and_writes_nothing(media):
    out = run(FIXTURES / "wordpress", dry_run=True)
    assert "Essai à blanc, rien n’a été enregistré." in out
    assert "4 créé(s)" in out
    assert not Article.objects.exists() and not Comment.objects.exists()


def test_format_option_forces_the_reader(tmp_path):
    (tmp_path / "export.txt").write_bytes(
        (FIXTURES / "wordpress" / "blog.wordpress.2024-05-01.xml").read_bytes()
    )
    run(tmp_path / "export.txt", format="wxr")
    assert Article.objects.filter(slug="ecouter-ses-clients").exists()


def test_summary_counts_every_document(media):
    report = import_run(paths=[FIXTURES / "wordpress", FIXTURES / "ghost", FIXTURES / "substack"])
    counts = report.counts()
    assert counts == {"created": 12, "updated": 0, "unchanged": 0, "failed": 2}
    assert sum(counts.values()) == len(report.results)
