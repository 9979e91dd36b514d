"""Each PostgreSQL statement and its ORM (portable) twin, run on the same rows.

PostgreSQL runs the one-statement forms; SQLite, the embedded default, runs their
twins. Both are run here on PostgreSQL, from the same rows (each inside a savepoint
rolled back afterwards, the clock frozen), and must return the same results and leave
the rows in the same state.
"""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from mailings import outbox
from mailings.models import Delivery, Mailing
from mailings.outbox import claim_orm, claim_postgresql, sent_statement
from signups.models import Answer, Consent, Contact, PendingSignup, Subscription, Suppression
from signups.services import email_hash, signup_write_orm, signup_write_postgresql

from .factories import (
    ContactFactory,
    MailingFactory,
    MailingListFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
S = Delivery.Status
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def both(run, state):
    """`run()` then `state()` with each twin, from the same rows: [(result, state)] × 2."""
    outcomes = []
    for implementation in run:
        with transaction.atomic():
            result = implementation()
            outcomes.append((result, state()))
            transaction.set_rollback(True)
    return outcomes


def outbox_state() -> list[dict]:
    return list(Delivery.objects.order_by("id").values())


def an_outbox():
    """A mailing's rows whose readers stayed, left, were suppressed or erased, or vanished;
    a step of a deactivated sequence; rows not sendable yet or already sent."""
    newsletter = MailingListFactory(name="La lettre « Pouls »")
    mailing = MailingFactory(lists=[newsletter], status=Mailing.Status.SENDING)
    readers = [
        SubscriptionFactory(mailing_list=newsletter, contact=ContactFactory(language=language))
        for language in ("fr", "en", "fr-ca", "", "de")
    ]
    readers[1].status = Subscription.Status.UNSUBSCRIBED
    readers[1].save()
    Contact.objects.filter(pk=readers[2].contact_id).update(suppressed_at=NOW)
    Contact.objects.filter(pk=readers[3].contact_id).update(erased_at=NOW, email=None)
    for sub in readers:
        Delivery.objects.create(mailing=mailing, contact=sub.contact, subscription=sub)
    # The outbox's references are not enforced: a reader deleted since dispatch.
    Delivery.objects.create(mailing=mailing, contact_id=10**9, subscription_id=10**9)
    sequence = SequenceFactory(mailing_list=newsletter, is_active=False)
    step = StepFactory(sequence=sequence, position=1)
    Delivery.objects.create(step=step, contact=readers[0].contact, subscription=readers[0])
    later = MailingFactory(lists=[newsletter], status=Mailing.Status.PAUSED)
    Delivery.objects.create(
        mailing=later, contact=readers[0].contact, subscription=readers[0], status=S.SENT
    )
    Delivery.objects.create(
        mailing=later,
        contact=readers[4].contact,
        subscription=readers[4],
        not_before=NOW + dt.timedelta(hours=1),
    )
    return mailing


@pytest.mark.parametrize("size", [3, 50])
def test_the_claim_statement_and_its_orm_twin_claim_and_read_the_same(postgres, size):
    an_outbox()
    with time_machine.travel(NOW, tick=False):
        (sql_rows, sql_state), (orm_rows, orm_state) = both(
            [
                lambda: claim_postgresql(worker="w:1", size=size),
                lambda: claim_orm(worker="w:1", size=size),
            ],
            outbox_state,
        )
    assert len(sql_rows) == min(size, 7)
    assert sql_rows == orm_rows
    assert sql_state == orm_state
    claimed = [row for row in sql_state if row["status"] == S.CLAIMED]
    assert [row["id"] for row in claimed] == [row["id"] for row in sql_rows]
    assert {row["claimed_by"] for row in claimed} == {"w:1"}


def test_recording_sent_rows_with_arrays_or_values_leaves_the_same_rows(postgres):
    an_outbox()
    with time_machine.travel(NOW, tick=False):
        claimed = [row["id"] for row in outbox.outbox_claim(worker="w:1", size=6)]
        outbox.outbox_claim(worker="w:2", size=1)  # another worker's row
        # The tick turned one unknown (the worker stalled past its lease): its attempt and
        # its error are the tick's, corrected by the worker's report.
        Delivery.objects.filter(pk=claimed[1]).update(
            status=S.UNKNOWN, attempts=1, error="peut-être parti"
        )
        theirs = Delivery.objects.get(claimed_by="w:2").pk
        sent = [(pk, f"<esp-{pk}@example.org>") for pk in [*claimed[:4], theirs]]

        def recorded(arrays):
            def run():
                statement, params = sent_statement(sent, worker="w:1", now=NOW, arrays=arrays)
                from django.db import connection

                with connection.cursor() as cursor:
                    cursor.execute(statement, params)
                    return cursor.rowcount

            return run

        (sql_count, sql_state), (values_count, values_state) = both(
            [recorded(True), recorded(False)], outbox_state
        )
    assert sql_count == values_count == 4
    assert sql_state == values_state
    rows = {row["id"]: row for row in sql_state}
    assert [rows[pk]["status"] for pk in claimed[:4]] == [S.SENT] * 4
    assert [rows[pk]["attempts"] for pk in claimed[:4]] == [1, 1, 1, 1]
    assert rows[claimed[1]]["error"] == ""
    assert [rows[pk]["esp_message_id"] for pk in claimed[:4]] == [sent[i][1] for i in range(4)]
    assert [rows[pk]["status"] for pk in claimed[4:]] == [S.CLAIMED] * 2
    assert rows[theirs]["status"] == S.CLAIMED


def signup_state() -> dict:
    """What a signup writes, by natural keys (ids differ between runs)."""

    def rows(model, *keys):
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not f.primary_key and not f.is_relation
        ]
        return sorted(
            (tuple(map(str, row)) for row in model.objects.values_list(*keys, *fields)),
        )

    return {
        "contacts": rows(Contact),
        "subscriptions": rows(Subscription, "contact__email", "mailing_list__slug"),
        "consents": rows(Consent, "contact__email", "mailing_list__slug"),
        "answers": rows(Answer, "contact__email", "mailing_list__slug"),
        "pending": rows(PendingSignup, "subscription__contact__email"),
    }


