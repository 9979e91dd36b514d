"""The editor's journey in a real browser: from an article to a checked, scheduled
mailing (live count, confirmation)."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from articles.models import Article, Status
from mailings.models import Mailing
from signups.models import MailingList
from tests.mailings.factories import subscribers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _setup(settings):
    from signups.bootstrap import create_lists

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    create_lists(stdout=io.StringIO())


def login(page, live_server):
    get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "mot-de-passe-solide"
    )
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()


def test_from_an_article_to_a_checked_scheduled_mailing(page, live_server):
    newsletter = MailingList.objects.get(slug="newsletter")
    atelier = MailingList.objects.get(slug="atelier")
    subscribers(4, newsletter)
    subscribers(3, atelier)
    article = Article.objects.create(
        title="Écoutez avant de construire",
        slug="ecoutez-avant-de-construire",
        description="Trois questions à poser.",
        body="Le texte, et [l’atelier](/atelier/).",
        status=Status.DRAFT,
    )
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    page.get_by_role("link", name="Publier et envoyer…").click()

    # The newsletter comes ticked, and its readers counted.
    expect(page.get_by_label(newsletter.name)).to_be_checked()
    expect(page.locator("#live-count")).to_have_text("4 contacts")
    page.get_by_label(atelier.name).check()
    expect(page.locator("#live-count")).to_have_text("7 contacts")
    page.get_by_label("Programmer").check()
    day = timezone.localdate() + dt.timedelta(days=3)
    page.get_by_label("Date d’envoi").fill(day.isoformat())
    page.get_by_label("Heure d’envoi").fill("07:45")
    page.get_by_label("Fuseau horaire").select_option("America/Montreal")
    page.get_by_role("button", name="Vérifier et confirmer…").click()

    expect(page.locator("#publish-note")).to_contain_text("sera publié maintenant")
    expect(page.locator("#schedule-count")).to_have_text("7 contacts")
    expect(page.locator("#schedule-departure")).to_contain_text("07:45 (America/Montreal)")
    expect(page.locator("#mailing-checks")).to_contain_text("Rien ne bloque l’envoi.")
    page.get_by_role("button", name="Publier et programmer l’envoi").click()

    expect(page.locator(".messagelist")).to_contain_text("Article publié.")
    expect(page.locator("#mailing-status")).to_have_text("programmé")
    mailing = Mailing.objects.get()
    article.refresh_from_db()
    assert article.is_live
    assert mailing.status == Mailing.Status.SCHEDULED
    assert set(mailing.lists.all()) == {newsletter, atelier}
    assert mailing.scheduled_at == dt.datetime.combine(
        day, dt.time(7, 45), tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )


def test_an_ab_test_through_time_to_the_winner_s_send(page, live_server, monkeypatch):
    from collections import Counter

    import time_machine
    from django.core import mail

    from config.tasks import tick
    from mailings import services
    from mailings.models import Delivery, Event, Variant
    from tests.mailings.factories import MailingFactory

    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)  # the test plays workers
    newsletter = MailingList.objects.get(slug="newsletter")
    subscribers(10, newsletter)
    mailing = MailingFactory(lists=[newsletter], body="Bonjour !", send_date=None, send_time=None)
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")
    for position, subject in ((1, "Vos clients savent déjà"), (2, "La question qui change tout")):
        page.locator("#variants-group .add-row a").click()
        page.locator(f"#id_variants-{position - 1}-position").fill(str(position))
        page.locator(f"#id_variants-{position - 1}-subject").fill(subject)
    page.get_by_label("Part du test A/B (%)").fill("40")
    page.get_by_role("button", name="Enregistrer et continuer les modifications").click()
    expect(page.locator(".messagelist")).to_contain_text("modifié avec succès")

    page.get_by_role("link", name="Envoyer…").click()
    page.get_by_label("Envoyer maintenant").check()
    page.get_by_role("button", name="Vérifier et confirmer…").click()
    expect(page.locator("#ab-summary")).to_contain_text("2 objets envoyés à 40 % des lecteurs")
    page.get_by_role("button", name="Confirmer l’envoi maintenant").click()
    expect(page.locator("#ab-waiting")).to_be_visible()

    def drain():
        while services.outbox_send_batch(size=50):
            pass
        services.mailings_finish()

    drain()
    assert Delivery.objects.filter(mailing=mailing).count() == 4
    b = Variant.objects.get(mailing=mailing, position=2)
    for delivery in Delivery.objects.filter(variant=b):
        Event.objects.create(
            event_id=f"clic-{delivery.pk}", kind="clicked", delivery=delivery, mailing=mailing
        )
    page.reload()
    expect(page.locator("#ab-variant-B .ab-clicked")).to_have_text("2 (100,0 %)")
    expect(page.locator("#mailing-status")).to_have_text("envoi en cours")

    with time_machine.travel(timezone.now() + dt.timedelta(hours=4, minutes=1), tick=True):
        tick()  # beat's tick, nobody at the keyboard
        drain()
        # The page left open notices the end of the send by itself.
        expect(page.locator("#mailing-status")).to_have_text("envoyé", timeout=10_000)
    expect(page.locator("#ab-winner")).to_contain_text("Gagnant : objet B")
    subjects = Counter(m.subject for m in mail.outbox)
    assert subjects == {"Vos clients savent déjà": 2, "La question qui change tout": 2 + 6}
    assert len({m.to[0] for m in mail.outbox}) == 10  # one email per reader
