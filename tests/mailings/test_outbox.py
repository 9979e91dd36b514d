"""Dispatch, batch sending and the tick, through the outbox rows and the mail produced."""

import datetime as dt
import time
from email import message_from_bytes, policy

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from config.tasks import tick
from mailings import chains, outbox, services
from mailings.models import Delivery, Handover, Mailing
from mailings.transports import Outcomes
from signups.models import Contact, Profile, Subscription
from signups.services import subscription_unsubscribe
from signups.suppression import contact_suppress

from .factories import (
    ContactFactory,
    MailingFactory,
    MailingListFactory,
    SubscriptionFactory,
    subscribers,
)

pytestmark = pytest.mark.django_db
S = Delivery.Status


def claim(*, worker: str, size: int) -> list[int]:
    return [row["id"] for row in outbox.outbox_claim(worker=worker, size=size)]


def journal(ids: list[int], worker: str) -> outbox.Journal:
    """The hand-over journal a worker keeps for a chunk made of `ids`."""
    rows = [{"id": pk} for pk in ids]
    return outbox.Journal(rows, worker=worker, step=len(rows), lease=outbox.Lease(worker))


def scheduled(**kwargs) -> Mailing:
    mailing = MailingFactory(**kwargs)
    return services.mailing_schedule(mailing=mailing)


def test_audience_is_one_row_per_contact_across_lists_and_only_confirmed_readers():
    newsletter = MailingListFactory()
    interviews = MailingListFactory(slug="entretiens", name="Entretiens")
    both = ContactFactory()
    SubscriptionFactory(contact=both, mailing_list=newsletter)
    SubscriptionFactory(contact=both, mailing_list=interviews)
    SubscriptionFactory(mailing_list=interviews)
    SubscriptionFactory(mailing_list=newsletter, status=Subscription.Status.PENDING)
    SubscriptionFactory(mailing_list=newsletter, status=Subscription.Status.UNSUBSCRIBED)
    SubscriptionFactory(
        mailing_list=newsletter, contact=ContactFactory(suppressed_at=timezone.now())
    )
    mailing = scheduled(lists=[newsletter, interviews])
    assert mailing.audience_count() == 2

    assert services.mailing_dispatch(mailing_id=mailing.pk, chunk=1) == 2
    assert services.mailing_dispatch(mailing_id=mailing.pk) == 0  # already dispatched
    assert Delivery.objects.filter(mailing=mailing).count() == 2
    assert Delivery.objects.filter(contact=both).count() == 1
    # Even forced, a second row for the same (mailing, contact) cannot be written.
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SCHEDULED)
    assert services.mailing_dispatch(mailing_id=mailing.pk) == 0
    assert Delivery.objects.filter(mailing=mailing).count() == 2


def test_audience_narrowed_by_profile_and_signup_date():
    newsletter = MailingListFactory()
    old = ContactFactory(profile=Profile.HR, created_at=timezone.now() - dt.timedelta(days=400))
    recent_hr = ContactFactory(profile=Profile.HR)
    recent_it = ContactFactory(profile=Profile.IT)
    for contact in (old, recent_hr, recent_it):
        SubscriptionFactory(contact=contact, mailing_list=newsletter)
    mailing = MailingFactory(
        lists=[newsletter],
        profiles=[Profile.HR],
        signed_up_after=timezone.localdate() - dt.timedelta(days=30),
    )
    assert mailing.audience_count() == 1
    services.mailing_schedule(mailing=mailing)
    services.mailing_dispatch(mailing_id=mailing.pk)
    assert list(Delivery.objects.values_list("contact_id", flat=True)) == [recent_hr.pk]


def test_the_tick_dispatches_due_mailings_sends_them_and_marks_them_sent(
    django_capture_on_commit_callbacks,
):
    subs = subscribers(7)
    paris = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with time_machine.travel(paris - dt.timedelta(hours=1), tick=False):
        mailing = scheduled(lists=[subs[0].mailing_list], send_date=dt.date(2026, 3, 2))
        assert mailing.scheduled_at == paris
        with django_capture_on_commit_callbacks(execute=True):
            tick()
        assert len(mail.outbox) == 0
    with time_machine.travel(paris + dt.timedelta(seconds=5), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            tick()
        with django_capture_on_commit_callbacks(execute=True):
            tick()  # the next tick sees nothing in flight: the mailing is sent
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.contact.email for s in subs)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert mailing.progress()["sent"] == 7 and mailing.progress()["percent"] == 100


