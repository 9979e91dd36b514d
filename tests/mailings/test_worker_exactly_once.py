"""Exactly once, nothing lost — with real processes.

A real Celery worker on Redis sends a 2,000-recipient mailing to Postfix's
smtp-sink; the worker is SIGKILLed several times at random moments (from a seed it
prints: `POULS_FAULT_SEED` replays them) and restarted, and Redis is emptied once. The test plays beat (a `pouls.tick` every
second). Then we count what the SMTP server received, per recipient.
"""

import contextlib
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from django.db.models import Count

from config.tasks import tick
from mailings import services
from mailings.models import Delivery, Mailing
from tests.conftest import require
from tests.helpers import free_port, process_env, start_worker, wait_for

from .factories import MailingFactory, subscribers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
RECIPIENTS = 2000
S = Delivery.Status


def kill(worker):
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def received(dump_dir) -> Counter:
    counts = Counter()
    for path in dump_dir.iterdir():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("X-Rcpt-Args: "):
                counts[line.removeprefix("X-Rcpt-Args: ").strip("<> ")] += 1
    return counts


def test_killed_workers_and_an_emptied_redis_send_each_message_at_most_once(tmp_path, redis_url):
    require(shutil.which("smtp-sink") is not None, "needs Postfix's smtp-sink")
    import redis

    from config import celery_app

    celery_app.conf.task_always_eager = False
    seed = int(os.environ.get("POULS_FAULT_SEED") or random.randrange(2**32))
    print(f"\nPOULS_FAULT_SEED={seed}")  # replays the kill moments
    rng = random.Random(seed)
    subs = subscribers(RECIPIENTS)
    mailing = MailingFactory(lists=[subs[0].mailing_list])
    services.mailing_schedule(mailing=mailing)

    dump = tmp_path / "sink"
    dump.mkdir()
    port = free_port()
    sink = subprocess.Popen(
        [
            "smtp-sink",
            "-u",
            os.environ.get("USER", "root"),
            "-d",
            f"{dump}/%H%M%S.",
            f"127.0.0.1:{port}",
            "1000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    env = process_env(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        MAIL_LEASE_SECONDS=3,
        MAIL_REQUEUE_AFTER=2,
        MAIL_BATCH_SIZE=100,
        MAIL_CHUNK_SIZE=50,
        MAIL_SEND_RATE=150,  # spreads the mailing over several seconds so the kills land mid-batch
    )
    log = (tmp_path / "worker.log").open("w")
    stop_beat = threading.Event()

    def beat():
        while not stop_beat.wait(1.0):
            with contextlib.suppress(Exception):  # Redis emptied under our feet: next tick
                tick.delay()

    beat_thread = threading.Thread(target=beat, daemon=True)
    worker = start_worker(env=env, log=log, concurrency=2)
    beat_thread.start()
    kills = 0
    try:
        services.mailing_dispatch(mailing_id=mailing.pk)  # on commit: the batch tasks are queued
        assert Delivery.objects.filter(mailing=mailing).count() == RECIPIENTS

        def sent():
            return Delivery.objects.filter(status=S.SENT).count()

        for round_ in range(4):
            floor = sent()
            wait_for(lambda f=floor: sent() > f + 50, timeout=60, message="sending to progress")
            time.sleep(rng.uniform(0.0, 1.5))
            kill(worker)
            kills += 1
            if round_ == 1:
                client = redis.Redis.from_url(redis_url)
                client.flushdb()  # this test's database only: others share the server
                client.close()
            worker = start_worker(env=env, log=log, concurrency=2)

        def done():
            busy = Delivery.objects.filter(status__in=(S.PENDING, S.CLAIMED)).count()
            return busy == 0 and Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.SENT

        wait_for(done, timeout=90, interval=0.5, message="the mailing to complete")
    finally:
        stop_beat.set()
        beat_thread.join(5)
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                kill(worker)
        log.close()
        time.sleep(0.5)
        sink.terminate()
        sink.wait(10)

    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    counts = received(dump)
    emails = {
        status: set(Delivery.objects.filter(status=status).values_list("contact__email", flat=True))
        for status in (S.SENT, S.UNKNOWN)
    }
    print(f"\nkills={kills} statuses={statuses} received={sum(counts.values())}")
    assert kills == 4
    assert max(counts.values()) == 1, [e for e, n in counts.items() if n > 1][:5]  # no duplicates
    assert statuses.get(S.SENT, 0) + statuses.get(S.UNKNOWN, 0) == RECIPIENTS
    assert set(counts) >= emails[S.SENT]  # every « sent » row really reached the server
    assert set(counts) <= emails[S.SENT] | emails[S.UNKNOWN]  # nothing else went out
    assert statuses.get(S.SENT, 0) >= RECIPIENTS - 4 * 2 * 50  # at most a chunk per child per kill
