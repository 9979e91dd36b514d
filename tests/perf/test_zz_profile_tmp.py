import cProfile
import datetime
import pstats
import time

import pytest

from mailings import services
from mailings.models import Mailing
from tests.helpers import free_port

from . import mailbench

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_profile(postgres, settings):
    ml = mailbench.make_readers(5000)
    m = Mailing.objects.create(
        subject="Écoutez",
        preheader="x",
        body="Bonjour {prénom}\n\n" + "Un paragraphe. " * 30,
        send_date=datetime.date(2000, 1, 1),
        send_time=datetime.time(9),
    )
    m.lists.add(ml)
    services.mailing_schedule(mailing=m)
    port = free_port()
    sink = mailbench.start_sink(port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.MAIL_CHUNK_SIZE = 250
    from config import celery_app

    celery_app.conf.task_always_eager = False
    services.outbox_wake = lambda *a: None
    t = time.perf_counter()
    services.mailing_dispatch(mailing_id=m.pk)
    print("dispatch", time.perf_counter() - t)
    pr = cProfile.Profile()
    pr.enable()
    t = time.perf_counter()
    while services.outbox_send_batch():
        pass
    el = time.perf_counter() - t
    pr.disable()
    print("rate", 5000 / el)
    pstats.Stats(pr).sort_stats("cumulative").print_stats(30)
    sink.terminate()
