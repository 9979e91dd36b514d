"""A/B test of a mailing's subject: the test share, the wait, the winner to the rest,
and never two subjects for one reader."""

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from config.tasks import tick
from mailings import abtest, services
from mailings.checks import mailing_check
from mailings.models import Delivery, Event, Mailing, Variant

from .factories import MailingFactory, subscribers

pytestmark = pytest.mark.django_db
S = Delivery.Status


@pytest.fixture(autouse=True)
def _no_wake(monkeypatch):
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)


def ab_mailing(readers=20, share=50, subjects=("Objet A", "Objet B"), **fields):
    subs = subscribers(readers)
    mailing = MailingFactory(lists=[subs[0].mailing_list], body="Bonjour !", **fields)
    Mailing.objects.filter(pk=mailing.pk).update(ab_share=share)
    for position, subject in enumerate(subjects, start=1):
        Variant.objects.create(mailing=mailing, position=position, subject=subject)
    mailing.refresh_from_db()
    return services.mailing_schedule(mailing=mailing)


def drain():
    while services.outbox_send_batch(size=50):
        pass
    services.mailings_finish()


def click(delivery, n):
    Event.objects.create(
        event_id=f"clic-{delivery.pk}-{n}",
        kind="clicked",
        delivery=delivery,
        mailing_id=delivery.mailing_id,
    )


def test_the_test_share_goes_out_split_evenly_and_the_mailing_waits():
    mailing = ab_mailing(readers=20, share=50, subjects=("Objet A", "Objet B"))
    assert services.mailing_dispatch(mailing_id=mailing.pk) == 10
    per_variant = Counter(mailing.deliveries.values_list("variant__subject", flat=True))
    assert per_variant == {"Objet A": 5, "Objet B": 5}
    drain()
    assert Counter(m.subject for m in mail.outbox) == {"Objet A": 5, "Objet B": 5}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING  # the rest waits for the winner
    assert abtest.ab_decide(mailing=mailing) is None  # the wait is not over


def test_after_the_wait_the_tick_sends_the_winner_to_the_rest_once():
    mailing = ab_mailing(readers=30, share=40, subjects=("A matin", "B midi", "C soir"))
    services.mailing_dispatch(mailing_id=mailing.pk)
    drain()
    test_share = set(mailing.deliveries.values_list("contact_id", flat=True))
    assert len(test_share) == 12
    b = Variant.objects.get(mailing=mailing, position=2)
    c = Variant.objects.get(mailing=mailing, position=3)
    for i, delivery in enumerate(mailing.deliveries.filter(variant=b)):
        click(delivery, 1)
        click(delivery, 2)  # a reader clicking twice counts once
        if i == 2:
            break
    click(mailing.deliveries.filter(variant=c).first(), 1)

    with time_machine.travel(timezone.now() + dt.timedelta(hours=3, minutes=59)):
        tick()
    mailing.refresh_from_db()
    assert mailing.ab_winner is None
    with time_machine.travel(timezone.now() + dt.timedelta(hours=4, minutes=1)):
        tick()  # the beat's tick: nobody at the keyboard
        tick()  # twice: nothing more
    mailing.refresh_from_db()
    assert mailing.ab_winner == b
    rest = mailing.deliveries.exclude(contact_id__in=test_share)
    assert rest.count() == 18 and set(rest.values_list("variant", flat=True)) == {b.pk}
    drain()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    # Exactly once across variants: one delivery and one email per reader.
    assert (
        mailing.deliveries.count() == 30 == mailing.deliveries.values("contact").distinct().count()
    )
    assert Counter(m.to[0] for m in mail.outbox).most_common(1)[0][1] == 1
    assert Counter(m.subject for m in mail.outbox) == {"A matin": 4, "B midi": 4 + 18, "C soir": 4}

    results = {row["variant"].letter: row for row in abtest.results(mailing)}
    assert results["B"]["clicked"] == 3 and results["B"]["winner"]
    assert results["C"]["clicked"] == 1 and results["A"]["click_rate"] == 0


@pytest.mark.parametrize("tracked", [True, False], ids=["opens-tracked", "opens-untracked"])
def test_opens_decide_only_where_they_are_tracked(settings, tracked):
    mailing = ab_mailing(readers=10, share=100, subjects=("Un", "Deux"))
    Mailing.objects.filter(pk=mailing.pk).update(ab_measure=Mailing.AbMeasure.OPENS)
    services.mailing_dispatch(mailing_id=mailing.pk)
    drain()
    two = Variant.objects.get(mailing=mailing, position=2)
    one = Variant.objects.get(mailing=mailing, position=1)
    for delivery in mailing.deliveries.filter(variant=two):
        Event.objects.create(
            event_id=f"o{delivery.pk}", kind="opened", delivery=delivery, mailing=mailing
        )
    click(mailing.deliveries.filter(variant=one).first(), 1)
    mailing.refresh_from_db()
    settings.MAIL_TRACK_OPENS = tracked
    warned = any("selon les clics" in w for w in mailing_check(mailing=mailing).warnings)
    assert warned is not tracked
    later = timezone.now() + dt.timedelta(hours=5)
    # Opened by B, clicked in A: where opens are not tracked, clicks decide.
    assert abtest.ab_decide(mailing=mailing, now=later) == (two if tracked else one)
    assert mailing.deliveries.count() == 10  # everyone had the test: nobody left


def test_a_single_subject_or_local_hours_block_the_send():
    mailing = ab_mailing(readers=3, subjects=("Seul",))
    assert "Un test A/B compare au moins deux objets." in mailing_check(mailing=mailing).blocking
    Variant.objects.create(mailing=mailing, position=2, subject="Autre")
    Mailing.objects.filter(pk=mailing.pk).update(local_time=True)
    mailing.refresh_from_db()
    assert any("heure locale" in item for item in mailing_check(mailing=mailing).blocking)


def test_the_mailing_page_shows_the_results_per_variant(client):
    user = get_user_model().objects.create_superuser("editrice", "editrice@pouls.example", "x")
    client.force_login(user)
    mailing = ab_mailing(readers=8, share=100, subjects=("Objet A", "Objet B"))
    services.mailing_dispatch(mailing_id=mailing.pk)
    drain()
    for delivery in mailing.deliveries.filter(variant__position=1)[:2]:
        click(delivery, 1)
    abtest.ab_decide(mailing=mailing, now=timezone.now() + dt.timedelta(hours=4))
    page = client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert "Gagnant : objet A" in page
    assert (
        '<td class="ab-clicked">2 (50,0 %)</td>' in page
        or '<td class="ab-clicked">2 (50.0 %)</td>' in page
    )
