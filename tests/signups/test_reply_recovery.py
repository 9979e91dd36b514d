"""A run of the signup replies stopped in the middle of a chunk: nobody gets an email
twice, the replies never handed over are sent by a later run once the lease has
expired, and those that may have left (at most one journal step) are not resent but
free their address, so that its owner can ask again at once."""

import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.utils import timezone

from signups import replies, services
from signups.models import Contact, Subscription
from tests.conftest import require
from tests.helpers import free_port, process_env, start_worker, wait_for

from .conftest import signup

SIGNUPS = 25
STOP_AT = 15  # the message during which the worker stops


class Stopped(BaseException):
    """What a SIGKILL is to the run: nothing after it runs, no handler sees it."""


class StoppingBackend(EmailBackend):
    def send_messages(self, messages):
        if len(mail.outbox) + 1 == STOP_AT:
            raise Stopped
        return super().send_messages(messages)


def _pending(lists, count):
    for n in range(count):
        services.signup_submit(
            mailing_list=lists["newsletter"], email=f"r{n:02}@example.org", form="t"
        )


@pytest.mark.django_db
def test_a_run_stopped_mid_chunk_loses_at_most_one_step(
    lists, settings, django_capture_on_commit_callbacks, client
):
    settings.EMAIL_BACKEND = "tests.signups.test_reply_recovery.StoppingBackend"
    with django_capture_on_commit_callbacks(execute=False):
        _pending(lists, SIGNUPS)
    with pytest.raises(Stopped):
        replies.signup_replies_send()
    sent = [m.to[0] for m in mail.outbox]
    assert sent == [f"r{n:02}@example.org" for n in range(STOP_AT - 1)]
    step = replies.REPLY_HANDOVER_STEP
    journalled = -(-STOP_AT // step) * step  # the steps begun: 20
    claims = Subscription.objects.filter(reply_claimed_at__isnull=False)
    assert claims.count() == SIGNUPS
    assert claims.filter(reply_in_flight=True).count() == journalled

    # Within the lease the claims are a live run's: nothing is touched.
    assert replies.signup_replies_send() == 0
    assert claims.count() == SIGNUPS

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + replies.REPLY_LEASE + timedelta(seconds=1)):
        assert replies.signup_replies_send() == SIGNUPS - journalled
        resent = [m.to[0] for m in mail.outbox[len(sent) :]]
        assert resent == [f"r{n:02}@example.org" for n in range(journalled, SIGNUPS)]
        assert not Counter(m.to[0] for m in mail.outbox) - Counter(set(sent + resent))
        assert not Subscription.objects.filter(reply_claimed_at__isnull=False).exists()
        # Maybe sent: not resent, and the address is free to ask again.
        maybe_sent = [f"r{n:02}@example.org" for n in range(STOP_AT - 1, journalled)]
        assert list(
            Contact.objects.filter(email__in=maybe_sent).values_list(
                "transactional_sent_at", flat=True
            )
        ) == [None] * len(maybe_sent)
        signup(
            client,
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            email=maybe_sent[0],
            ip="192.0.2.44",
        )
    assert mail.outbox[-1].to == [maybe_sent[0]]


class StallingServer:
    """An SMTP server that counts each message's recipient on arrival and, at the
    STOP_AT-th message, does not answer: the worker waits there until it is killed."""

    def __init__(self):
        self.received = Counter()
        self.lock = threading.Lock()
        self.stalled = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        with self.lock:
            for address in envelope.rcpt_tos:
                self.received[address] += 1
            count = sum(self.received.values())
        if count == STOP_AT:
            self.stalled.set()
            await asyncio.sleep(60)
        return "250 Message accepted"


@pytest.mark.worker
@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_it_sends_the_confirmations(tmp_path, lists, settings):
    """A real worker, SIGKILLed while the mail server holds one confirmation: a later
    run after the lease sends the ones never handed over, nobody gets two."""
    require(connection.vendor == "postgresql", "needs PostgreSQL")
    from config import celery_app

    server = StallingServer()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    celery_app.conf.task_always_eager = False  # the signups queue a real wake-up
    _pending(lists, SIGNUPS)
    log = (tmp_path / "worker.log").open("w")
    worker = start_worker(
        log=log,
        env=process_env(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
        ),
    )
    try:
        wait_for(server.stalled.is_set, timeout=60, message="the worker to reach the stall")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        time.sleep(0.2)
        received = +server.received
        assert sum(received.values()) == STOP_AT  # the stalled one arrived, unanswered

        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        with time_machine.travel(timezone.now() + replies.REPLY_LEASE + timedelta(seconds=1)):
            replies.signup_replies_send()
    finally:
        log.close()
        controller.stop()
    step = replies.REPLY_HANDOVER_STEP
    journalled = -(-STOP_AT // step) * step
    assert max(server.received.values()) == 1, server.received
    assert set(server.received) == {f"r{n:02}@example.org" for n in range(STOP_AT)} | {
        f"r{n:02}@example.org" for n in range(journalled, SIGNUPS)
    }
    assert not Subscription.objects.filter(reply_claimed_at__isnull=False).exists()
    assert not Subscription.objects.filter(reply_requested_at__isnull=False).exists()
