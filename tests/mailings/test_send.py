"""The sending journey: one screen (audience with a live count, now or later), one
confirmation with the checks, then pause, resume and cancel."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mailings import broadcast, services
from mailings.models import Delivery, Mailing, audience_contacts, audience_of
from signups.models import Answer, Contact, Profile

from .factories import MailingFactory, MailingListFactory, subscribers

pytestmark = pytest.mark.django_db
S = Delivery.Status


@pytest.fixture(autouse=True)
def _lists():
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editrice", "editrice@pouls.example", "x")
    client.force_login(user)
    return user


def test_the_live_count_follows_the_filters_without_saving(client, editor):
    newsletter = MailingListFactory()
    atelier = MailingListFactory(slug="atelier")
    hr = subscribers(3, newsletter, profile=Profile.HR)
    subscribers(2, atelier, profile=Profile.IT)
    both = Answer.objects.create(contact=hr[0].contact, text="Fixer mes prix sans avoir peur")
    gone = subscribers(1, newsletter, profile=Profile.HR)[0].contact  # suppressed: not counted
    Contact.objects.filter(pk=gone.pk).update(suppressed_at=timezone.now())
    mailing = MailingFactory(lists=[newsletter])
    url = "/admin/mailings/mailing/audience/"

    def count(**params):
        answer = client.get(url, params).json()
        assert answer["exact"] is True
        # The count (contacts, a semi-join) and the dispatch (subscriptions) agree.
        filters = {key: value for key, value in params.items() if key != "lists"}
        if "signed_up_after" in filters:
            filters["signed_up_after"] = dt.date.fromisoformat(filters["signed_up_after"])
        subscriptions = audience_of(list_ids=params.get("lists", []), **filters)
        assert answer["count"] == subscriptions.values("contact_id").distinct().count()
        return answer["count"], answer["label"]

    assert count(lists=[newsletter.pk]) == (3, "3 contacts")
    assert count(lists=[newsletter.pk, atelier.pk])[0] == 5
    assert count(lists=[newsletter.pk, atelier.pk], profiles=[Profile.IT])[0] == 2
    assert count(lists=[newsletter.pk], answer_contains="PRIX") == (1, "1 contact")
    assert count(lists=[])[0] == 0
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert count(lists=[newsletter.pk], signed_up_after=tomorrow)[0] == 0
    assert list(mailing.lists.all()) == [newsletter]  # nothing was saved
    assert both.contact.subscriptions.count() == 1


def test_an_exact_count_past_its_budget_gives_way_to_an_estimate(postgres):
    subs = subscribers(4)
    # Each row costs 60 ms: the exact count cannot finish within the 150 ms budget.
    audience = audience_contacts(list_ids=[subs[0].mailing_list_id]).extra(
        where=["pg_sleep(0.06) IS NOT NULL"]
    )
    count, exact = broadcast.audience_size(audience)
    assert exact is False and count >= 1


def test_send_later_confirm_with_the_checks_then_it_is_scheduled(client, editor):
    newsletter = MailingListFactory()
    subscribers(4, newsletter)
    mailing = MailingFactory(lists=[newsletter], send_date=None, send_time=None)
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/envoyer/").content.decode()
    assert 'id="live-count">4 contacts<' in page
    day = timezone.localdate() + dt.timedelta(days=2)
    response = client.post(
        f"/admin/mailings/mailing/{mailing.pk}/envoyer/",
        {
            "lists": [newsletter.pk],
            "when": "later",
            "send_date": day.isoformat(),
            "send_time": "08:15",
            "time_zone": "America/Montreal",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/mailings/mailing/{mailing.pk}/programmer/"
    confirm = client.get(response["Location"]).content.decode()
    assert 'id="schedule-count">4 contacts<' in confirm
    assert f"{day:%d/%m/%Y} 08:15 (America/Montreal)" in confirm
    assert "Rien ne bloque l’envoi." in confirm and "Vérifications avant l’envoi" in confirm
    client.post(response["Location"], {"now": ""})
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at == dt.datetime.combine(
        day, dt.time(8, 15), tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )


def test_a_time_already_past_is_refused_on_the_send_screen(client, editor):
    mailing = MailingFactory()
    response = client.post(
        f"/admin/mailings/mailing/{mailing.pk}/envoyer/",
        {
            "lists": [mailing.lists.get().pk],
            "when": "later",
            "send_date": "2020-01-01",
            "send_time": "08:00",
            "time_zone": "Europe/Paris",
        },
    )
    assert response.status_code == 200
    assert "Cette heure est passée" in response.content.decode()


def test_send_now_dispatches_at_once(client, editor, django_capture_on_commit_callbacks):
    newsletter = MailingListFactory()
    subscribers(3, newsletter)
    mailing = MailingFactory(lists=[newsletter], send_date=None, send_time=None)
    response = client.post(
        f"/admin/mailings/mailing/{mailing.pk}/envoyer/",
        {"lists": [newsletter.pk], "when": "now", "time_zone": "Europe/Paris"},
    )
    assert response["Location"].endswith("/programmer/?maintenant=1")
    confirm = client.get(response["Location"]).content.decode()
    assert "dès maintenant" in confirm and "Confirmer l’envoi maintenant" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"now": "1"})
    mailing.refresh_from_db()
    assert mailing.status in (Mailing.Status.SENDING, Mailing.Status.SENT)
    assert mailing.deliveries.count() == 3
    assert abs(mailing.scheduled_at - timezone.now()) < dt.timedelta(minutes=1)


def test_blocking_problems_keep_the_mailing_from_being_scheduled(client, editor):
    newsletter = MailingListFactory()
    subscribers(2, newsletter)
    mailing = MailingFactory(lists=[newsletter], body="![Le schéma](./absent.png)")
    url = f"/admin/mailings/mailing/{mailing.pk}/programmer/"
    confirm = client.get(url).content.decode()
    assert "Image introuvable : ./absent.png" in confirm
    assert "Confirmer la programmation" not in confirm
    page = client.post(url, {"now": ""}, follow=True).content.decode()
    assert "L’envoi est bloqué" in page
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    with pytest.raises(broadcast.SendRefused):
        broadcast.mailing_send(mailing=mailing)


def test_pause_holds_the_outbox_and_resume_carries_on(client, editor, monkeypatch):
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)
    subs = subscribers(5)
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[subs[0].mailing_list]))
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=2)
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert "Mettre en pause" in page and 'data-live="1"' in page

    response = client.post(f"/admin/mailings/mailing/{mailing.pk}/pause/", follow=True)
    assert "Envoi en pause : 3 messages attendent." in response.content.decode()
    assert "Reprendre l’envoi" in response.content.decode()
    assert services.outbox_send_batch(size=10) == 0  # nothing leaves while paused
    services.mailings_finish()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED
    assert client.get(f"/admin/mailings/mailing/{mailing.pk}/progression/").json()["paused"] == 3

    response = client.post(f"/admin/mailings/mailing/{mailing.pk}/reprendre/", follow=True)
    assert "Envoi repris : 3 messages repartent." in response.content.decode()
    services.outbox_send_batch(size=10)
    services.mailings_finish()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert mailing.deliveries.filter(status=S.SENT).count() == 5


def test_a_row_released_during_a_pause_waits_and_cancel_reaches_paused_rows(monkeypatch):
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)
    subs = subscribers(3)
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[subs[0].mailing_list]))
    services.mailing_dispatch(mailing_id=mailing.pk)
    broadcast.mailing_pause(mailing=mailing)
    # A claim that expired during the pause put its row back to pending.
    Delivery.objects.filter(pk=mailing.deliveries.first().pk).update(status=S.PENDING)
    services.outbox_send_batch(size=10)
    assert set(mailing.deliveries.values_list("status", flat=True)) == {S.PAUSED}
    assert services.mailing_cancel(mailing=mailing) == 3
    assert set(mailing.deliveries.values_list("status", flat=True)) == {S.CANCELLED}


def test_changing_a_scheduled_mailing_on_the_send_screen_asks_for_confirmation_again(
    client, editor
):
    newsletter = MailingListFactory()
    subscribers(2, newsletter)
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[newsletter]))
    day = timezone.localdate() + dt.timedelta(days=5)
    client.post(
        f"/admin/mailings/mailing/{mailing.pk}/envoyer/",
        {
            "lists": [newsletter.pk],
            "when": "later",
            "send_date": day.isoformat(),
            "send_time": "10:00",
            "time_zone": "Europe/Paris",
        },
    )
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT and mailing.scheduled_at is None
    assert mailing.send_date == day


def test_publishing_through_the_confirmation_needs_the_right_to_change_articles(client):
    from django.contrib.auth.models import Permission

    from articles.models import Article

    user = get_user_model().objects.create_user("envois", "envois@pouls.example", "x")
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(codename__in=("change_mailing", "view_mailing"))
    )
    client.force_login(user)
    article = Article.objects.create(title="Brouillon", slug="brouillon", body="Texte.")
    mailing = MailingFactory()
    url = f"/admin/mailings/mailing/{mailing.pk}/programmer/?article={article.pk}"
    assert client.get(url).status_code == 403
    assert client.post(url, {"now": "1"}).status_code == 403
    assert client.get(f"/admin/mailings/mailing/{mailing.pk}/programmer/").status_code == 200
