import re

import pytest
from django.core import mail
from django.test import Client

from signups.bootstrap import create_lists
from signups.models import MailingList


class _Quiet:
    def write(self, *_args):
        pass


@pytest.fixture
def lists(db):
    create_lists(stdout=_Quiet())
    return {ml.slug: ml for ml in MailingList.objects.all()}


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def form_data(mailing_list, **overrides):
    data = {
        "email": "lea@example.org",
        "first_name": "Léa",
        "consent": "on",
        "profile": "entrepreneur",
        "answer": "Trouver mes premiers clients",
        "time_zone": "America/Montreal",
        "website": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def signup(client, mailing_list, capture, ip="203.0.113.7", **overrides):
    """POST the signup form as a browser does (GET first for the CSRF cookie)."""
    page = client.get(f"/{_page(mailing_list)}/")
    token = page.context["csrf_token"] if page.context else ""
    data = form_data(mailing_list, **overrides)
    data["csrfmiddlewaretoken"] = str(token)
    with capture(execute=True):
        return client.post(
            f"/inscription/{mailing_list.slug}/",
            data,
            HTTP_USER_AGENT="Mozilla/5.0 (test)",
            REMOTE_ADDR=ip,
            follow=True,
        )


def _page(mailing_list):
    return {"newsletter": "newsletter", "atelier": "atelier", "entretiens": "entretiens"}[
        mailing_list.slug
    ]


def link_in(message, pattern=r"https?://\S+/confirmer/\S+/"):
    match = re.search(pattern, message.body)
    assert match, message.body
    return match.group(0)


def path_of(url):
    return "/" + url.split("/", 3)[3]


def outbox():
    return list(mail.outbox)
