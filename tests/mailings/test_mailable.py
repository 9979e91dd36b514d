"""Who may be mailed is one rule written twice: for querysets
(`Subscription.objects.mailable()`, `Contact.objects.mailable()`, what dispatch and
enrolment read) and for a row already read (`recipients.skip_reason`, what the batch
and the sequence tick ask). These tests hold the two to the same answer for readers in
every state, through the claim statement on PostgreSQL and its portable twin."""

import datetime as dt

import pytest
from django.utils import timezone

from mailings import outbox, recipients
from mailings.models import Delivery, Enrolment, audience_contacts, audience_of
from mailings.sequences import enrolments_advance
from signups.models import Contact, Subscription, Suppression, email_hash

from .factories import MailingFactory, MailingListFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

Skip = Enrolment.StopReason
ACTIVE, PENDING, UNSUBSCRIBED = (
    Subscription.Status.ACTIVE,
    Subscription.Status.PENDING,
    Subscription.Status.UNSUBSCRIBED,
)


def _readers(mailing_list) -> dict[str, tuple[Subscription, str]]:
    """One subscription per state, with the reason `skip_reason` must give ("" = mailable)."""
    now = timezone.now()
    states = {
        "confirmed": ({}, ACTIVE, ""),
        "unconfirmed": ({}, PENDING, Skip.UNSUBSCRIBED),
        "unsubscribed": ({}, UNSUBSCRIBED, Skip.UNSUBSCRIBED),
        "suppressed": (
            {"suppressed_at": now, "suppression_reason": "hard_bounce"},
            ACTIVE,
            Skip.SUPPRESSED,
        ),
        "soft-bounce-stopped": (
            {"suppressed_at": now, "suppression_reason": "soft_bounces"},
            ACTIVE,
            Skip.SUPPRESSED,
        ),
        "complained and unsubscribed": (
            {"suppressed_at": now, "suppression_reason": "complaint"},
            UNSUBSCRIBED,
            Skip.SUPPRESSED,
        ),
        "erased": ({"email": None, "erased_at": now, "first_name": ""}, ACTIVE, Skip.ERASED),
        "erased, unsubscribed": ({"email": None, "erased_at": now}, UNSUBSCRIBED, Skip.ERASED),
        "no address": ({"email": ""}, ACTIVE, Skip.ERASED),
        "unconfirmed and suppressed": ({"suppressed_at": now}, PENDING, Skip.SUPPRESSED),
    }
    readers = {}
    for name, (contact_fields, status, reason) in states.items():
        subscription = SubscriptionFactory(mailing_list=mailing_list, status=status)
        if contact_fields:
            Contact.objects.filter(pk=subscription.contact_id).update(**contact_fields)
        readers[name] = (subscription, reason)
    suppressed = readers["suppressed"][0].contact
    Suppression.objects.create(email_hash=email_hash(suppressed.email), reason="hard_bounce")
    return readers


def _claimed_rows(readers, mailing, claim) -> dict[int, dict]:
    Delivery.objects.bulk_create(
        Delivery(mailing=mailing, contact_id=s.contact_id, subscription=s)
        for s, _reason in readers.values()
    )
    rows = claim(worker="test", size=100)
    assert len(rows) == len(readers)
    return {row["subscription_id"]: row for row in rows}


def _assert_agree(readers, rows) -> None:
    mailable = set(Subscription.objects.mailable().values_list("pk", flat=True))
    assert mailable == {readers["confirmed"][0].pk}
    for name, (subscription, reason) in readers.items():
        said = recipients.skip_reason(rows[subscription.pk])
        assert said == reason, name
        assert (said == "") == (subscription.pk in mailable), name


def test_the_claim_statement_and_the_queryset_agree_in_every_state(postgres):
    newsletter = MailingListFactory()
    readers = _readers(newsletter)
    rows = _claimed_rows(readers, MailingFactory(lists=[newsletter]), outbox.claim_postgresql)
    # Read by RECIPIENTS_SQL in the claim statement itself: the dates come as booleans.
    assert rows[readers["suppressed"][0].pk]["contact__suppressed_at"] is True
    _assert_agree(readers, rows)


def test_the_portable_lookups_and_the_queryset_agree_in_every_state():
    newsletter = MailingListFactory()
    readers = _readers(newsletter)
    rows = _claimed_rows(readers, MailingFactory(lists=[newsletter]), outbox.claim_orm)
    _assert_agree(readers, rows)


def test_contacts_and_audiences_follow_the_same_rule():
    newsletter = MailingListFactory()
    readers = _readers(newsletter)
    confirmed = readers["confirmed"][0]
    # Every contact here but the confirmed one is unmailable, or only has a subscription
    # that is not (an unconfirmed or unsubscribed one).
    mailable_contacts = set(Contact.objects.mailable().values_list("pk", flat=True))
    for subscription, _reason in readers.values():
        contact = Contact.objects.get(pk=subscription.contact_id)
        assert contact.is_sendable == (contact.pk in mailable_contacts), contact
    assert list(audience_contacts(list_ids=[newsletter.pk])) == [confirmed.contact]
    assert list(audience_of(list_ids=[newsletter.pk])) == [confirmed]


def test_the_batch_skips_each_reader_for_the_reason_the_rule_gives():
    newsletter = MailingListFactory()
    readers = _readers(newsletter)
    mailing = MailingFactory(lists=[newsletter])
    claimed = list(_claimed_rows(readers, mailing, outbox.outbox_claim).values())
    sendable = recipients.settle_unsendable(claimed, worker="test")
    assert [row["subscription_id"] for row in sendable] == [readers["confirmed"][0].pk]
    for name, (subscription, reason) in readers.items():
        if reason:
            delivery = Delivery.objects.get(subscription=subscription)
            assert delivery.status == Delivery.Status.SKIPPED, name
            assert delivery.error == recipients.skip_message(reason), name


def test_the_sequence_tick_stops_each_reader_for_the_reason_the_rule_gives():
    workshop = MailingListFactory(slug="atelier", name="Atelier")
    readers = _readers(workshop)
    step = StepFactory(sequence__mailing_list=workshop)
    long_ago = timezone.now() - dt.timedelta(days=3)
    Enrolment.objects.bulk_create(
        Enrolment(
            sequence=step.sequence,
            contact_id=s.contact_id,
            subscription=s,
            enrolled_at=long_ago,
            next_due_at=long_ago + step.delay,
        )
        for s, _reason in readers.values()
    )
    # A reader who paused the sequence from their preferences gets no step either.
    paused = SubscriptionFactory(mailing_list=workshop)
    Enrolment.objects.create(
        sequence=step.sequence,
        contact_id=paused.contact_id,
        subscription=paused,
        enrolled_at=long_ago,
        status=Enrolment.Status.PAUSED,
        paused_at=long_ago,
        next_due_at=long_ago + step.delay,
    )
    assert enrolments_advance() == 1
    assert Enrolment.objects.get(subscription=paused).status == Enrolment.Status.PAUSED
    for name, (subscription, reason) in readers.items():
        enrolment = Enrolment.objects.get(subscription=subscription)
        assert enrolment.stop_reason == reason, name
        expected = Enrolment.Status.STOPPED if reason else Enrolment.Status.ACTIVE
        assert enrolment.status == expected, name
    assert list(Delivery.objects.values_list("subscription_id", flat=True)) == [
        readers["confirmed"][0].pk
    ]
