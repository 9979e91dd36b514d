import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_loads_in_french_with_navigation(page, live_server):
    response = page.goto(live_server.url + "/")
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "fr"
    nav = page.get_by_role("navigation", name="Navigation principale")
    for label in ("Articles", "Atelier", "Entretiens", "Newsletter"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    # The stylesheet is served (whitenoise/staticfiles), not a 404.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(253, 252, 249)"


def test_admin_login_works(page, live_server):
    get_user_model().objects.create_superuser("editrice", "e@example.org", "mot-de-passe-solide")
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(page.get_by_role("link", name="Contacts")).to_be_visible()
