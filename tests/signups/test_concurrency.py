"""Concurrent re-signups while the reply sender runs, on PostgreSQL: one lock order
(contact, then subscription) everywhere, so no deadlock, no 500, no signup lost."""

import logging
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from signups import replies, services
from signups.models import PendingSignup, Subscription

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12
ROUNDS = 5
ADDRESSES = [f"reader{n}@example.org" for n in range(4)]


def test_concurrent_re_signups_while_the_reply_sender_runs(lists, postgres, settings, caplog):
    settings.SIGNUPS_RATE_PER_IP = (10**6, 600)
    settings.SIGNUPS_RATE_PER_ADDRESS = (10**6, 600)
    for email in ADDRESSES:  # known addresses, each with a pending newsletter subscription
        services.signup_submit(mailing_list=lists["newsletter"], email=email, form="t")
    caplog.set_level(logging.WARNING)
    statuses, errors = [], []
    running = threading.Event()
    running.set()

    def reader(n):
        client = Client(raise_request_exception=False)
        try:
            for round_ in range(ROUNDS):
                slug = ("newsletter", "atelier")[round_ % 2]
                response = client.post(
                    f"/inscription/{slug}/",
                    {
                        "email": ADDRESSES[n % len(ADDRESSES)],
                        "consent": "on",
                        "first_name": f"Lecteur {n}",
                    },
                    REMOTE_ADDR=f"192.0.2.{n + 1}",
                )
                statuses.append(response.status_code)
        finally:
            connection.close()

    def sender():
        try:
            while running.is_set():
                for pk in Subscription.objects.values_list("pk", flat=True):
                    Subscription.objects.filter(pk=pk).update(reply_requested_at=timezone.now())
                    replies.signup_replies_send()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    background = threading.Thread(target=sender)
    background.start()
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running.clear()
    background.join()

    assert statuses == [303] * THREADS * ROUNDS
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    # Every signup kept: each one's submission waits for its owner's confirmation.
    assert PendingSignup.objects.count() == THREADS * ROUNDS
    assert Subscription.objects.count() == 2 * len(ADDRESSES)
