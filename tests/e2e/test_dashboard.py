"""The editor opens the admin and sees, before any list of models, how many readers
each list has, what the last mailing did, what is scheduled and what waits for her."""

import datetime as dt

import pytest
from anymail.signals import EventType
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from mailings import services
from mailings.models import Mailing
from signups.models import InterviewApplication
from tests.mailings.factories import (
    ContactFactory,
    MailingFactory,
    MailingListFactory,
    record_event,
    subscribers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_dashboard_is_the_admin_index(page, live_server, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    newsletter = MailingListFactory()
    subscribers(5, newsletter)
    mailing = MailingFactory(lists=[newsletter], subject="Écoutez vos clients")
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=5)
    services.mailings_finish()
    for i, delivery in enumerate(mailing.deliveries.select_related("contact").order_by("pk")):
        record_event(delivery, EventType.DELIVERED, timezone.now(), f"d{i}")
        if i < 2:
            record_event(delivery, EventType.CLICKED, timezone.now(), f"c{i}", url="https://x.fr/")
    later = MailingFactory(
        subject="La suite, jeudi", send_date=timezone.localdate() + dt.timedelta(days=2)
    )
    services.mailing_schedule(mailing=later)
    InterviewApplication.objects.create(
        contact=ContactFactory(),
        company="Atelier Koffi",
        activity="menuiserie",
        city="Douala",
        country="Cameroun",
        story="J’ai commencé seul.",
    )
    get_user_model().objects.create_superuser("editrice", "e@pouls.example", "mot-de-passe-solide")

    page.goto(live_server.url + "/admin/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()

    dashboard = page.locator("#dashboard")
    expect(dashboard).to_be_visible()
    expect(page.locator("#dashboard-lists")).to_contain_text("Newsletter")
    expect(page.locator("#dashboard-lists .count")).to_have_text("5")
    expect(page.locator("#dashboard-lists .change")).to_have_text("+5")
    row = page.locator("#dashboard-mailings tbody tr").first
    expect(row).to_contain_text("Écoutez vos clients")
    expect(row).to_contain_text("40,0 %")  # two readers of five clicked
    expect(page.locator("#dashboard-scheduled")).to_contain_text("La suite, jeudi")
    chart = dashboard.locator("svg.line-chart")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 200
    expect(chart.locator("polyline")).to_have_count(2)
    # The dashboard sits above the list of models, which is still there.
    assert dashboard.bounding_box()["y"] < page.locator("#content-main").bounding_box()["y"]
    page.locator("#waiting-applications a").click()
    expect(page).to_have_url(
        f"{live_server.url}/admin/signups/interviewapplication/?status__exact=new"
    )
    expect(page.locator("#result_list")).to_contain_text("Atelier Koffi")
