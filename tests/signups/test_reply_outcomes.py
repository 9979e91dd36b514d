"""What becomes of a signup reply the mail server did not take: « not now » is sent by a
later run, a refusal is never tried again, and a connection lost while the message was
on its way (it may have been accepted) is never resent, as the design's rule says of
every send whose outcome is unknown; its reader may ask again at once."""

from collections import Counter
from smtplib import SMTPRecipientsRefused, SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from config.tasks import tick
from signups import replies, services
from signups.models import Contact, Subscription

pytestmark = pytest.mark.django_db


class FailingOnceBackend(EmailBackend):
    """The edge of the machine: the first send raises `error`, the others go out."""

    error: Exception | None = None

    def send_messages(self, messages):
        error, FailingOnceBackend.error = FailingOnceBackend.error, None
        if error is not None:
            raise error
        return super().send_messages(messages)


def _signup(lists, email):
    services.signup_submit(mailing_list=lists["newsletter"], email=email, form="t")


def _state(email):
    subscription = Subscription.objects.select_related("contact").get(contact__email=email)
    return {
        "requested": subscription.reply_requested_at is not None,
        "claimed": subscription.reply_claimed_at is not None,
        "confirmation_sent": subscription.confirmation_sent_at is not None,
        "slot_taken": subscription.contact.transactional_sent_at is not None,
    }


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # « Not now »: back in the outbox, its slot free; the next tick sends it.
        (
            SMTPRecipientsRefused({"a@example.org": (451, b"4.3.0 Try again later")}),
            {"requested": True, "claimed": False, "confirmation_sent": False, "slot_taken": False},
        ),
        # Refused for good: never again, and not tried again for 24 hours.
        (
            SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 No such user")}),
            {"requested": False, "claimed": False, "confirmation_sent": False, "slot_taken": True},
        ),
        # The connection lost during the send: maybe accepted, never resent; the link it
        # may carry stays valid, and the reader may ask again at once.
        (
            SMTPServerDisconnected("Connection unexpectedly closed"),
            {"requested": False, "claimed": False, "confirmation_sent": True, "slot_taken": False},
        ),
    ],
    ids=["not-now", "refused", "unknown"],
)
def test_a_failed_reply_is_settled_by_what_the_server_said(
    lists, settings, django_capture_on_commit_callbacks, error, expected
):
    settings.EMAIL_BACKEND = "tests.signups.test_reply_outcomes.FailingOnceBackend"
    FailingOnceBackend.error = error
    with django_capture_on_commit_callbacks(execute=False):
        _signup(lists, "a@example.org")
        _signup(lists, "b@example.org")
    assert replies.signup_replies_send() == 1
    assert [m.to for m in mail.outbox] == [["b@example.org"]]  # the run went on
    assert _state("a@example.org") == expected
    tick()
    tick()
    retried = expected["requested"]
    assert [m.to for m in mail.outbox[1:]] == ([["a@example.org"]] if retried else [])


def test_after_an_unknown_outcome_the_reader_can_ask_again_at_once(
    lists, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.signups.test_reply_outcomes.FailingOnceBackend"
    FailingOnceBackend.error = SMTPServerDisconnected("Connection unexpectedly closed")
    with django_capture_on_commit_callbacks(execute=False):
        _signup(lists, "a@example.org")
    assert replies.signup_replies_send() == 0
    with django_capture_on_commit_callbacks(execute=False):
        _signup(lists, "a@example.org")  # « I got nothing »: the form again
    assert replies.signup_replies_send() == 1
    assert [m.to for m in mail.outbox] == [["a@example.org"]]


@pytest.mark.parametrize("fastpaths", [True, False], ids=["fastpaths", "django-backend"])
def test_over_smtp_each_answer_settles_its_reply(
    lists, settings, django_capture_on_commit_callbacks, smtp_server, fastpaths
):
    """Through a real SMTP server, with the fast path (smtplib's commands one by one)
    and through Django's backend: the others of the run get their email, once."""
    settings.POULS_FASTPATHS = fastpaths
    smtp_server.defer_once = {"later@example.org": "451 4.3.0 Try again later"}
    smtp_server.refuse = {"nobody@example.org": "550 5.1.1 No such user"}
    smtp_server.hang_up = {"lost@example.org"}  # the message arrives, never answered

    def accepted():
        return Counter(rcpt for rcpts, _raw in smtp_server.messages for rcpt in rcpts)

    addresses = ["a@example.org", "later@example.org", "nobody@example.org"]
    addresses += ["lost@example.org", "b@example.org"]
    with django_capture_on_commit_callbacks(execute=False):
        for address in addresses:
            _signup(lists, address)
    assert replies.signup_replies_send() == 2
    assert set(accepted()) == {"a@example.org", "b@example.org"}
    assert smtp_server.received["lost@example.org"] == 1  # arrived, never answered
    assert _state("later@example.org")["requested"]
    assert not _state("nobody@example.org")["requested"]
    lost = _state("lost@example.org")
    assert not lost["requested"] and not lost["slot_taken"]

    assert replies.signup_replies_send() == 1  # only « later » again
    assert accepted() == Counter({"a@example.org": 1, "b@example.org": 1, "later@example.org": 1})
    assert smtp_server.received["lost@example.org"] == 1  # never resent
    assert replies.signup_replies_send() == 0
    assert not Subscription.objects.filter(reply_claimed_at__isnull=False).exists()
    assert Contact.objects.get(email="nobody@example.org").transactional_sent_at is not None
