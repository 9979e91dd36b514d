"""`manage.py import_articles`: idempotence, updates, bad files, output and exit code."""

import io
import shutil
import subprocess
import sys

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from articles.models import Article, Category, Comment, Redirect
from tests.helpers import ROOT, process_env

from .conftest import SEEDS, import_paths

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(
            Article.objects.order_by("pk").values_list(
                "pk", "title", "body", "source_hash", "updated_at"
            )
        ),
        list(Comment.objects.order_by("pk").values_list("pk", "body", "parent_id")),
        list(Category.objects.order_by("pk").values_list("pk", "name")),
        list(Redirect.objects.order_by("pk").values_list("old_path", "article_id")),
    )


def test_output_one_line_per_file_and_summary(seeds):
    lines = seeds.strip().splitlines()
    created = [line for line in lines if line.startswith("créé : ")]
    assert len(created) == 5
    assert "000_44d30dadf588b13b.txt → « Oubliez votre produit" in seeds
    assert "    avertissement : Image absente : ./asset-1.jpeg" in seeds
    assert (
        "    avertissement : La page annonce 27 commentaires ; 24 figurent dans le fichier."
        in seeds
    )
    assert lines[-1] == "5 fichiers : 5 créé(s), 0 mis à jour, 0 inchangé(s), 0 en échec."


def test_reimport_is_a_no_op(seeds):
    before = snapshot()
    output = import_paths(SEEDS)
    assert snapshot() == before
    assert output.count("inchangé : ") == 5
    assert (
        output.strip().splitlines()[-1]
        == "5 fichiers : 0 créé(s), 0 mis à jour, 5 inchangé(s), 0 en échec."
    )


def test_changed_file_updates_its_article_only(seeds, tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder, ignore=shutil.ignore_patterns("001_*"))
    import_paths(folder)  # the copies are other files: they are imported once more, as themselves
    assert Article.objects.filter(source_path__startswith=str(tmp_path.resolve())).count() == 4
    target = folder / "004_7ac66da6087d6e44.txt"
    article = Article.objects.get(source_path=str(target.resolve()))
    other_before = list(Article.objects.exclude(pk=article.pk).values_list("pk", "updated_at"))
    text = target.read_text(encoding="utf-8").replace(
        'title:  "Investissez dans ce qui Ne Peut Pas Etre Acheté"',
        'title:  "Investissez dans ce qui ne peut pas être acheté"',
    )
    target.write_text(text + "\nUn paragraphe ajouté.\n", encoding="utf-8")
    output = import_paths(folder)
    article.refresh_from_db()
    assert article.title == "Investissez dans ce qui ne peut pas être acheté"
    assert "Un paragraphe ajouté." in article.body_html
    assert f"mis à jour : {target}" in output
    assert output.count("inchangé : ") == 3
    assert (
        list(Article.objects.exclude(pk=article.pk).values_list("pk", "updated_at")) == other_before
    )
    assert (
        Article.objects.filter(title__startswith="Investissez").count() == 2
    )  # seed + copy, no duplicate


def test_changed_comments_are_updated_in_place(seeds, tmp_path):
    source = tmp_path / "page.txt"
    source.write_bytes((SEEDS / "003_961bea9e70fa6df5.txt").read_bytes())
    import_paths(source)
    article = Article.objects.get(source_path=str(source.resolve()))
    ids = list(article.comments.order_by("position").values_list("pk", flat=True))
    source.write_text(
        source.read_text(encoding="utf-8").replace(
            "Merci, ta réponse est encourageante.", "Merci beaucoup !"
        ),
        encoding="utf-8",
    )
    import_paths(source)
    assert list(article.comments.order_by("position").values_list("pk", flat=True)) == ids
    assert article.comments.get(position=3).body == "Merci beaucoup !"


