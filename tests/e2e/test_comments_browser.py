"""A reader comments, confirms their address, the editor approves, a reply is threaded:
in a real browser against the live server."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from articles.models import Article, Comment, CommentStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _confirm_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/commentaires/confirmer/\S+/)", message.body).group(1)


def test_comment_confirm_moderate_and_reply(page, live_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("import_articles", str(settings.BASE_DIR / "seeds" / "articles"), verbosity=0)
    article = Article.objects.get(source_path__endswith="001_6f7212861875f0ca.txt")
    mail.outbox.clear()

    # The reader writes a comment; a mistake first, shown next to its field.
    page.goto(live_server.url + article.get_absolute_url())
    form = page.locator("#commenter")
    form.get_by_label("Votre nom").fill("Awa")
    form.get_by_label("Adresse e-mail (jamais affichée)").fill("awa@example")
    form.get_by_label("Votre commentaire").fill("Votre liste m’a fait penser à mes clientes.")
    form.get_by_role("button", name="Envoyer mon commentaire").click()
    assert (
        "Cette adresse e-mail n’est pas valide"
        in page.locator("#id_comment_email_errors").inner_text()
    )
    page.locator("#commenter").get_by_label("Adresse e-mail (jamais affichée)").fill(
        "awa@example.org"
    )
    page.locator("#commenter").get_by_role("button", name="Envoyer mon commentaire").click()
    expect(page.locator(".messages")).to_contain_text("awa@example.org")
    comment = Comment.objects.get(commenter__email="awa@example.org")
    assert comment.status == CommentStatus.UNCONFIRMED

    # The emailed link opens a page with one button.
    (message,) = mail.outbox
    page.goto(live_server.url + _confirm_path(message))
    page.get_by_role("button", name="Je confirme mon adresse").click()
    expect(page.get_by_role("heading", name="Adresse confirmée")).to_be_visible()
    comment.refresh_from_db()
    assert comment.status == CommentStatus.PENDING

    # The editor approves it in the admin, then answers it from the list.
    get_user_model().objects.create_superuser("editrice", "e@example.org", "mot-de-passe-solide")
    page.goto(live_server.url + "/admin/login/?next=/admin/articles/comment/?status__exact=pending")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()
    page.locator(f'input[name="_selected_action"][value="{comment.pk}"]').check()
    page.locator('select[name="action"]').select_option("approve")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator(".messagelist")).to_contain_text("1 commentaire approuvé")
    comment.refresh_from_db()
    assert comment.status == CommentStatus.APPROVED

    page.goto(live_server.url + "/admin/articles/comment/")
    page.locator(f'tr:has(input[value="{comment.pk}"])').get_by_role(
        "link", name="Répondre"
    ).click()
    page.get_by_label("Commentaire").fill("Merci Awa, écrivez-moi quand vous voulez.")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".messagelist")).to_be_visible()
    reply = Comment.objects.get(parent=comment)
    assert reply.is_author

    # Readers see the comment, dated, and the author's reply under it.
    context = page.context.browser.new_context(locale="fr-FR")
    reader = context.new_page()
    reader.goto(live_server.url + article.get_absolute_url())
    shown = reader.locator(f"#commentaire-{comment.pk}")
    assert (
        "Votre liste m’a fait penser à mes clientes."
        in shown.locator(".comment-body").first.inner_text()
    )
    expect(shown.locator("time").first).to_be_visible()
    answer = shown.locator(f".comment-replies #commentaire-{reply.pk}")
    assert "Merci Awa" in answer.inner_text()
    assert "auteur de l’article" in answer.inner_text()
    assert "awa@example.org" not in reader.content()
    # The reader answers the author's reply: a third level.
    answer.get_by_role("link", name="Répondre").click()
    expect(reader.get_by_role("heading", name=re.compile("Répondre à"))).to_be_visible()
    context.close()
