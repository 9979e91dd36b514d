"""The editor schedules a mailing, sends herself a test, watches it go out and cancels it."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from mailings import services
from mailings.models import Delivery, Mailing
from tests.mailings.factories import (
    MailingFactory,
    MailingListFactory,
    StepFactory,
    subscribers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def login(page, live_server):
    get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "mot-de-passe-solide"
    )
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()


def test_send_screen_live_count_checks_schedule_then_pause_resume_and_cancel(
    page, live_server, monkeypatch
):
    # The test plays the workers itself, one small batch at a time.
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)
    newsletter = MailingListFactory()
    atelier = MailingListFactory(slug="atelier", name="Atelier")
    subscribers(3, newsletter)
    subscribers(2, atelier)
    mailing = MailingFactory(lists=[newsletter], send_date=None, send_time=None, body="Bonjour !")
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")
    expect(page.locator("#audience-count")).to_have_text("3")

    page.get_by_role("link", name="Envoyer…").click()
    expect(page.locator("#live-count")).to_have_text("3 contacts")
    page.get_by_label("Atelier").check()  # the count follows, nothing saved
    expect(page.locator("#live-count")).to_have_text("5 contacts")
    page.get_by_label("Newsletter").uncheck()
    expect(page.locator("#live-count")).to_have_text("2 contacts")
    assert list(Mailing.objects.get().lists.all()) == [newsletter]
    page.get_by_label("Newsletter").check()
    page.get_by_label("Programmer").check()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page.get_by_label("Date d’envoi").fill(tomorrow.isoformat())
    page.get_by_label("Heure d’envoi").fill("09:00")
    page.get_by_label("Fuseau horaire").select_option("Europe/Paris")
    page.get_by_role("button", name="Vérifier et confirmer…").click()

    expect(page.locator("#schedule-count")).to_have_text("5 contacts")
    expect(page.locator("#schedule-departure")).to_contain_text("09:00 (Europe/Paris)")
    expect(page.locator("#mailing-checks")).to_contain_text("Rien ne bloque l’envoi.")
    page.get_by_role("button", name="Confirmer la programmation").click()
    expect(page.locator(".messagelist")).to_contain_text("Mailing programmé.")
    expect(page.locator("#mailing-status")).to_have_text("programmé")

    page.get_by_role("button", name="Envoyer le test").click()
    expect(page.locator(".messagelist")).to_contain_text("Test envoyé à editrice@pouls.example")
    assert [m.to for m in mail.outbox] == [["editrice@pouls.example"]]

    # Departure time: the page, left open, notices by itself and shows the progress.
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=1)
    expect(page.locator("#mailing-status")).to_have_text("envoi en cours", timeout=10_000)
    expect(page.locator("#progress-sent")).to_have_text("1")
    expect(page.locator("#progress-total")).to_have_text("5")
    services.outbox_send_batch(size=1)  # the bar follows without reloading
    expect(page.locator("#progress-sent")).to_have_text("2", timeout=10_000)

    page.get_by_role("button", name="Mettre en pause").click()
    expect(page.locator(".messagelist")).to_contain_text("3 messages attendent")
    expect(page.locator("#mailing-status")).to_have_text("en pause")
    services.outbox_send_batch(size=5)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2
    page.get_by_role("button", name="Reprendre l’envoi").click()
    expect(page.locator(".messagelist")).to_contain_text("3 messages repartent")
    services.outbox_send_batch(size=1)
    expect(page.locator("#progress-sent")).to_have_text("3", timeout=10_000)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Annuler ce mailing").click()
    expect(page.locator(".messagelist")).to_contain_text(re.compile("2 envois? n’auront pas lieu"))
    expect(page.locator("#mailing-status")).to_have_text("annulé")
    assert Delivery.objects.filter(status=Delivery.Status.CANCELLED).count() == 2
    assert len(mail.outbox) == 4  # the test + three readers; two were cancelled


def test_send_now_from_the_send_screen(page, live_server, monkeypatch):
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)
    newsletter = MailingListFactory()
    subscribers(2, newsletter)
    mailing = MailingFactory(lists=[newsletter], send_date=None, send_time=None, body="Bonjour !")
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/envoyer/")
    page.get_by_label("Envoyer maintenant").check()
    expect(page.get_by_label("Date d’envoi")).to_be_hidden()
    page.get_by_role("button", name="Vérifier et confirmer…").click()
    expect(page.locator("#schedule-departure")).to_have_text("dès maintenant")
    expect(page.locator("#schedule-count")).to_have_text("2 contacts")
    page.get_by_role("button", name="Confirmer l’envoi maintenant").click()
    expect(page.locator(".messagelist")).to_contain_text("Envoi lancé.")
    # The dispatch was queued at once (tasks run in-process here), not at the next tick.
    expect(page.locator("#mailing-status")).to_have_text("envoi en cours")
    assert Delivery.objects.filter(mailing=mailing).count() == 2
    services.outbox_send_batch(size=10)
    services.mailings_finish()
    expect(page.locator("#mailing-status")).to_have_text("envoyé", timeout=10_000)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        mailing.audience().values_list("contact__email", flat=True)
    )


def test_preview_and_test_send_in_the_language_chosen_without_javascript(browser, live_server):
    mailing = MailingFactory(body="Le texte reste en français.")
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/mailings/mailing/{mailing.pk}/change/")
    page.get_by_label("Salutation et pied de page en").select_option("en")
    with page.expect_popup() as preview:
        page.get_by_role("button", name="Aperçu texte").click()
    expect(preview.value.locator("body")).to_contain_text("Unsubscribe in one click:")
    page.get_by_role("button", name="Envoyer le test").click()
    expect(page.locator(".messagelist")).to_contain_text("Test envoyé à editrice@pouls.example")
    (message,) = mail.outbox
    assert message.body.startswith("Hello,") and "Le texte reste en français." in message.body
    context.close()


def test_dates_and_hours_carry_no_note_about_the_server_s_clock(page, live_server):
    # The editor's browser is in Montréal; the server in Paris. A mailing's date and hour
    # are in the time zone chosen beside them, a step's window in each reader's: Django's
    # « votre heure précède l’heure du serveur » would mislead, so it is not shown.
    step = StepFactory()
    login(page, live_server)
    page.goto(live_server.url + "/admin/mailings/mailing/add/")
    expect(page.locator(".vTimeField").first).to_be_visible()
    expect(page.locator("a", has_text="Maintenant").first).to_be_visible()  # shortcuts kept
    expect(page.locator(".timezonewarning")).to_have_count(0)
    # A step's send window: plain hour fields, no « Maintenant » (meaningless there).
    page.goto(f"{live_server.url}/admin/mailings/step/{step.pk}/change/")
    expect(page.locator('input[name="window_start"][type="time"]')).to_be_visible()
    expect(page.locator("a", has_text="Maintenant")).to_have_count(0)
    expect(page.locator(".timezonewarning")).to_have_count(0)
    page.goto(live_server.url + "/admin/mailings/mailing/add/")
    expect(page.get_by_text("Profils :", exact=True)).to_be_visible()  # labelled as the others
    # Elsewhere Django's note stays (and this browser's clock does differ from the server's).
    page.goto(f"{live_server.url}/admin/auth/user/{get_user_model().objects.get().pk}/change/")
    expect(page.locator(".timezonewarning").first).to_be_attached()