def signup_values(mailing_list, email, **changes) -> dict:
    values = {
        "email": email,
        "hash": email_hash(email),
        "first_name": "Awa",
        "profile": "",
        "time_zone": "Africa/Douala",
        "language": "fr",
        "source": "accueil",
        "list": mailing_list.pk,
        "form": "accueil",
        "ip": "198.51.100.7",
        "agent": "Navigateur/1.0",
        "answer": "Comment fixer mes prix ?",
        "now": NOW,
    }
    return {**values, **changes}


@pytest.mark.parametrize(
    "case", ["new", "known", "known-unsubscribed", "suppressed", "inactive-list", "no-answer"]
)
def test_the_signup_statement_and_its_orm_twin_write_the_same(postgres, case):
    newsletter = MailingListFactory()
    closed = MailingListFactory(slug="fermee", name="Fermée", is_active=False)
    known = SubscriptionFactory(
        mailing_list=newsletter,
        contact=ContactFactory(email="connue@example.org", first_name="Inès"),
    )
    email = {"known": known.contact.email, "known-unsubscribed": known.contact.email}.get(
        case, "nouvelle@example.org"
    )
    changes = {}
    if case == "known-unsubscribed":
        Subscription.objects.filter(pk=known.pk).update(status=Subscription.Status.UNSUBSCRIBED)
    if case == "suppressed":
        Suppression.objects.create(email_hash=email_hash(email), reason="hard_bounce")
    if case == "inactive-list":
        changes["list"] = closed.pk
    if case == "no-answer":
        changes["answer"] = ""
    values = signup_values(newsletter, email, **changes)

    def subscription_of(write):
        def run():
            pk = write(values)
            if pk is None:
                return None
            subscription = Subscription.objects.get(pk=pk)
            return (subscription.contact.email, subscription.mailing_list.slug)

        return run

    with time_machine.travel(NOW, tick=False):
        (sql_result, sql_state), (orm_result, orm_state) = both(
            [subscription_of(signup_write_postgresql), subscription_of(signup_write_orm)],
            signup_state,
        )
    assert sql_result == orm_result
    assert sql_state == orm_state
    new_reader = case in ("new", "no-answer")
    assert len(sql_state["contacts"]) == (2 if new_reader else 1)
    assert (sql_result is None) is (case in ("suppressed", "inactive-list"))
    assert len(sql_state["pending"]) == (1 if case.startswith("known") else 0)
