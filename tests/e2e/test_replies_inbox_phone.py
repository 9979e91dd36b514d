"""The editor opens the replies inbox on a phone (390 px): one card per reply, whose
sender, subject and first words fit the screen; where it belongs and its answer wait on
the reply's own page, and a tap opens it."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from mailings.models import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_inbox_fits_a_phone(browser, live_server):
    for n, (name, subject) in enumerate(
        [
            (
                "Awa Diallo",
                "Re: Leçon 1 : écouter ses clients avant de leur vendre quoi que ce soit",
            ),
            (
                "Jean-Baptiste Nkoulou-Mbarga",
                "Re: « Comment lire dans les pensées de ses clients »",
            ),
        ]
    ):
        Reply.objects.create(
            from_email=f"lecteur{n}@exemple-de-domaine-tres-long.example",
            from_name=name,
            subject=subject,
            text="Merci pour cette leçon, je l’essaie dès demain avec mes trois premiers clients.",
            full_text="Merci pour cette leçon.",
            received_at=timezone.now(),
        )
    get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "mot-de-passe-solide"
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/admin/mailings/reply/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)

    excerpt = rows.first.locator("td.field-excerpt, th.field-excerpt")
    expect(excerpt).to_be_visible()
    box = excerpt.bounding_box()
    assert box["x"] + box["width"] <= 390, box  # on the screen, no sideways scroll
    assert box["width"] >= 150, box  # room for the subject and the first words
    expect(rows.first.locator("td.field-answers_to")).to_be_hidden()
    expect(rows.first.locator("td.field-answer_state")).to_be_hidden()
    scroll = page.evaluate("() => document.querySelector('#changelist .results').scrollWidth")
    assert scroll <= 390

    excerpt.get_by_role("link").click()
    expect(page.locator("#reply-text")).to_contain_text("Merci pour cette leçon")
    context.close()
