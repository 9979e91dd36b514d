"""Sequences step by step in time: delays, windows in the reader's zone, enrol and stop."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from config.tasks import tick
from mailings.models import Delivery, Enrolment, Sequence, Step
from mailings.services import sequence_reschedule
from signups.models import Subscription
from signups.services import subscription_confirm, subscription_unsubscribe
from signups.suppression import contact_suppress

from .factories import (
    ContactFactory,
    MailingListFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def run_tick(capture):
    with capture(execute=True):
        tick()


def subjects_to(email):
    return [m.subject for m in mail.outbox if m.to == [email]]


def confirmed_reader(sequence, *, time_zone="Europe/Paris", first_name="Awa"):
    subscription = SubscriptionFactory(
        mailing_list=sequence.mailing_list,
        contact=ContactFactory(time_zone=time_zone, first_name=first_name),
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    )
    subscription_confirm(subscription=subscription)
    return subscription


def test_confirming_enrols_and_steps_follow_their_delays(django_capture_on_commit_callbacks):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(sequence=sequence, position=2, delay=dt.timedelta(days=2), subject="Leçon 2")
    StepFactory(sequence=sequence, position=3, delay=dt.timedelta(days=3), subject="Leçon 3")
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        reader = confirmed_reader(sequence)
        email = reader.contact.email
        assert Enrolment.objects.get().next_due_at == start
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(email) == ["Bienvenue"]
        body = mail.outbox[0].body
        assert "Une leçon pour Awa." in body

        clock.move_to(start + dt.timedelta(days=2) - dt.timedelta(minutes=1))
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(email) == ["Bienvenue"]
        clock.move_to(start + dt.timedelta(days=2, seconds=15))
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)  # a second tick sends nothing twice
        assert subjects_to(email) == ["Bienvenue", "Leçon 2"]
        clock.move_to(start + dt.timedelta(days=5, seconds=30))
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(email) == ["Bienvenue", "Leçon 2", "Leçon 3"]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


@pytest.mark.parametrize(
    "time_zone, expected_utc",
    [
        # Due Friday 2026-04-10 at 21:00 UTC. Window 08:00–20:00, weekdays only.
        ("Europe/Paris", dt.datetime(2026, 4, 13, 6, 0, tzinfo=UTC)),  # 23:00 Fri → Mon 08:00 CEST
        ("America/Montreal", dt.datetime(2026, 4, 10, 21, 0, tzinfo=UTC)),  # 17:00 Fri EDT: open
        ("Africa/Douala", dt.datetime(2026, 4, 13, 7, 0, tzinfo=UTC)),  # 22:00 Fri → Mon 08:00 WAT
        ("Pacific/Noumea", dt.datetime(2026, 4, 12, 21, 0, tzinfo=UTC)),  # 08:00 Sat → Mon 08:00
    ],
)
def test_sending_windows_follow_the_readers_time_zone(
    time_zone, expected_utc, django_capture_on_commit_callbacks
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(
        sequence=sequence,
        position=2,
        delay=dt.timedelta(days=1),
        subject="Leçon en semaine",
        window_start=dt.time(8, 0),
        window_end=dt.time(20, 0),
        weekdays_only=True,
    )
    with time_machine.travel(dt.datetime(2026, 4, 9, 21, 0, tzinfo=UTC), tick=False) as clock:
        reader = confirmed_reader(sequence, time_zone=time_zone)
        run_tick(django_capture_on_commit_callbacks)
        enrolment = Enrolment.objects.get()
        assert enrolment.next_due_at == expected_utc
        clock.move_to(expected_utc - dt.timedelta(minutes=1))
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader.contact.email) == ["Bienvenue"]
        clock.move_to(expected_utc + dt.timedelta(seconds=10))
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader.contact.email) == ["Bienvenue", "Leçon en semaine"]


def test_unsubscribing_or_suppression_ends_the_enrolment_at_once(
    django_capture_on_commit_callbacks,
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(hours=1))
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        leaving = confirmed_reader(sequence)
        bouncing = confirmed_reader(sequence)
        staying = confirmed_reader(sequence)
        subscription_unsubscribe(subscription=leaving)
        contact_suppress(contact=bouncing.contact, reason="hard_bounce")
        assert Enrolment.objects.filter(status=Enrolment.Status.STOPPED).count() == 2
        clock.move_to(start + dt.timedelta(hours=2))
        run_tick(django_capture_on_commit_callbacks)
    assert [m.to[0] for m in mail.outbox] == [staying.contact.email]


def test_a_step_queued_before_unsubscribing_is_not_sent(django_capture_on_commit_callbacks):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0))
    reader = confirmed_reader(sequence)
    from mailings.services import enrolments_advance

    assert enrolments_advance() == 1  # the row is written, not yet sent
    subscription_unsubscribe(subscription=reader)
    run_tick(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED


def test_a_step_added_later_reaches_readers_who_have_not_passed_it_and_edits_apply(
    django_capture_on_commit_callbacks,
):
    sequence = SequenceFactory()
    first = StepFactory(sequence=sequence, position=10, delay=dt.timedelta(0), subject="Un")
    StepFactory(sequence=sequence, position=20, delay=dt.timedelta(days=1), subject="Deux")
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        early = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        clock.move_to(start + dt.timedelta(days=1, minutes=1))
        run_tick(django_capture_on_commit_callbacks)
        late = confirmed_reader(sequence)  # enrolled today: has received nothing yet
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(early.contact.email) == ["Un", "Deux"]
        assert subjects_to(late.contact.email) == ["Un"]

        # The editor inserts a step before « Deux » and appends one after it, and
        # rewrites the second step.
        StepFactory(
            sequence=sequence, position=15, delay=dt.timedelta(hours=1), subject="Un et demi"
        )
        StepFactory(sequence=sequence, position=30, delay=dt.timedelta(days=1), subject="Trois")
        Step.objects.filter(position=20).update(subject="Deux (revu)")
        sequence_reschedule(sequence=sequence)
        first.refresh_from_db()

        clock.move_to(start + dt.timedelta(days=4))
        for _ in range(4):
            run_tick(django_capture_on_commit_callbacks)
            clock.shift(dt.timedelta(days=1, minutes=1))
    assert subjects_to(early.contact.email) == ["Un", "Deux", "Trois"]
    assert subjects_to(late.contact.email) == ["Un", "Un et demi", "Deux (revu)", "Trois"]


def test_bootstrap_creates_the_welcomes_and_the_workshop_once():
    call_command("bootstrap", stdout=StringIO())
    call_command("bootstrap", stdout=StringIO())
    workshop = Sequence.objects.get(mailing_list__slug="atelier")
    lessons = list(workshop.steps.order_by("position"))
    assert 4 <= len(lessons) <= 5
    total = sum((step.delay for step in lessons), dt.timedelta())
    assert dt.timedelta(days=8) <= total <= dt.timedelta(days=12)
    assert "Comment lire dans les pensées de ses clients" in lessons[0].body
    for lesson in lessons:
        assert "exercice" in lesson.body.lower()
        assert "répondez" in lesson.body.lower()
        assert lesson.window_start == dt.time(8, 0)
    for slug in ("newsletter", "entretiens"):
        welcome = Sequence.objects.get(mailing_list__slug=slug).steps.get()
        assert welcome.delay == dt.timedelta(0) and welcome.subject.startswith("Bienvenue")
    assert Sequence.objects.count() == 3 and Step.objects.count() == len(lessons) + 2


def test_deactivating_a_sequence_in_the_admin_cancels_its_queued_steps(
    client, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from mailings.services import enrolments_advance

    client.force_login(get_user_model().objects.create_superuser("edit", "edit@pouls.example", "x"))
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(sequence=sequence, position=2, delay=dt.timedelta(days=1), subject="Suite")
    confirmed_reader(sequence)
    other = SequenceFactory(mailing_list=MailingListFactory(slug="autre", name="Autre"))
    StepFactory(sequence=other, position=1, delay=dt.timedelta(0), subject="Autre")
    other_reader = confirmed_reader(other)
    assert enrolments_advance() == 2  # rows written, not sent yet
    response = client.post(
        f"/admin/mailings/sequence/{sequence.pk}/change/",
        {
            "mailing_list": sequence.mailing_list_id,
            "slug": sequence.slug,
            "name": sequence.name,
            "steps-TOTAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
        },
        follow=True,
    )
    assert "1 envois n’auront pas lieu" in response.content.decode()
    run_tick(django_capture_on_commit_callbacks)
    assert [m.subject for m in mail.outbox] == ["Autre"]
    assert mail.outbox[0].to == [other_reader.contact.email]
    stopped = Delivery.objects.get(step__sequence=sequence)
    assert stopped.status == Delivery.Status.CANCELLED
    enrolment = Enrolment.objects.get(sequence=sequence)
    assert enrolment.status == Enrolment.Status.STOPPED
    assert enrolment.next_due_at is None
    with time_machine.travel(dt.datetime.now(UTC) + dt.timedelta(days=2)):
        run_tick(django_capture_on_commit_callbacks)
    assert "Suite" not in [m.subject for m in mail.outbox]


def test_a_step_claimed_before_its_sequence_was_deactivated_is_skipped_not_sent(
    django_capture_on_commit_callbacks,
):
    from mailings.services import enrolments_advance

    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0))
    confirmed_reader(sequence)
    assert enrolments_advance() == 1
    # Deactivated behind the batch's back (the row already claimed, or a plain save).
    Sequence.objects.filter(pk=sequence.pk).update(is_active=False)
    run_tick(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SKIPPED
    assert "séquence désactivée" in delivery.error


def test_a_step_the_deactivation_cancels_under_a_batch_stays_cancelled_and_resumes(
    django_capture_on_commit_callbacks, monkeypatch
):
    """The batch has claimed the row when the editor deactivates: the row stays
    « cancelled » (not relabelled skipped), so reactivating sends it, once."""
    from mailings import outbox, services

    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Leçon 1")
    confirmed_reader(sequence)
    assert services.enrolments_advance() == 1
    claim = outbox.outbox_claim

    def claim_then_deactivate(**kwargs):
        rows = claim(**kwargs)
        services.sequence_deactivate(sequence=Sequence.objects.get(pk=sequence.pk))
        for row in rows:  # the batch reads the sequence after the deactivation
            row["step__sequence__is_active"] = False
        return rows

    monkeypatch.setattr(outbox, "outbox_claim", claim_then_deactivate)
    services.outbox_send_batch()
    monkeypatch.setattr(outbox, "outbox_claim", claim)
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.CANCELLED

    services.sequence_activate(sequence=Sequence.objects.get(pk=sequence.pk))
    run_tick(django_capture_on_commit_callbacks)
    run_tick(django_capture_on_commit_callbacks)
    assert [m.subject for m in mail.outbox] == ["Leçon 1"]
    assert Delivery.objects.get().status == Delivery.Status.SENT
