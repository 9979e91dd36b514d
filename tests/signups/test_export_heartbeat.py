"""Long streamed exports check in with gunicorn's master as they go: its sync worker
otherwise checks in only between requests and is killed after GUNICORN_TIMEOUT seconds
in the middle of a million-row export."""

import runpy
from pathlib import Path

import pytest
from django.conf import settings

from config import heartbeat
from signups.models import MailingList

from ..mailings.factories import subscribers

pytestmark = pytest.mark.django_db


class Worker:
    beats = 0

    def notify(self):
        self.beats += 1


@pytest.fixture
def worker():
    worker = Worker()
    conf = runpy.run_path(str(Path(settings.BASE_DIR) / "platform" / "gunicorn.conf.py"))
    conf["post_worker_init"](worker)  # what gunicorn calls in each worker it starts
    yield worker
    heartbeat.install(None)


def test_the_list_export_beats_while_it_streams(worker, admin_client, monkeypatch):
    rows = heartbeat.rows
    monkeypatch.setattr(heartbeat, "rows", lambda iterable: rows(iterable, every=2))
    subscribers(7, MailingList.objects.create(slug="newsletter", name="N", consent_text="Oui"))
    mailing_list = MailingList.objects.get(slug="newsletter")
    response = admin_client.get(f"/admin/signups/mailinglist/{mailing_list.pk}/export.csv")
    assert worker.beats == 0  # nothing read yet: the rows are read as the body streams
    body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == 8
    assert worker.beats == 4  # rows 0, 2, 4, 6


def test_outside_gunicorn_a_beat_does_nothing():
    heartbeat.install(None)
    heartbeat.beat()
    assert list(heartbeat.rows(range(3))) == [0, 1, 2]
