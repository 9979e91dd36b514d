"""The editor writes an article in the admin and previews it, in a real browser."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from articles.models import Article

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_editor_previews_then_publishes_an_article(page, live_server):
    get_user_model().objects.create_superuser("editrice", "e@example.org", "mot-de-passe-solide")
    page.goto(live_server.url + "/admin/login/?next=/admin/articles/article/add/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()
    page.get_by_label("Titre").fill("Écouter avant de construire")
    page.get_by_label("Texte (Markdown)").fill(
        "## Une idée\n\nDemandez à **vos clients** ce qui les gêne."
    )
    with page.context.expect_page() as preview_tab:
        page.get_by_role("button", name="Aperçu de la page").click()
    preview = preview_tab.value
    preview.wait_for_load_state()
    assert preview.get_by_role("heading", level=1).inner_text() == "Écouter avant de construire"
    expect(preview.get_by_role("heading", name="Une idée")).to_be_visible()
    assert preview.locator(".prose strong").inner_text() == "vos clients"
    assert Article.objects.count() == 0  # the preview saved nothing
    preview.close()
    page.get_by_label("État").select_option("published")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("ajouté avec succès")
    article = Article.objects.get()
    assert article.slug == "ecouter-avant-de-construire"  # prepopulated from the title
    page.goto(live_server.url + article.get_absolute_url())
    assert page.get_by_role("heading", level=1).inner_text() == "Écouter avant de construire"