def test_readers_who_left_after_dispatch_are_skipped_and_recorded():
    subs = subscribers(4)
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    subscription_unsubscribe(subscription=subs[0])
    contact_suppress(contact=subs[1].contact, reason="complaint")
    # A change that bypassed the signals is still caught by the check before sending.
    Subscription.objects.filter(pk=subs[2].pk).update(status=Subscription.Status.UNSUBSCRIBED)

    services.outbox_send_batch()

    assert [m.to[0] for m in mail.outbox] == [subs[3].contact.email]
    rows = {d.contact_id: d for d in Delivery.objects.all()}
    for sub in subs[:3]:
        assert rows[sub.contact_id].status == S.SKIPPED
        assert rows[sub.contact_id].error
    assert rows[subs[3].contact_id].status == S.SENT


def test_a_dead_workers_rows_never_started_are_resent_and_those_in_flight_become_unknown():
    subs = subscribers(6)
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    claimed = claim(worker="dead:1", size=6)
    # The dead worker had journalled the hand-over of its first two rows when it was killed.
    journal(claimed[:2], "dead:1").reach(0)

    services.outbox_recover()  # leases still running: nothing moves
    assert Delivery.objects.filter(status=S.CLAIMED).count() == 6

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10), tick=False):
        result = services.outbox_recover()
        assert result["released"] == 4 and result["unknown"] == 2
        services.outbox_send_batch()

    assert len(mail.outbox) == 4
    assert {m.to[0] for m in mail.outbox} == set(
        Contact.objects.filter(deliveries__id__in=claimed[2:]).values_list("email", flat=True)
    )
    unknown = Delivery.objects.filter(status=S.UNKNOWN)
    assert set(unknown.values_list("id", flat=True)) == set(claimed[:2])
    assert "peut-être parti" in unknown.first().error
    assert mailing.progress()["unknown"] == 2


@pytest.mark.parametrize("pipelining", [False, True], ids=["smtp", "pipelined"])
def test_transient_refusals_are_retried_with_backoff_and_permanent_ones_recorded(
    smtp_server, settings, pipelining
):
    settings.MAIL_MAX_ATTEMPTS = 3
    smtp_server.pipelining = pipelining
    subs = subscribers(4)  # in id order: accepted, refused for now, refused, accepted
    later, bad = subs[1].contact.email, subs[2].contact.email
    smtp_server.refuse = {later: "451 4.7.1 Réessayez plus tard", bad: "550 5.1.1 Adresse inconnue"}
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch()

    rows = {d.contact.email: d for d in Delivery.objects.select_related("contact")}
    assert rows[bad].status == S.FAILED and "550" in rows[bad].error
    assert rows[later].status == S.PENDING and rows[later].attempts == 1
    assert rows[later].not_before > timezone.now() + dt.timedelta(seconds=20)
    assert rows[subs[0].contact.email].status == S.SENT
    assert rows[subs[3].contact.email].status == S.SENT
    assert services.outbox_send_batch() == 0  # not before the backoff

    for minutes in (5, 15):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False):
            services.outbox_send_batch()
    rows[later].refresh_from_db()
    assert rows[later].status == S.FAILED and rows[later].attempts == 3
    assert "3 tentatives" in rows[later].error
    accepted = [subs[0].contact.email, subs[3].contact.email]
    assert [rcpt for rcpt, _raw in smtp_server.messages] == [[email] for email in accepted]
    for email, (_rcpt, raw) in zip(accepted, smtp_server.messages, strict=True):
        received = message_from_bytes(raw, policy=policy.default)
        assert received["To"] == email and not received.defects
        assert received.get_body(("plain",)).get_content().strip()


def test_cancel_before_sending_and_during_sending():
    subs = subscribers(5)
    draft = scheduled(lists=[subs[0].mailing_list])
    services.mailing_cancel(mailing=draft)
    assert Mailing.objects.due(timezone.now() + dt.timedelta(days=2)).count() == 0

    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch(size=2)
    claimed = claim(worker="w:2", size=1)  # in a worker's hands
    assert services.mailing_cancel(mailing=mailing) == 3
    assert services.outbox_send_batch() == 0
    assert len(mail.outbox) == 2
    assert Delivery.objects.get(pk=claimed[0]).status == S.CANCELLED
    assert mailing.progress()["cancelled"] == 3