BAD_FILES = {
    "latin1.txt": (
        "---\ntitle: Été\n---\nUn texte enregistré en Latin-1.\n".encode("latin-1"),
        "n’est pas encodé en UTF-8",
    ),
    "vide.txt": (b"", "Le fichier est vide."),
    "blancs.txt": (b"  \n\n \t\n", "Le fichier est vide."),
    "image.png": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)),
        "binaire",
    ),
    "yaml.txt": (
        b'---\ntitle: "Titre\ndate: [2019\n---\nTexte.\n',
        "L’en-tête YAML est invalide",
    ),
    "sans-fin.txt": (b"---\ntitle: Jamais ferm\xc3\xa9\nTexte.\n", "ne se termine jamais"),
    "liste.txt": (b"---\n- a\n- b\n---\nTexte.\n", "clé: valeur"),
    "date.txt": (b"---\ntitle: Un titre\ndate: le 3 mars\n---\nTexte.\n", "Date illisible"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_gives_a_clear_french_message_and_changes_nothing(seeds, tmp_path, name):
    content, message = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_bytes(content)
    before = snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_articles", str(bad), str(SEEDS), stdout=out)
    assert snapshot() == before
    output = out.getvalue()
    line = next(line for line in output.splitlines() if line.startswith("échec : "))
    assert str(bad) in line and message in line
    assert output.count("inchangé : ") == 5  # the good files are still processed
    assert (
        output.strip().splitlines()[-1]
        == "6 fichiers : 0 créé(s), 0 mis à jour, 5 inchangé(s), 1 en échec."
    )
    assert str(raised.value) == "1 fichier n’a pas pu être importé."
    assert raised.value.returncode == 1


def test_bad_file_among_new_files_does_not_stop_the_others(db, tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: Premier\n---\nTexte un.\n", encoding="utf-8")
    (tmp_path / "b.md").write_bytes(b"\xff\xfe\x00b\x00a\x00d")
    (tmp_path / "c.md").write_text("# Troisième\n\nTexte trois.\n", encoding="utf-8")
    with pytest.raises(CommandError):
        import_paths(tmp_path)
    assert sorted(Article.objects.values_list("title", flat=True)) == ["Premier", "Troisième"]


def test_a_failure_while_saving_leaves_no_half_imported_article(db, tmp_path):
    from django.db import connection

    source = tmp_path / "a.md"
    source.write_text("---\ntitle: Premier\ncategories: [A, B]\n---\nTexte.\n", encoding="utf-8")
    links = Article.categories.through._meta.db_table

    def disk_full_at_the_categories(execute, sql, params, many, context):
        # After the article and its categories are written: the last writes fail.
        if sql.startswith("INSERT") and links in sql:
            raise RuntimeError("disque plein")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(disk_full_at_the_categories), pytest.raises(CommandError):
        import_paths(source)
    assert Article.objects.count() == 0 and Category.objects.count() == 0


def test_same_permalink_from_another_file_is_refused(seeds, tmp_path):
    copy = tmp_path / "copie.txt"
    copy.write_bytes((SEEDS / "001_6f7212861875f0ca.txt").read_bytes())
    before = snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_articles", str(copy), stdout=out)
    assert (
        "L’adresse /ce-serait-bien-si est déjà celle de « Ce serait vraiment bien si... »"
        in out.getvalue()
    )
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_command_exit_code_and_streams_from_a_real_process(tmp_path):
    good = tmp_path / "bon.md"
    good.write_text("---\ntitle: Bon\n---\nTexte.\n", encoding="utf-8")
    bad = tmp_path / "mauvais.md"
    bad.write_bytes(b"")
    env = process_env()
    ok = subprocess.run(
        [sys.executable, "manage.py", "import_articles", str(good)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"créé : {good} → « Bon »" in ok.stdout
    failed = subprocess.run(
        [sys.executable, "manage.py", "import_articles", str(good), str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert f"échec : {bad} — Le fichier est vide." in failed.stdout
    assert "1 fichier n’a pas pu être importé." in failed.stderr
    missing = subprocess.run(
        [sys.executable, "manage.py", "import_articles", str(tmp_path / "absent")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "chemin introuvable" in missing.stdout


def test_progress_bar_when_many_files(db, tmp_path, capsys):
    for number in range(25):
        (tmp_path / f"{number:03}.md").write_text(
            f"---\ntitle: Article {number}\n---\nTexte {number}.\n", encoding="utf-8"
        )
    output = import_paths(tmp_path)
    assert output.count("créé : ") == 25
    assert "25 fichiers : 25 créé(s)" in output
    assert "/25" in capsys.readouterr().err  # tqdm draws its bar on stderr


def test_bootstrap_imports_seeds_and_is_quiet_when_nothing_changed(db):
    config = apps.get_app_config("articles")
    first = io.StringIO()
    config.bootstrap(stdout=first)
    assert Article.objects.count() == 5
    assert first.getvalue().count("créé : ") == 5
    second = io.StringIO()
    config.bootstrap(stdout=second)
    assert second.getvalue() == ""
    assert Article.objects.count() == 5


def test_front_matter_variants(db, tmp_path):
    (tmp_path / "a.md").write_text(
        "---\ntitle: Brouillon\nstatus: draft\ncategories:\n  - Un\n  -\n  - Deux\n"
        "redirect_from: /ancienne\nauteur_original: Quelqu’un\ntags: [x, y]\n---\nTexte.\n",
        encoding="utf-8",
    )
    (tmp_path / "b.md").write_text(
        "---\ntitle: Caché\npublished: false\ndate: 2020-02-03\n---\nTexte.\n", encoding="utf-8"
    )
    import_paths(tmp_path)
    draft = Article.objects.get(title="Brouillon")
    assert draft.status == "draft" and not draft.is_live
    assert sorted(draft.categories.values_list("name", flat=True)) == [
        "Deux",
        "Un",
    ]  # blank entry dropped
    assert draft.extra == {"auteur_original": "Quelqu’un", "tags": ["x", "y"]}
    assert Redirect.objects.get(old_path="/ancienne").article == draft
    hidden = Article.objects.get(title="Caché")
    assert hidden.status == "draft"
    assert timezone.localtime(hidden.published_at).isoformat() == "2020-02-03T00:00:00+01:00"


def test_title_from_heading_and_long_first_line(db, tmp_path):
    (tmp_path / "a.md").write_text("# Un titre en **titre**\n\nLe texte.\n", encoding="utf-8")
    long_line = "Mot " * 60
    (tmp_path / "b.md").write_text(long_line + "\n\nSuite.\n", encoding="utf-8")
    import_paths(tmp_path)
    assert Article.objects.filter(title="Un titre en titre").exists()
    derived = Article.objects.exclude(title="Un titre en titre").get()
    assert len(derived.title) <= 120 and derived.title.endswith("Mot…")


def test_invitation_links_in_markdown_point_to_our_pages(db, tmp_path):
    (tmp_path / "a.md").write_text(
        "---\ntitle: Liens\n---\n"
        "Recevez [l’atelier « Comment lire dans les pensées de ses clients »](https://ancien.example/atelier).\n\n"
        "Pour les entretiens, inscrivez-vous juste ici.\n\n"
        "Un [autre lien](https://exemple.org/) reste tel quel.\n",
        encoding="utf-8",
    )
    import_paths(tmp_path)
    article = Article.objects.get()
    assert "](/atelier/)" in article.body and "ancien.example" not in article.body
    assert "inscrivez-vous juste [ici](/entretiens/)" in article.body
    assert '<a href="https://exemple.org/"' in article.body_html


def test_windows_line_endings_and_byte_order_mark(db, tmp_path):
    (tmp_path / "a.md").write_bytes(
        "\ufeff---\r\ntitle: Fin de ligne Windows\r\ncategories: Une\r\n---\r\nTexte\r\n\r\n- point\r\n".encode()
    )
    import_paths(tmp_path)
    article = Article.objects.get()
    assert article.title == "Fin de ligne Windows"
    assert "\r" not in article.body and "<li>point</li>" in article.body_html
    assert list(article.categories.values_list("name", flat=True)) == ["Une"]
