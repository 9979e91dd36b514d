"""French typography: one function for pages and emails, checked on every public page."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from articles.models import Article, Category, Comment
from config.typography import NBSP, NNBSP, french_html, french_text
from signups import tokens
from signups.models import MailingList, Subscription
from tests.signups.conftest import link_in, path_of, signup

# An ordinary space (or line break) before ; : ! ? » or after «.
BAD_SPACE = re.compile(r"[ \t\r\n](?=[!?»]|[;:](?!-?[()DPp]))|«(?=[ \t\r\n])")
_SKIPPED = re.compile(r"<(script|style|textarea|pre|code)\b.*?</\1>", re.S | re.I)


def text_nodes(html: str) -> list[str]:
    """What a reader sees: the text between the tags of <title> and <body>."""
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    body = _SKIPPED.sub("", html[html.index("<body") :])
    return [title.group(1) if title else "", *re.split(r"<[^>]+>", body)]


def assert_french_spacing(html: str, where: str) -> None:
    for node in text_nodes(html):
        match = BAD_SPACE.search(node)
        assert not match, f"{where}: {node[max(0, match.start() - 40) : match.end() + 10]!r}"


def test_french_text_rules():
    assert (
        french_text("Vivre de sa passion? Ah non!") == f"Vivre de sa passion{NNBSP}? Ah non{NNBSP}!"
    )
    assert french_text("voici : une ribambelle ; oui") == f"voici{NBSP}: une ribambelle{NNBSP}; oui"
    assert french_text("« Bonjour »") == f"«{NBSP}Bonjour{NBSP}»"
    assert french_text("«Bonjour»") == f"«{NBSP}Bonjour{NBSP}»"
    # A name that carries its own guillemets gets no second pair.
    assert (
        french_text("recevoir « Atelier « Comment lire dans les pensées » ».")
        == f"recevoir Atelier «{NBSP}Comment lire dans les pensées{NBSP}»."
    )
    # Other nested guillemets become the inner quotes of French.
    assert french_text("il dit « lis « Le Petit Prince » d’abord »") == (
        f"il dit «{NBSP}lis “Le Petit Prince” d’abord{NBSP}»"
    )
    # Addresses, times, smileys, Markdown images and entities are left as they are.
    for untouched in ("https://x.fr/a?b=1", "à 10:30", ":-)", "![photo](x.png)", "a &amp; b"):
        assert french_text(untouched) == untouched
    assert french_text(french_text("Ah non !")) == french_text("Ah non !")  # idempotent


def test_french_html_follows_lang_and_leaves_code_alone():
    html = (
        '<p lang="en">Hello ! <b>x</b></p><p>Oui ! <code>a ?</code> « <a href="/x?y">lien</a> »</p>'
    )
    assert french_html(html, language="fr") == (
        f'<p lang="en">Hello ! <b>x</b></p><p>Oui{NNBSP}! <code>a ?</code> «{NBSP}'
        f'<a href="/x?y">lien</a>{NBSP}»</p>'
    )
    assert french_html('<p>Hi ! <span lang="fr">Oui !</span></p>', language="en") == (
        f'<p>Hi ! <span lang="fr">Oui{NNBSP}!</span></p>'
    )


def test_template_filter_escapes_plain_text():
    from django.template import engines

    template = engines["django"].from_string("{{ value|typographie }}")
    with translation.override("fr"):
        assert template.render({"value": "<b> ?"}) == f"&lt;b&gt;{NNBSP}?"
    with translation.override("en"):
        assert template.render({"value": "<b> ?"}) == "&lt;b&gt; ?"  # English is left alone


def _public_pages(client, django_capture_on_commit_callbacks, lists) -> dict[str, str]:
    pages = {"/": "", "/articles/": "", "/articles/?q=client": "", "/page-inexistante/": ""}
    for article in Article.objects.published():
        pages[article.get_absolute_url()] = ""
    for category in Category.objects.all():
        pages[category.get_absolute_url()] = ""
    for slug in ("newsletter", "atelier", "entretiens"):
        pages[f"/{slug}/"] = ""
        pages[reverse("signups:thanks", args=[slug])] = ""
    # A signup: its confirm page, confirmed page, unsubscribe page and unsubscribed page.
    mail.outbox.clear()
    signup(Client(), lists["atelier"], django_capture_on_commit_callbacks)
    confirm = path_of(link_in(mail.outbox[-1]))
    pages[confirm] = ""
    pages[confirm + "#post"] = "post"
    subscription = Subscription.objects.get(mailing_list=lists["atelier"])
    unsubscribe = reverse(
        "signups:unsubscribe", args=[tokens.make_token("unsubscribe", subscription.pk)]
    )
    pages[unsubscribe] = ""
    pages[unsubscribe + "#post"] = "post"
    return pages


def test_every_public_page_has_french_spacing(seeds, django_capture_on_commit_callbacks):
    lists = {ml.slug: ml for ml in MailingList.objects.all()}
    client = Client()
    for path, method in _public_pages(client, django_capture_on_commit_callbacks, lists).items():
        url = path.split("#")[0]
        response = client.post(url) if method == "post" else client.get(url)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert_french_spacing(response.content.decode(), path)


def test_comment_pages_and_email_have_french_spacing(seeds, django_capture_on_commit_callbacks):
    article = Article.objects.get(source_path__endswith="003_961bea9e70fa6df5.txt")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("articles:comment_post", args=[article.slug]),
            {"name": "Awa", "email": "awa@example.org", "body": "Vraiment ? Oui !"},
        )
    (message,) = mail.outbox
    assert not BAD_SPACE.search(message.subject) and not BAD_SPACE.search(message.body)
    assert_french_spacing(message.alternatives[0][0], "email")
    path = path_of(re.search(r"https?://\S+/commentaires/confirmer/\S+/", message.body).group(0))
    assert_french_spacing(client.get(path).content.decode(), "comment confirm")
    assert_french_spacing(client.post(path).content.decode(), "comment confirmed")
    assert Comment.objects.get(commenter__email="awa@example.org").status == "pending"


def test_imported_straight_punctuation_is_spaced_on_the_page(seeds, client):
    article = Article.objects.get(source_path__endswith="003_961bea9e70fa6df5.txt")
    html = client.get(article.get_absolute_url()).content.decode()
    assert f"<h1>Vivre de sa passion{NNBSP}? Ah non{NNBSP}!</h1>" in html
    assert f"{NBSP}: une ribambelle" in html


@pytest.mark.parametrize("language", ["en"])
def test_english_interface_keeps_english_spacing(seeds, client, language):
    client.cookies["django_language"] = language
    article = Article.objects.get(source_path__endswith="003_961bea9e70fa6df5.txt")
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<html lang="en">' in html
    # The article is French, marked so, and spaced the French way inside the English page.
    assert re.search(r'<article class="article" lang="fr">', html)
    assert f"Vivre de sa passion{NNBSP}? Ah non{NNBSP}!" in html
    assert "Articles, comments and the workshop lessons are written in French." in html
    # The language menu names each language in itself.
    assert '<option value="en" lang="en" selected>English</option>' in html
    assert '<option value="fr" lang="fr">Français</option>' in html
    # Comments are French text too.
    assert re.search(r'<li class="comment[^"]*" id="commentaire-\d+">\s*<article lang="fr">', html)


def test_french_interface_has_no_language_note(seeds, client):
    html = client.get("/").content.decode()
    assert '<html lang="fr">' in html and "sont écrits en français" not in html
    assert '<option value="fr" lang="fr" selected>Français</option>' in html