def test_rows_being_handed_over_are_not_cancelled_and_a_late_outcome_still_counts():
    subs = subscribers(4)
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    claimed = claim(worker="slow:1", size=4)
    handover = journal(claimed[:2], "slow:1")
    assert handover.reach(0) and handover.reach(1)

    # Cancelling cannot recall what is on the wire: only the rows not handed over stop.
    assert services.mailing_cancel(mailing=mailing) == 2
    status = dict(Delivery.objects.values_list("id", "status"))
    assert [status[pk] for pk in claimed] == [S.CLAIMED, S.CLAIMED, S.CANCELLED, S.CANCELLED]

    # The worker stalls past its lease: the tick cannot know, the rows become unknown…
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10), tick=False):
        assert services.outbox_recover()["unknown"] == 2
    # …until the worker records what the server answered.
    outcomes = Outcomes(sent=[(pk, f"delivery-{pk}@pouls.example") for pk in claimed[:2]])
    outbox.outcomes_record(outcomes, worker="slow:1", journal=handover)
    sent = Delivery.objects.filter(id__in=claimed[:2])
    assert {(d.status, d.error, d.attempts) for d in sent} == {(S.SENT, "", 1)}
    assert not Handover.objects.exists()


def test_a_local_hour_reaches_each_reader_at_that_hour_in_their_zone(
    django_capture_on_commit_callbacks,
):
    newsletter = MailingListFactory()
    zones = [
        "Europe/Paris",
        "America/Montreal",
        "Africa/Douala",
        "America/Martinique",
        "Nowhere/Bad",
    ]
    contacts = {
        tz: SubscriptionFactory(
            mailing_list=newsletter, contact=ContactFactory(time_zone=tz)
        ).contact
        for tz in zones
    }
    mailing = scheduled(
        lists=[newsletter], send_date=dt.date(2026, 6, 15), send_time=dt.time(8, 0), local_time=True
    )
    assert mailing.scheduled_at == dt.datetime(2026, 6, 14, 18, 0, tzinfo=dt.UTC)  # UTC+14 first
    services.mailing_dispatch(mailing_id=mailing.pk)
    utc_hour = {
        "Europe/Paris": 6,
        "America/Montreal": 12,
        "Africa/Douala": 7,
        "America/Martinique": 12,
        "Nowhere/Bad": 6,
    }
    for tz, contact in contacts.items():
        row = Delivery.objects.get(contact=contact)
        assert row.not_before == dt.datetime(2026, 6, 15, utc_hour[tz], 0, tzinfo=dt.UTC), tz

    with time_machine.travel(dt.datetime(2026, 6, 15, 7, 30, tzinfo=dt.UTC), tick=False):
        services.outbox_send_batch()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        contacts[tz].email for tz in ("Europe/Paris", "Africa/Douala", "Nowhere/Bad")
    )


def test_the_sending_rate_is_shared_through_the_cache(settings, monkeypatch):
    settings.MAIL_SEND_RATE = 2
    waits = []
    monkeypatch.setattr(time, "sleep", lambda seconds: waits.append(seconds))
    with time_machine.travel(dt.datetime(2026, 1, 5, 10, 0, 0, 100_000, tzinfo=dt.UTC), tick=False):
        chains.throttle(1)
        chains.throttle(1)
        assert waits == []
        with pytest.raises(RecursionError), monkeypatch.context() as m:
            # The third message in the same second must wait: make the wait observable.
            m.setattr(time, "sleep", lambda s: (_ for _ in ()).throw(RecursionError(s)))
            chains.throttle(1)
    subs = subscribers(5)
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch()
    assert len(mail.outbox) == 5
    assert len(waits) >= 1  # five messages at two per second had to wait


def test_rows_whose_worker_dies_before_every_send_are_never_failed_without_a_send(settings):
    settings.MAIL_MAX_ATTEMPTS = 3
    settings.MAIL_PARALLEL_BATCHES = 0  # the tick restarts no chain: only the crashing worker
    subs = subscribers(1)
    mailing = scheduled(lists=[subs[0].mailing_list])
    services.mailing_dispatch(mailing_id=mailing.pk)
    later = timezone.now()
    for _attempt in range(4):
        assert claim(worker="crashing:1", size=10)  # …and the worker dies before sending
        later += dt.timedelta(minutes=10)
        with time_machine.travel(later, tick=False):
            services.outbox_recover()
    row = Delivery.objects.get()
    assert (row.status, row.attempts, row.error) == (S.PENDING, 0, "")
    services.outbox_send_batch()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (S.SENT, 1)
    assert len(mail.outbox) == 1
