"""The preference centre in Chromium: the workshop paused and resumed, the time zone's
short list and « Autre », three kinds of action, and a phone's width."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from mailings.models import Enrolment, Sequence, Step
from mailings.services import enrolments_advance
from signups import services, tokens
from signups.bootstrap import create_lists
from signups.models import Consent, Contact, MailingList, Subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _Quiet:
    def write(self, *_args):
        pass


@pytest.fixture
def reader(settings):
    """A reader of the workshop who has received its first lesson of five."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    create_lists(stdout=_Quiet())
    workshop = MailingList.objects.get(slug="atelier")
    sequence = Sequence.objects.create(
        mailing_list=workshop, slug="atelier-pensees", name="Atelier « Lire dans les pensées »"
    )
    for position in range(1, 6):
        Step.objects.create(
            sequence=sequence,
            position=position,
            delay=dt.timedelta(0 if position == 1 else 2),
            subject=f"Leçon {position}",
            body="Une leçon.",
        )
    services.signup_submit(mailing_list=workshop, email="awa@example.org", form="t")
    services.subscription_confirm(subscription=Subscription.objects.get())
    assert enrolments_advance() == 1
    contact = Contact.objects.get()
    return contact, sequence


def _url(live_server, contact):
    return live_server.url + f"/preferences/{tokens.make_token('preferences', contact.pk)}/"


def test_pause_and_resume_the_workshop(page, live_server, reader):
    contact, sequence = reader
    page.goto(_url(live_server, contact))
    card = page.locator("section.sequence-progress")
    expect(card.get_by_role("heading", name=sequence.name)).to_be_visible()
    expect(card.get_by_text("Leçon 1 sur 5")).to_be_visible()
    assert card.locator("progress").get_attribute("value") == "1"
    assert card.get_by_role("button", name="Reprendre").count() == 0

    card.get_by_role("button", name="Mettre en pause").click()
    expect(page.get_by_role("status").get_by_text("C’est en pause")).to_be_visible()
    expect(page.locator("section.sequence-progress").get_by_text("en pause").first).to_be_visible()
    enrolment = Enrolment.objects.get(contact=contact)
    assert enrolment.status == Enrolment.Status.PAUSED and enrolment.next_due_at is None
    assert Consent.objects.filter(contact=contact, form="preferences:pause").count() == 1

    page.locator("section.sequence-progress").get_by_role("button", name="Reprendre").click()
    expect(page.get_by_role("status").get_by_text("C’est reparti")).to_be_visible()
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ACTIVE and enrolment.next_due_at is not None
    assert Consent.objects.filter(contact=contact, form="preferences:reprise").count() == 1
    expect(
        page.locator("section.sequence-progress").get_by_role("button", name="Mettre en pause")
    ).to_be_visible()


def test_time_zone_short_list_and_autre_with_javascript(page, live_server, reader):
    contact, _sequence = reader
    page.goto(_url(live_server, contact))
    short = page.get_by_label("Fuseau horaire", exact=True)
    assert short.locator("optgroup").first.get_attribute("label") == "France et Europe"
    assert short.locator("option").count() < 80
    full = page.locator('select[name="time_zone_other"]')
    expect(full).to_be_hidden()  # behind « Autre », closed
    short.select_option("autre")
    expect(full).to_be_visible()  # the script opened it
    full.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_text("Vos préférences sont enregistrées.")).to_be_visible()
    contact.refresh_from_db()
    assert contact.time_zone == "Asia/Tokyo"

    # Back to a place of the short list: the script empties the full list's choice.
    page.get_by_label("Fuseau horaire", exact=True).select_option(label="Dakar")
    assert page.locator('select[name="time_zone_other"]').input_value() == ""
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_text("Vos préférences sont enregistrées.")).to_be_visible()
    contact.refresh_from_db()
    assert contact.time_zone == "Africa/Dakar"


