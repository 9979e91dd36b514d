"""A reader pauses the workshop from the preference centre, then resumes it: nothing goes
out meanwhile, and resuming sends the next lesson, not every lesson missed."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client

from config.tasks import tick
from mailings import pausing
from mailings.models import Delivery, Enrolment
from signups import tokens
from signups.models import Consent, Subscription
from signups.services import subscription_confirm, subscription_unsubscribe

from .factories import ContactFactory, SequenceFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC
S = Delivery.Status
START = dt.datetime(2026, 4, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def sequence():
    sequence = SequenceFactory(name="Comment lire dans les pensées de ses clients")
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Leçon 1")
    StepFactory(sequence=sequence, position=2, delay=dt.timedelta(days=2), subject="Leçon 2")
    StepFactory(sequence=sequence, position=3, delay=dt.timedelta(days=2), subject="Leçon 3")
    return sequence


def confirmed_reader(sequence):
    subscription = SubscriptionFactory(
        mailing_list=sequence.mailing_list,
        contact=ContactFactory(time_zone="Europe/Paris"),
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    )
    subscription_confirm(subscription=subscription)
    return subscription.contact


def run_tick(capture):
    with capture(execute=True):
        tick()


def subjects_to(contact):
    return [m.subject for m in mail.outbox if m.to == [contact.email]]


def test_paused_readers_get_nothing_and_resume_with_the_next_lesson_only(
    sequence, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False) as clock:
        reader = confirmed_reader(sequence)
        other = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1"]

        clock.move_to(START + dt.timedelta(hours=12))  # 36 h left before « Leçon 2 »
        paused = pausing.enrolment_pause(contact_id=reader.pk, sequence_id=sequence.pk)
        assert paused.status == Enrolment.Status.PAUSED and paused.next_due_at is None
        assert pausing.enrolment_pause(contact_id=reader.pk, sequence_id=sequence.pk) is None

        clock.move_to(START + dt.timedelta(days=10))  # both lessons' dates have passed
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1"]
        assert subjects_to(other) == ["Leçon 1", "Leçon 2"]

        resumed_at = START + dt.timedelta(days=10)
        resumed = pausing.enrolment_resume(contact_id=reader.pk, sequence_id=sequence.pk)
        assert resumed.status == Enrolment.Status.ACTIVE and resumed.paused_at is None
        assert resumed.next_due_at == resumed_at + dt.timedelta(hours=36)  # the time left
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1"]

        clock.move_to(resumed_at + dt.timedelta(hours=36, minutes=1))
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1", "Leçon 2"]  # not 2 and 3 together

        clock.move_to(resumed_at + dt.timedelta(days=3, hours=13))
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)
    assert subjects_to(reader) == ["Leçon 1", "Leçon 2", "Leçon 3"]


def test_a_lesson_written_but_not_sent_is_cancelled_then_sent_once_after_resuming(
    sequence, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False) as clock:
        reader = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        clock.move_to(START + dt.timedelta(days=2, minutes=1))
        from mailings.services import enrolments_advance

        assert enrolments_advance() == 1  # « Leçon 2 » written, not handed over yet
        pausing.enrolment_pause(contact_id=reader.pk, sequence_id=sequence.pk)
        row = Delivery.objects.get(contact=reader, step__position=2)
        assert row.status == S.CANCELLED
        enrolment = Enrolment.objects.get(contact=reader)
        assert enrolment.position == 1  # put back before the lesson it did not get
        run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1"]

        clock.move_to(START + dt.timedelta(days=4))
        pausing.enrolment_resume(contact_id=reader.pk, sequence_id=sequence.pk)
        assert Enrolment.objects.get(contact=reader).next_due_at == START + dt.timedelta(days=4)
        run_tick(django_capture_on_commit_callbacks)
        run_tick(django_capture_on_commit_callbacks)
    assert subjects_to(reader) == ["Leçon 1", "Leçon 2"]
    assert Delivery.objects.filter(contact=reader, step__position=2).get().status == S.SENT


def test_leaving_while_paused_stops_the_enrolment(sequence, django_capture_on_commit_callbacks):
    reader = confirmed_reader(sequence)
    pausing.enrolment_pause(contact_id=reader.pk, sequence_id=sequence.pk)
    subscription_unsubscribe(subscription=reader.subscriptions.get())
    enrolment = Enrolment.objects.get(contact=reader)
    assert (enrolment.status, enrolment.stop_reason, enrolment.paused_at) == (
        "stopped",
        "unsubscribed",
        None,
    )
    assert pausing.enrolment_resume(contact_id=reader.pk, sequence_id=sequence.pk) is None


def _preferences(contact):
    return "/" + tokens.preferences_url(contact).split("/", 3)[3]


def test_the_preference_centre_shows_progress_pauses_and_resumes(
    sequence, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False):
        reader = confirmed_reader(sequence)
        run_tick(django_capture_on_commit_callbacks)
        client = Client(enforce_csrf_checks=True)
        url = _preferences(reader)
        page = client.get(url)
        html = page.content.decode()
        assert "Leçon 1 sur 3" in html
        assert '<progress max="3" value="1">' in html
        assert "Prochaine leçon\xa0: mercredi 8 avril à 12:00." in html  # Paris time
        assert 'value="pause"' in html and 'value="resume"' not in html
        token = page.context["csrf_token"]

        data = {"csrfmiddlewaretoken": token, "action": "pause", "sequence": sequence.pk}
        html = client.post(url, data, HTTP_USER_AGENT="Navigateur", REMOTE_ADDR="203.0.113.9")
        html = html.content.decode()
        assert "C’est en pause" in html and "en pause" in html
        assert 'value="resume"' in html and 'value="pause"' not in html
        assert Enrolment.objects.get(contact=reader).status == "paused"
        evidence = Consent.objects.get(contact=reader, form="preferences:pause")
        assert evidence.text == f"Mettre en pause : {sequence.name}"
        assert (evidence.ip_address, evidence.user_agent) == ("203.0.113.9", "Navigateur")

        data["action"] = "resume"
        html = client.post(url, data).content.decode()
        assert "C’est reparti" in html and 'value="pause"' in html
        assert Enrolment.objects.get(contact=reader).status == "active"
        assert Consent.objects.filter(contact=reader, form="preferences:reprise").count() == 1

        # Again: nothing changes, nothing is recorded.
        html = client.post(url, data).content.decode()
        assert "Rien n’a changé" in html
        assert Consent.objects.filter(contact=reader, form="preferences:reprise").count() == 1


def test_another_readers_sequence_or_garbage_changes_nothing(sequence):
    reader = confirmed_reader(sequence)
    stranger = confirmed_reader(sequence)
    client = Client()
    for value in ("abc", "", str(sequence.pk + 99)):
        client.post(_preferences(reader), {"action": "pause", "sequence": value})
    # The sequence id is the reader's own enrolment only: the stranger's is untouched.
    client.post(_preferences(reader), {"action": "pause", "sequence": sequence.pk})
    assert Enrolment.objects.get(contact=stranger).status == "active"
    assert Enrolment.objects.get(contact=reader).status == "paused"


def test_a_finished_workshop_offers_no_pause(sequence, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        reader = confirmed_reader(sequence)
        for days in (0, 2, 4):
            clock.move_to(START + dt.timedelta(days=days, minutes=1))
            run_tick(django_capture_on_commit_callbacks)
            run_tick(django_capture_on_commit_callbacks)
        assert subjects_to(reader) == ["Leçon 1", "Leçon 2", "Leçon 3"]
        html = Client().get(_preferences(reader)).content.decode()
    assert "Leçon 3 sur 3" in html and "terminé" in html
    assert 'value="pause"' not in html
    assert pausing.enrolment_pause(contact_id=reader.pk, sequence_id=sequence.pk) is None
