"""The admin index as a dashboard: readers per list and their change, the signups chart,
the last mailings with their rates, what is scheduled, readers per sequence, what waits."""

import datetime as dt

import pytest
import time_machine
from anymail.signals import EventType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles.models import Article, Comment
from mailings import services
from mailings.models import Delivery, Enrolment, Mailing
from signups.models import InterviewApplication, Subscription

from .factories import (
    ContactFactory,
    MailingFactory,
    MailingListFactory,
    SequenceFactory,
    StepFactory,
    record_event,
    subscribers,
)

pytestmark = pytest.mark.django_db


def _sent(mailing_list, subject, count):
    mailing = MailingFactory(lists=[mailing_list], subject=subject)
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=count)
    services.mailings_finish()
    return mailing


def test_dashboard_shows_readers_mailings_sequences_and_what_waits(admin_client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    newsletter = MailingListFactory()
    workshop = MailingListFactory(slug="atelier", name="Atelier")
    with time_machine.travel(timezone.now() - dt.timedelta(days=60)):
        old = subscribers(4, newsletter)
    for subscription in subscribers(3, newsletter):  # confirmed within the 30 days
        subscription.confirmed_at = timezone.now() - dt.timedelta(days=2)
        subscription.save()
    Subscription.objects.filter(pk=old[0].pk).update(
        status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    subscribers(2, workshop)
    mailing = _sent(newsletter, "Les trois questions", 6)
    for i, delivery in enumerate(mailing.deliveries.select_related("contact").order_by("pk")):
        record_event(delivery, EventType.DELIVERED, timezone.now(), f"d{i}")
        if i < 3:
            record_event(delivery, EventType.CLICKED, timezone.now(), f"c{i}", url="https://x.fr/")
    draft = MailingFactory(
        subject="La suite, jeudi", send_date=timezone.localdate() + dt.timedelta(days=3)
    )
    services.mailing_schedule(mailing=draft)
    sequence = SequenceFactory(mailing_list=workshop, name="Atelier en cinq jours")
    StepFactory(sequence=sequence, position=1)
    for subscription in Subscription.objects.filter(mailing_list=workshop):
        services.enrolment_start(subscription=subscription)
    InterviewApplication.objects.create(
        contact=ContactFactory(),
        company="Atelier Koffi",
        activity="menuiserie",
        city="Douala",
        country="Cameroun",
        story="…",
    )
    article = Article.objects.create(title="Écouter", slug="ecouter", body="Texte")
    Comment.objects.create(article=article, author="Awa", body="Merci !")
    Delivery.objects.filter(pk=mailing.deliveries.first().pk).update(status="unknown")

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    board = response.context["dashboard"]
    lists = {row["list"].slug: row for row in board["lists"]}
    assert lists["newsletter"]["active"] == 6 and lists["newsletter"]["change"] == 3 - 1
    assert lists["atelier"]["active"] == 2
    rows = board["chart"]["rows"]  # (day, [confirmed, unsubscribed]) for 30 days
    assert len(rows) == 30
    assert sum(v[0] for _, v in rows) == 3 + 2 and sum(v[1] for _, v in rows) == 1
    assert [row["mailing"].subject for row in board["mailings"]] == ["Les trois questions"]
    assert board["mailings"][0]["clicked"] == 50.0 and board["mailings"][0]["recipients"] == 6
    assert "La suite, jeudi" in html and "Atelier en cinq jours" in html
    assert [row["active"] for row in board["sequences"]] == [2]
    waiting = {item["key"]: item["count"] for item in board["waiting"]}
    assert waiting == {"applications": 1, "comments": 1, "replies": 0, "unknown": 1}
    assert "/admin/mailings/delivery/?status__exact=unknown" in html
    assert "Tableau de bord" in html and 'id="dashboard"' in html
    assert Enrolment.objects.count() == 2

    # The same queries with ten times the readers and more mailings.
    subscribers(40, newsletter, profile="hr")
    _sent(workshop, "Deuxième", 2)
    with CaptureQueriesContext(connection) as again:
        assert admin_client.get("/admin/").status_code == 200
    assert len(again) == len(captured)


def test_the_dashboard_of_a_fresh_site_says_what_to_do(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Aucun mailing envoyé pour l’instant." in html and "Rien n’est programmé." in html


def test_the_dashboard_needs_a_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
