"""Ticking « active » again: readers stopped by the deactivation resume, nobody else."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail

from config.tasks import tick
from mailings import services
from mailings.models import Delivery, Enrolment, Sequence
from signups.models import Subscription
from signups.services import subscription_confirm, subscription_unsubscribe
from signups.suppression import contact_suppress

from .factories import ContactFactory, SequenceFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC
S = Delivery.Status
Reason = Enrolment.StopReason


@pytest.fixture
def editor(client):
    client.force_login(get_user_model().objects.create_superuser("edit", "edit@pouls.example", "x"))
    return client


def run_tick(capture):
    with capture(execute=True):
        tick()


def subjects_to(email):
    return [m.subject for m in mail.outbox if m.to == [email]]


def confirmed_reader(sequence, *, time_zone="Europe/Paris"):
    subscription = SubscriptionFactory(
        mailing_list=sequence.mailing_list,
        contact=ContactFactory(time_zone=time_zone),
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    )
    subscription_confirm(subscription=subscription)
    return subscription


def save_in_admin(client, sequence, *, active: bool):
    """The sequence's change form, saved with « active » ticked or not, steps untouched."""
    data = {
        "mailing_list": sequence.mailing_list_id,
        "slug": sequence.slug,
        "name": sequence.name,
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    if active:
        data["is_active"] = "on"
    response = client.post(f"/admin/mailings/sequence/{sequence.pk}/change/", data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_reactivating_resumes_the_readers_the_deactivation_stopped_and_nobody_else(
    editor, django_capture_on_commit_callbacks
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(sequence=sequence, position=2, delay=dt.timedelta(days=1), subject="Leçon 2")
    StepFactory(sequence=sequence, position=3, delay=dt.timedelta(days=2), subject="Leçon 3")
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        waiting = confirmed_reader(sequence)  # has « Bienvenue », waits for « Leçon 2 »
        queued = confirmed_reader(sequence)  # « Leçon 2 » written but not sent yet
        left_before = confirmed_reader(sequence)
        left_during = confirmed_reader(sequence)
        bounced_during = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        subscription_unsubscribe(subscription=left_before)
        clock.move_to(start + dt.timedelta(days=1, minutes=1))
        Enrolment.objects.filter(contact=waiting.contact).update(
            next_due_at=start + dt.timedelta(days=2)  # as if it had confirmed later
        )
        assert services.enrolments_advance() == 3  # queued, left_during, bounced_during

        page = save_in_admin(editor, sequence, active=False)
        assert "3 envois n’auront pas lieu" in page
        run_tick(django_capture_on_commit_callbacks)
        subscription_unsubscribe(subscription=left_during)
        contact_suppress(contact=bounced_during.contact, reason="hard_bounce")
        reasons = dict(Enrolment.objects.values_list("contact_id", "stop_reason"))
        assert reasons == {
            waiting.contact_id: Reason.DEACTIVATED,
            queued.contact_id: Reason.DEACTIVATED,
            left_before.contact_id: Reason.UNSUBSCRIBED,
            left_during.contact_id: Reason.UNSUBSCRIBED,
            bounced_during.contact_id: Reason.SUPPRESSED,
        }

        clock.move_to(start + dt.timedelta(days=5))
        resumed_at = start + dt.timedelta(days=5)
        page = save_in_admin(editor, sequence, active=True)
        assert "Séquence réactivée : 2 lecteurs reprennent là où ils en étaient." in page
        assert Sequence.objects.get().is_active
        for reader in (waiting, queued):
            enrolment = Enrolment.objects.get(contact=reader.contact)
            assert enrolment.status == Enrolment.Status.ACTIVE
            assert enrolment.stop_reason == "" and enrolment.stopped_at is None
            assert enrolment.position == 1  # « Leçon 2 » is next for both
            assert enrolment.next_due_at == resumed_at  # overdue: due now
        for reader in (left_before, left_during, bounced_during):
            assert Enrolment.objects.get(contact=reader.contact).status == "stopped"

        run_tick(django_capture_on_commit_callbacks)
        clock.move_to(resumed_at + dt.timedelta(days=2, minutes=1))  # Leçon 3's delay
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)

    for reader in (waiting, queued):
        assert subjects_to(reader.contact.email) == ["Bienvenue", "Leçon 2", "Leçon 3"]
    for reader in (left_before, left_during, bounced_during):
        assert subjects_to(reader.contact.email) == ["Bienvenue"]
    # The cancelled row of « Leçon 2 » was sent again, not doubled.
    second = Delivery.objects.filter(step__position=2, contact=queued.contact).get()
    assert second.status == S.SENT and second.error == ""
    assert Delivery.objects.filter(step__position=2, status=S.SENT).count() == 2
    assert Delivery.objects.filter(step__position=2, status=S.CANCELLED).count() == 2


def test_a_resumed_step_waits_for_its_window_and_its_delay_from_the_last_step_received(
    editor, django_capture_on_commit_callbacks
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(
        sequence=sequence,
        position=2,
        delay=dt.timedelta(days=1),
        subject="Leçon du matin",
        window_start=dt.time(8, 0),
        window_end=dt.time(12, 0),
    )
    StepFactory(sequence=sequence, position=3, delay=dt.timedelta(days=3), subject="Leçon 3")
    # Monday 10:00 in Paris.
    start = dt.datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        early = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        clock.move_to(start + dt.timedelta(days=1))  # Tuesday 10:00: « Leçon du matin »
        late = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(early.contact.email) == ["Bienvenue", "Leçon du matin"]
        assert subjects_to(late.contact.email) == ["Bienvenue"]

        clock.move_to(start + dt.timedelta(days=1, hours=1))
        save_in_admin(editor, sequence, active=False)
        # Reactivated on Thursday at 23:00 in Paris: « Leçon du matin » is overdue for the
        # late reader but waits for Friday 08:00; « Leçon 3 » keeps its three days after
        # the early reader's « Leçon du matin ».
        clock.move_to(dt.datetime(2026, 4, 9, 21, 0, tzinfo=UTC))
        page = save_in_admin(editor, sequence, active=True)
        assert "2 lecteurs reprennent" in page
        friday_morning = dt.datetime(2026, 4, 10, 6, 0, tzinfo=UTC)
        due = dict(Enrolment.objects.values_list("contact_id", "next_due_at"))
        assert due[late.contact_id] == friday_morning
        assert due[early.contact_id] == start + dt.timedelta(days=4)
        run_tick(django_capture_on_commit_callbacks)
        save_in_admin(editor, sequence, active=True)  # saved again: nothing moves earlier
        assert Enrolment.objects.get(contact=late.contact).next_due_at == friday_morning
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(late.contact.email) == ["Bienvenue"]

        clock.move_to(friday_morning + dt.timedelta(seconds=10))
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(late.contact.email) == ["Bienvenue", "Leçon du matin"]
        assert subjects_to(early.contact.email) == ["Bienvenue", "Leçon du matin"]
        clock.move_to(start + dt.timedelta(days=4, seconds=10))
        run_tick(django_capture_on_commit_callbacks)
    assert subjects_to(late.contact.email) == ["Bienvenue", "Leçon du matin"]
    assert subjects_to(early.contact.email) == ["Bienvenue", "Leçon du matin", "Leçon 3"]


def test_deactivating_and_reactivating_twice_sends_the_cancelled_step_once(
    django_capture_on_commit_callbacks,
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    StepFactory(sequence=sequence, position=2, delay=dt.timedelta(hours=1), subject="Suite")
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        reader = confirmed_reader(sequence)
        assert services.enrolments_advance() == 1  # « Bienvenue » queued, not sent
        assert services.sequence_deactivate(sequence=sequence) == 1
        assert services.sequence_activate(sequence=sequence) == 1
        assert services.sequence_deactivate(sequence=sequence) == 0  # nothing queued now
        assert services.sequence_activate(sequence=sequence) == 1
        enrolment = Enrolment.objects.get()
        assert (enrolment.position, enrolment.last_sent_at) == (0, None)
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)
        clock.move_to(start + dt.timedelta(hours=1, minutes=1))
        run_tick(django_capture_on_commit_callbacks)
    assert subjects_to(reader.contact.email) == ["Bienvenue", "Suite"]
    assert list(Delivery.objects.values_list("status", flat=True)) == [S.SENT, S.SENT]


def test_a_reader_who_had_received_every_step_gets_nothing_again_but_gets_a_new_step(
    django_capture_on_commit_callbacks,
):
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Bienvenue")
    start = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        reader = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        services.sequence_deactivate(sequence=sequence)
        clock.move_to(start + dt.timedelta(days=3))
        assert services.sequence_activate(sequence=sequence) == 1
        enrolment = Enrolment.objects.get()
        assert enrolment.status == Enrolment.Status.ACTIVE and enrolment.next_due_at is None
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader.contact.email) == ["Bienvenue"]
        # As for any reader at the end of a sequence, a step appended later reaches them.
        StepFactory(sequence=sequence, position=2, delay=dt.timedelta(hours=1), subject="Bonus")
        services.sequence_reschedule(sequence=sequence)
        run_tick(django_capture_on_commit_callbacks)
    assert subjects_to(reader.contact.email) == ["Bienvenue", "Bonus"]


@pytest.mark.parametrize(
    "change, reason",
    [
        ("unsubscribe", Reason.UNSUBSCRIBED),
        ("suppress", Reason.SUPPRESSED),
        ("erase", Reason.ERASED),
        ("deactivate", Reason.DEACTIVATED),
    ],
)
def test_the_tick_records_why_it_stops_an_enrolment(change, reason):
    """Changes made behind the services' back (a plain update) are caught by the tick."""
    from django.utils import timezone

    from signups.models import Contact

    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0))
    reader = confirmed_reader(sequence)
    contact = Contact.objects.filter(pk=reader.contact_id)
    if change == "unsubscribe":
        Subscription.objects.filter(pk=reader.pk).update(status=Subscription.Status.UNSUBSCRIBED)
    elif change == "suppress":
        contact.update(suppressed_at=timezone.now())
    elif change == "erase":
        contact.update(email=None, erased_at=timezone.now())
    else:
        Sequence.objects.filter(pk=sequence.pk).update(is_active=False)
    assert services.enrolments_advance() == 0
    enrolment = Enrolment.objects.get()
    assert (enrolment.status, enrolment.stop_reason) == (Enrolment.Status.STOPPED, reason)
    resumed = services.sequence_activate(sequence=sequence)
    assert resumed == (1 if change == "deactivate" else 0)


def test_the_migration_marks_the_enrolments_an_earlier_deactivation_stopped():
    from django.utils import timezone

    migration = importlib.import_module("mailings.migrations.0003_enrolment_stop_reason")
    inactive = SequenceFactory(is_active=False)
    active = SequenceFactory()

    def stopped(sequence, **subscription_fields):
        subscription = SubscriptionFactory(
            mailing_list=sequence.mailing_list, **subscription_fields
        )
        return Enrolment.objects.create(
            sequence=sequence,
            contact=subscription.contact,
            subscription=subscription,
            status=Enrolment.Status.STOPPED,
        )

    deactivated = stopped(inactive)
    unsubscribed = stopped(inactive, status=Subscription.Status.UNSUBSCRIBED)
    suppressed = stopped(inactive, contact=ContactFactory(suppressed_at=timezone.now()))
    in_an_active_sequence = stopped(active)
    migration.mark_stopped_by_deactivation(apps, None)
    reasons = dict(Enrolment.objects.values_list("pk", "stop_reason"))
    assert reasons == {
        deactivated.pk: Reason.DEACTIVATED,
        unsubscribed.pk: "",
        suppressed.pk: "",
        in_an_active_sequence.pk: "",
    }