def test_without_javascript_autre_pause_and_resume_still_work(browser, live_server, reader):
    contact, _sequence = reader
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(_url(live_server, contact))
        page.get_by_label("Fuseau horaire", exact=True).select_option("autre")
        page.locator("details.time-zone-other summary").click()
        page.locator('select[name="time_zone_other"]').select_option("Indian/Kerguelen")
        page.get_by_role("button", name="Enregistrer mes préférences").click()
        expect(page.get_by_text("Vos préférences sont enregistrées.")).to_be_visible()
        contact.refresh_from_db()
        assert contact.time_zone == "Indian/Kerguelen"
        assert page.locator("details.time-zone-other").get_attribute("open") is not None

        page.get_by_role("button", name="Mettre en pause").click()
        expect(page.get_by_role("button", name="Reprendre")).to_be_visible()
        assert Enrolment.objects.get(contact=contact).status == Enrolment.Status.PAUSED
        page.get_by_role("button", name="Reprendre").click()
        expect(page.get_by_role("button", name="Mettre en pause")).to_be_visible()
        assert Enrolment.objects.get(contact=contact).status == Enrolment.Status.ACTIVE
    finally:
        context.close()


def _look(locator) -> tuple:
    return tuple(
        locator.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return [s.backgroundColor, s.color, s.borderTopWidth, s.borderTopColor]; }"
        )
    )


def test_primary_secondary_and_dangerous_actions_look_different(page, live_server, reader):
    contact, _sequence = reader
    page.goto(_url(live_server, contact))
    primary = _look(page.get_by_role("button", name="Enregistrer mes préférences"))
    secondary = _look(page.get_by_role("button", name="Mettre en pause"))
    also_secondary = _look(page.get_by_role("button", name="Recevoir un lien"))
    danger = _look(page.get_by_role("button", name="Me désinscrire de tout"))
    assert len({primary, secondary, danger}) == 3
    assert secondary == also_secondary
    # The dangerous action sits last, in its own zone.
    zone = page.locator("section.danger-zone")
    assert zone.get_by_role("button", name="Me désinscrire de tout").count() == 1
    boxes = [s.bounding_box()["y"] for s in page.locator("main section.card").all()]
    assert zone.bounding_box()["y"] == max(boxes)


def _too_wide(page) -> dict | None:
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    return None if sizes["scroll"] <= sizes["inner"] else sizes


def test_no_sideways_scroll_at_390_px(browser, live_server, reader):
    contact, _sequence = reader
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(_url(live_server, contact))
        assert _too_wide(page) is None
        page.get_by_label("Fuseau horaire", exact=True).select_option("autre")
        expect(page.locator('select[name="time_zone_other"]')).to_be_visible()
        assert _too_wide(page) is None
        page.get_by_role("button", name="Mettre en pause").click()
        expect(page.get_by_role("button", name="Reprendre")).to_be_visible()
        assert _too_wide(page) is None
        data = tokens.data_url(contact).split("/", 3)[3]
        page.goto(f"{live_server.url}/{data}")
        expect(page.get_by_role("button", name="Effacer mes données")).to_be_visible()
        assert _too_wide(page) is None
    finally:
        context.close()


def test_a_reader_refuses_click_tracking_on_a_phone(page, live_server, reader, settings):
    settings.MAIL_TRACK_CLICKS = True
    contact, _sequence = reader
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(_url(live_server, contact))
    box = page.get_by_label("Mesurer mes clics sur les liens de vos e-mails")
    expect(box).to_be_visible()
    expect(box).to_be_checked()
    # The label and its help fit the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box.uncheck()
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(
        page.get_by_role("status").get_by_text("Vos préférences sont enregistrées")
    ).to_be_visible()
    assert not page.get_by_label("Mesurer mes clics sur les liens de vos e-mails").is_checked()
    contact.refresh_from_db()
    assert contact.click_tracking_refused is True
    assert contact.subscriptions.get().status == Subscription.Status.ACTIVE
