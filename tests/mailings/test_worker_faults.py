"""The outbox under targeted faults — real worker, PostgreSQL, Redis, a real SMTP server.

An aiosmtpd server in this process (offering PIPELINING, as Postfix does) counts what
it received per recipient before it answers, and injects one fault at a chosen
message: a dropped connection with the worker's database session terminated at that
moment, or a stall longer than the lease. Other runs throttle with a short lease, or
SIGKILL the main worker process with several batch chains running. The test plays
beat. Afterwards: nobody received a message twice, every row is in a final state, and
« inconnu » marks only messages the server really received.

The random moments come from a seed printed at the start (`POULS_FAULT_SEED` replays it).
"""

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.db.models import Count, Max

from config.tasks import tick
from mailings import services
from mailings.models import Delivery, Handover, Mailing
from tests.conftest import require
from tests.helpers import free_port, process_env, start_worker, wait_for

from .factories import MailingFactory, subscribers

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]
S = Delivery.Status
FINAL = (S.SENT, S.UNKNOWN, S.FAILED, S.SKIPPED, S.CANCELLED)


def seeded() -> random.Random:
    seed = int(os.environ.get("POULS_FAULT_SEED") or random.randrange(2**32))
    print(f"\nPOULS_FAULT_SEED={seed}")
    return random.Random(seed)


class FaultyServer:
    """Counts each message's recipients when its data arrives, before answering; at the
    `fault_at`-th message runs `fault(server)` (it may stall, or drop the connection)."""

    def __init__(self):
        self.received = Counter()
        self.data_count = 0
        self.fault_at = None
        self.fault = None
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for address in envelope.rcpt_tos:
                self.received[address] += 1
            self.data_count += 1
            fault = self.fault if self.data_count == self.fault_at else None
        if fault is not None:
            reply = await fault(server)
            if reply:
                return reply
        return "250 Message accepted"


