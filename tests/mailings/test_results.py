"""A mailing's results: counts and rates over the delivered, clicks per link and who
clicked, words instead of zeros when the transport reports nothing, the deliveries
filtered by mailing and status, their CSV export, and lists whose queries do not grow
with their rows."""

import csv
import datetime as dt
import io

import pytest
from anymail.signals import EventType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings import services, tallies
from mailings.models import Delivery, Mailing
from signups.models import Contact

from .factories import MailingFactory, MailingListFactory, record_event, subscribers

pytestmark = pytest.mark.django_db
ARTICLE = "https://pouls.example/articles/ecoutez/"
WORKSHOP = "https://pouls.example/atelier/"


def sent_mailing(count: int, mailing_list=None) -> Mailing:
    """A mailing dispatched and sent to `count` readers through the configured backend."""
    subs = subscribers(count, mailing_list or MailingListFactory())
    mailing = MailingFactory(lists=[subs[0].mailing_list])
    services.mailing_schedule(mailing=mailing)
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=count)
    services.mailings_finish()
    mailing.refresh_from_db()
    return mailing


def test_results_over_smtp_or_files_say_the_transport_reports_nothing(admin_client):
    mailing = sent_mailing(3)
    assert mailing.status == Mailing.Status.SENT and mailing.recipient_count == 3
    page = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert "ne rapporte ni les remises" in page
    assert 'id="stat-delivered"' not in page  # words, not a row of zeros
    assert "Destinataires aujourd’hui" not in page and 'id="recipient-count">3<' in page


def test_results_count_readers_once_with_rates_over_the_delivered(admin_client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.MAIL_TRACK_OPENS = True
    mailing = sent_mailing(4)
    deliveries = list(mailing.deliveries.select_related("contact").order_by("pk"))
    start = timezone.now() - dt.timedelta(hours=5)
    for i, delivery in enumerate(deliveries):
        record_event(delivery, EventType.DELIVERED, start, f"d{i}")
    # Two readers open, one of them three times; three clicks from two readers (the
    # webhook repeating an event changes nothing).
    for n in range(3):
        record_event(deliveries[0], EventType.OPENED, start + dt.timedelta(hours=n), f"o0-{n}")
    record_event(deliveries[1], EventType.OPENED, start + dt.timedelta(hours=2), "o1")
    record_event(deliveries[0], EventType.CLICKED, start + dt.timedelta(hours=1), "c0", url=ARTICLE)
    record_event(deliveries[0], EventType.CLICKED, start + dt.timedelta(hours=2), "c1", url=ARTICLE)
    record_event(
        deliveries[1], EventType.CLICKED, start + dt.timedelta(hours=3), "c2", url=WORKSHOP
    )
    record_event(
        deliveries[1], EventType.CLICKED, start + dt.timedelta(hours=3), "c2", url=WORKSHOP
    )

    page = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert 'id="stat-delivered">4<' in page and 'id="rate-delivered">100,0 %<' in page
    assert 'id="stat-opened">2<' in page and 'id="rate-opened">50,0 %<' in page
    assert 'id="stat-clicked">2<' in page and 'id="rate-clicked">50,0 %<' in page
    assert 'id="stat-bounced">0<' in page
    links = page[page.index('id="results-links"') :]
    assert links.index(ARTICLE) < links.index(WORKSHOP)
    assert "<td>2</td><td>1</td>" in links  # the article: two clicks, one reader
    # The chart: cumulative readers per hour.
    assert 'series-opened"' in page and 'series-clicked"' in page

    who = admin_client.get(
        "/admin/mailings/event/",
        {"mailing__id__exact": mailing.pk, "kind": "clicked", "detail": ARTICLE},
    ).content.decode()
    assert deliveries[0].contact.email in who and deliveries[1].contact.email not in who

    # Recounting from the events gives the same tallies as recording them one by one.
    before = tallies.tally_totals(mailing=mailing)
    tallies.tallies_rebuild(mailing=mailing)
    assert tallies.tally_totals(mailing=mailing) == before
    assert before["opened"] == {"events": 4, "readers": 2}


def test_a_mailings_unknown_link_lists_only_its_own_rows(admin_client):
    one, other = sent_mailing(2), sent_mailing(3)
    Delivery.objects.filter(mailing__in=[one, other]).update(status=Delivery.Status.UNKNOWN)
    Mailing.objects.filter(pk__in=[one.pk, other.pk]).update(final_progress=None)
    page = admin_client.get(f"/admin/mailings/mailing/{one.pk}/change/").content.decode()
    link = f"/admin/mailings/delivery/?mailing__id__exact={one.pk}&amp;status__exact=unknown"
    assert link in page
    listed = admin_client.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 2
    assert {d.mailing_id for d in listed.context["cl"].result_list} == {one.pk}


def test_the_deliveries_export_streams_one_line_per_reader(admin_client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mailing = sent_mailing(3)
    first = mailing.deliveries.select_related("contact").order_by("pk").first()
    Contact.objects.filter(pk=first.contact_id).update(first_name='=HYPERLINK("x")')
    record_event(first, EventType.CLICKED, timezone.now(), "c", url=ARTICLE)
    response = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/envois.csv")
    assert response.status_code == 200 and response.streaming
    assert "envois-mailing-" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["email", "prénom", "statut"] and len(rows) == 4
    assert rows[1][0] == first.contact.email and rows[1][1].startswith("'=")
    assert rows[1][2] == "envoyé" and rows[1][7] == "oui" and rows[2][7] == "non"
    assert admin_client.get("/admin/mailings/mailing/999999/envois.csv").status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_admin_lists_do_not_query_per_row(admin_client):
    sent_mailing(2)
    MailingFactory()
    small = {
        url: _queries(admin_client, url)
        for url in (
            "/admin/mailings/mailing/",
            "/admin/mailings/delivery/",
            "/admin/mailings/event/",
            "/admin/mailings/sequence/",
            "/admin/signups/contact/",
        )
    }
    for _ in range(3):
        sent_mailing(3, MailingListFactory(slug=f"liste-{Mailing.objects.count()}"))
        draft = MailingFactory()
        services.mailing_schedule(mailing=draft)
    for url, count in small.items():
        assert _queries(admin_client, url) == count, url


@pytest.mark.parametrize(
    "url",
    [
        "/admin/mailings/mailing/abc/change/",
        "/admin/mailings/mailing/abc/envois.csv",
        "/admin/mailings/delivery/?mailing__id__exact=abc",
        "/admin/mailings/event/?mailing__id__exact=abc",
        "/admin/signups/contact/?liste=abc",
        "/admin/signups/contact/abc/change/",
    ],
)
def test_malformed_ids_never_answer_500(admin_client, url):
    assert admin_client.get(url, follow=True).status_code in (200, 400, 404)
