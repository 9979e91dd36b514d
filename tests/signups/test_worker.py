"""A real Celery worker answers a signup made over HTTP; the link in the email works."""

import email
import email.policy
import re

import pytest
from django.test import Client

from signups.bootstrap import create_lists
from signups.models import MailingList, Subscription
from tests.helpers import process_env, start_worker, stop, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class _Quiet:
    def write(self, *_args):
        pass


def test_worker_sends_the_confirmation_and_the_button_confirms(tmp_path, settings):
    from config import celery_app

    celery_app.conf.task_always_eager = False
    create_lists(stdout=_Quiet())
    mail_dir = tmp_path / "mail"
    client = Client(enforce_csrf_checks=True)
    client.get("/atelier/")
    response = client.post(
        f"/inscription/{MailingList.objects.get(slug='atelier').slug}/",
        {
            "email": "Awa@Example.org",
            "first_name": "Awa <b>",
            "consent": "on",
            "time_zone": "Africa/Douala",
        },
        HTTP_ORIGIN="http://testserver",  # a browser's own page: no token (config/origin.py)
    )
    assert response.status_code == 303
    log = (tmp_path / "worker.log").open("w")
    worker = start_worker(
        log=log,
        env=process_env(
            EMAIL_BACKEND="config.mail.EmlFileBackend",
            EMAIL_FILE_PATH=str(mail_dir),
            SITE_URL="http://testserver",
        ),
    )
    try:
        files = wait_for(
            lambda: list(mail_dir.glob("*.eml")), timeout=60, message="the confirmation email"
        )
    finally:
        stop(worker)
        log.close()
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "awa@example.org"
    assert "Confirmez votre inscription" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Awa" not in text
    url = re.search(r"http://testserver(/confirmer/\S+/)", text).group(1)
    page = client.get(url)
    assert "Je confirme mon inscription" in page.content.decode()
    client.post(url, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