def terminate_other_sessions(*, keep: list[int]) -> int:
    """pg_terminate_backend on every session of the test database but ours: the worker's."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            "current_database() AND pid <> pg_backend_pid() AND pid <> ALL(%s)",
            [keep],
        ).fetchall()
    return len(rows)


@contextlib.contextmanager
def running(tmp_path, *, recipients: int, concurrency: int = 1, beat: float = 0.5, **config):
    """A mailing of `recipients` dispatched to a FaultyServer, a real worker with
    `config`, and beat. Yields (mailing, server, handle); handle.worker can be replaced."""
    require(connection.vendor == "postgresql", "needs PostgreSQL")
    from config import celery_app

    celery_app.conf.task_always_eager = False
    server = FaultyServer()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    subs = subscribers(recipients)
    mailing = MailingFactory(lists=[subs[0].mailing_list])
    services.mailing_schedule(mailing=mailing)
    env = process_env(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        **config,
    )
    log = (tmp_path / "worker.log").open("w")
    stop = threading.Event()

    def play_beat():
        while not stop.wait(beat):
            with contextlib.suppress(Exception):
                tick.delay()

    class Handle:
        def start(self):
            self.worker = start_worker(env=env, log=log, concurrency=concurrency)

    handle = Handle()
    handle.start()
    beat_thread = threading.Thread(target=play_beat, daemon=True)
    beat_thread.start()
    try:
        services.mailing_dispatch(mailing_id=mailing.pk)
        yield mailing, server, handle
        # Every journal row goes with the outcomes it covers (a slow worker may still be
        # at it), or with the tick's recovery: before the worker and beat stop.
        wait_for(lambda: not Handover.objects.exists(), timeout=30, message="the journal to close")
    finally:
        stop.set()
        beat_thread.join(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(handle.worker.pid, signal.SIGKILL)
        handle.worker.wait(10)
        log.close()
        controller.stop()
        print((tmp_path / "worker.log").read_text()[-3000:])


def finished(mailing) -> bool:
    busy = Delivery.objects.filter(status__in=(S.PENDING, S.CLAIMED)).exists()
    return not busy and Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SENT


def check_exactly_once(server: FaultyServer, recipients: int, *, journalled_ahead=0) -> dict:
    """`journalled_ahead`: how many rows a killed worker's journal may have covered
    without their content going out (MAIL_HANDOVER_STEP per chunk in flight): those may
    be « inconnu » though the server never saw them."""
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    by_status = {
        status: set(Delivery.objects.filter(status=status).values_list("contact__email", flat=True))
        for status in (S.SENT, S.UNKNOWN)
    }
    print(f"statuses={statuses} received={sum(server.received.values())}")
    for row in Delivery.objects.filter(status=S.UNKNOWN).values("contact__email", "error"):
        received = server.received[row["contact__email"]]
        print(f"unknown: {row['contact__email']} received={received} {row['error']}")
    doubles = [email for email, n in server.received.items() if n > 1]
    assert not doubles, doubles[:5]  # nobody received a message twice
    assert sum(statuses.values()) == recipients
    assert set(statuses) <= set(FINAL)  # every row in a final state
    assert by_status[S.SENT] <= set(server.received)  # « sent » reached the server
    # « inconnu »: it may have reached the server, and did (within the journal's step ahead)
    assert len(by_status[S.UNKNOWN] - set(server.received)) <= journalled_ahead
    assert set(server.received) <= by_status[S.SENT] | by_status[S.UNKNOWN]
    assert not Handover.objects.exists()
    # No row was ever failed without a send attempt, nor counted a send it never had.
    assert not Delivery.objects.filter(status=S.FAILED, attempts=0).exists()
    assert Delivery.objects.aggregate(most=Max("attempts"))["most"] == 1
    return statuses


def test_a_dropped_connection_and_a_killed_database_session_at_once_send_nothing_twice(
    tmp_path,
):
    """The record window: the server takes a message's data, the worker's database
    session is terminated and the connection dropped before the 250. Only that message
    may be « inconnu »; the rest of its chunk goes back to pending and out once."""
    rng = seeded()
    recipients = 300
    with running(
        tmp_path,
        recipients=recipients,
        concurrency=2,
        MAIL_BATCH_SIZE=100,
        MAIL_CHUNK_SIZE=50,
        MAIL_HANDOVER_STEP=10,
        MAIL_LEASE_SECONDS=20,
        MAIL_REQUEUE_AFTER=2,
        MAIL_PARALLEL_BATCHES=1,
    ) as (mailing, server, _handle):
        connection.ensure_connection()
        keep = [connection.connection.info.backend_pid]
        terminated = []

        async def drop_with_the_database(smtp):
            terminated.append(
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: terminate_other_sessions(keep=keep)
                )
            )
            smtp.transport.abort()
            return "421 4.3.0 gone"

        server.fault_at = rng.randint(2, 120)
        server.fault = drop_with_the_database
        print(f"fault at message {server.fault_at}")
        wait_for(lambda: finished(mailing), timeout=90, interval=0.5, message="the mailing")
    statuses = check_exactly_once(server, recipients)
    assert terminated and terminated[0] >= 1  # the worker's session was there, and went
    assert statuses.get(S.UNKNOWN, 0) == 1  # the message in flight, and it alone


def test_a_stall_longer_than_the_lease_leaves_a_live_worker_its_rows(tmp_path):
    """The server stalls longer than the lease before answering one message: the tick
    may take the hand-over, but the worker, alive, records what happened. Nothing is
    « inconnu » (no connection broke), nothing goes twice."""
    rng = seeded()
    recipients = 200
    with running(
        tmp_path,
        recipients=recipients,
        concurrency=3,  # two chains, and the tick free to run during the stall
        MAIL_BATCH_SIZE=100,
        MAIL_CHUNK_SIZE=50,
        MAIL_HANDOVER_STEP=10,
        MAIL_LEASE_SECONDS=3,
        MAIL_REQUEUE_AFTER=2,
        MAIL_PARALLEL_BATCHES=2,
        beat=0.3,
    ) as (mailing, server, _handle):
        answered = threading.Event()

        async def stall(smtp):
            await asyncio.sleep(6)
            answered.set()

        server.fault_at = rng.randint(2, 80)
        server.fault = stall
        print(f"stall at message {server.fault_at}")
        wait_for(lambda: finished(mailing), timeout=90, interval=0.5, message="the mailing")
        # The tick may have taken the stalled hand-over; the worker, alive, corrects it.
        wait_for(answered.is_set, timeout=30, message="the end of the stall")
        wait_for(
            lambda: not Delivery.objects.filter(status=S.UNKNOWN).exists(),
            timeout=30,
            message="the stalled worker to record what happened",
        )
    statuses = check_exactly_once(server, recipients)
    assert statuses == {S.SENT: recipients}


def test_a_throttled_batch_with_a_short_lease_sends_once_and_keeps_its_rows(tmp_path):
    recipients = 120
    with running(
        tmp_path,
        recipients=recipients,
        concurrency=2,
        MAIL_SEND_RATE=20,
        MAIL_BATCH_SIZE=500,
        MAIL_LEASE_SECONDS=2,
        MAIL_REQUEUE_AFTER=2,
        MAIL_PARALLEL_BATCHES=2,
    ) as (mailing, server, _handle):
        wait_for(lambda: finished(mailing), timeout=90, interval=0.5, message="the mailing")
    statuses = check_exactly_once(server, recipients)
    assert statuses == {S.SENT: recipients}


def test_a_killed_main_worker_process_leaves_no_chain_behind(tmp_path):
    """SIGKILL on the main worker process (its batch chains' messages wait in Redis's
    unacknowledged set for an hour): the tick restarts each silent chain."""
    rng = seeded()
    recipients = 600
    with running(
        tmp_path,
        recipients=recipients,
        concurrency=2,
        MAIL_SEND_RATE=120,
        MAIL_BATCH_SIZE=60,
        MAIL_CHUNK_SIZE=30,
        MAIL_HANDOVER_STEP=10,
        MAIL_LEASE_SECONDS=4,
        MAIL_REQUEUE_AFTER=2,
        MAIL_PARALLEL_BATCHES=4,
    ) as (mailing, server, handle):
        for _kill in range(2):
            floor = sum(server.received.values())
            wait_for(
                lambda f=floor: sum(server.received.values()) > f + 40,
                timeout=60,
                message="sending to progress",
            )
            time.sleep(rng.uniform(0.0, 1.0))
            os.kill(handle.worker.pid, signal.SIGKILL)  # the main process only
            time.sleep(1)
            with contextlib.suppress(ProcessLookupError):  # what its children left running
                os.killpg(handle.worker.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                handle.worker.wait(10)
            handle.start()
        wait_for(lambda: finished(mailing), timeout=100, interval=0.5, message="the mailing")
    check_exactly_once(server, recipients, journalled_ahead=2 * 2 * 10)  # kills × children × step
