"""The reply outbox: lost wake-ups, redelivery, transient failures."""

from email.parser import BytesParser
from email.policy import compat32
from smtplib import SMTPRecipientsRefused

import pytest
from django.core import mail
from django.core.mail import get_connection
from django.core.mail.backends.locmem import EmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.tasks import tick
from signups import emails, replies, sending, services, wakeup
from signups.models import Contact, Subscription

from .conftest import signup

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """The ESP's edge: the first send is answered « not now » (tests/signups/
    test_reply_outcomes.py has the other answers)."""

    failures = 1

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise SMTPRecipientsRefused({"a@example.org": (451, b"4.3.0 Try again later")})
        return super().send_messages(messages)


def test_a_lost_wake_up_is_caught_by_the_tick(lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.signup_submit(mailing_list=lists["newsletter"], email="a@example.org", form="t")
    assert len(callbacks) == 1  # the wake-up, never run: as if Redis lost it
    assert mail.outbox == []
    tick()
    assert len(mail.outbox) == 1
    assert Subscription.objects.get().reply_requested_at is None


def test_a_redelivered_wake_up_never_sends_twice(lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(mailing_list=lists["newsletter"], email="a@example.org", form="t")
    assert len(mail.outbox) == 1
    assert replies.signup_replies_send() == 0  # the task again, then the tick
    assert replies.signup_replies_send() == 0
    assert len(mail.outbox) == 1


def test_a_transient_failure_is_retried_by_the_next_tick(
    lists, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.signups.test_replies.FlakyBackend"
    FlakyBackend.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_submit(mailing_list=lists["newsletter"], email="a@example.org", form="t")
    assert mail.outbox == []
    subscription = Subscription.objects.get()
    assert subscription.reply_requested_at is not None  # the claim was given back
    assert subscription.confirmation_sent_at is None
    assert Contact.objects.get().transactional_sent_at is None
    tick()
    assert len(mail.outbox) == 1
    assert Subscription.objects.get().confirmation_sent_at is not None


def test_signups_are_kept_when_redis_is_down(client, lists, settings):
    """The cache (rate limits, wake-up) unreachable: the signup is still saved, and the
    tick sends its email once Redis is back."""
    working_caches = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.post("/inscription/newsletter/", {"email": "a@example.org", "consent": "on"})
    assert response.status_code == 303
    assert Subscription.objects.get().reply_requested_at is not None
    assert mail.outbox == []
    settings.CACHES = working_caches
    tick()
    assert len(mail.outbox) == 1


def test_on_redis_signups_queue_one_wake_up_while_none_is_waiting(
    redis_url, client, lists, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """After commit the service takes the reply sender's wake-up key: the first signup
    queues the task, the next ones (the task not started yet) do not, a refused one
    leaves the key alone; once the task has started, a signup queues another. Every
    signup is answered."""
    import redis
    from django.core.cache import cache

    from signups import tasks

    queued = []
    monkeypatch.setattr(
        tasks.send_signup_emails, "apply_async", lambda **options: queued.append(options)
    )
    shared = redis.Redis.from_url(redis_url)
    key = cache.make_and_validate_key(wakeup.REPLY_WAKEUP_KEY)
    shared.delete(key)
    settings.SIGNUPS_RATE_PER_IP = (2, 600)

    for n in range(2):
        assert (
            signup(
                client,
                lists["newsletter"],
                django_capture_on_commit_callbacks,
                email=f"r{n}@example.org",
            ).status_code
            == 200
        )
    assert queued == [{"countdown": wakeup.REPLY_GATHER_SECONDS}]
    assert 0 < shared.ttl(key) <= wakeup.REPLY_WAKEUP_SECONDS

    shared.delete(key)  # what the task does as it starts
    refused = signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, email="r3@example.org"
    )
    assert refused.status_code == 429
    assert shared.get(key) is None and len(queued) == 1

    assert (
        signup(
            client,
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            ip="192.0.2.8",
            email="r4@example.org",
        ).status_code
        == 200
    )
    assert len(queued) == 2
    assert replies.signup_replies_send() == 3  # r0, r1, r4: one confirmation each
    assert sorted(m.to[0] for m in mail.outbox) == [
        "r0@example.org",
        "r1@example.org",
        "r4@example.org",
    ]


class CountingBackend(EmailBackend):
    """Counts the connections made (one backend instance each)."""

    made = 0

    def __init__(self, *args, **kwargs):
        CountingBackend.made += 1
        super().__init__(*args, **kwargs)


def _pending(lists, count, start=0):
    for n in range(start, start + count):
        services.signup_submit(
            mailing_list=lists["newsletter"], email=f"c{n}@example.org", form="t"
        )


def test_a_run_answers_many_signups_in_a_few_statements_through_one_connection(
    lists, settings, django_capture_on_commit_callbacks
):
    """The replies are claimed by chunks and sent through one connection: a run's
    statements grow only by one journal statement per REPLY_HANDOVER_STEP replies,
    every signup is answered once."""
    settings.EMAIL_BACKEND = "tests.signups.test_replies.CountingBackend"
    with django_capture_on_commit_callbacks(execute=False):
        _pending(lists, 3)
    with CaptureQueriesContext(connection) as few:
        assert replies.signup_replies_send() == 3
    with django_capture_on_commit_callbacks(execute=False):
        _pending(lists, 30, start=3)
    CountingBackend.made = 0
    with CaptureQueriesContext(connection) as many:
        assert replies.signup_replies_send() == 30
    # More than a step: only the journal of each further step (the claim writes the
    # whole chunk in one statement, whatever its size).
    assert len(many) == len(few) + (30 - 1) // replies.REPLY_HANDOVER_STEP
    assert CountingBackend.made == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"c{n}@example.org" for n in range(33))
    assert not Subscription.objects.filter(reply_requested_at__isnull=False).exists()
    assert replies.signup_replies_send() == 0


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_run_s_renderer_sends_what_each_email_rendered_alone_would(lists, language):
    """Rendered once per template, list, language and greeting, the links filled in
    afterwards: the same subject, text and HTML as rendering each email alone."""
    renderer = emails.Renderer()
    newsletter = lists["newsletter"]
    contexts = [
        ("confirm", {"mailing_list": newsletter, "url": f"{base}/confirmer/{n}-a:b_c/"})
        for n, base in enumerate(["https://pouls.example", "https://pouls.example/x"])
    ]
    contexts += [
        ("confirm", {**contexts[0][1], "first_name": "Awa"}),
        ("confirm", {**contexts[1][1], "first_name": "N’Golo"}),
        ("already_subscribed", {"mailing_list": newsletter, "url": "https://p.example/p/1&2"}),
        (
            "already_subscribed",
            {
                "mailing_list": newsletter,
                "url": "https://p.example/p/3",
                "update_url": "https://p.example/c/4",
            },
        ),
    ]
    for name, context in contexts * 2:
        alone = emails.render(name=name, context=context, language=language)
        assert renderer.render(name=name, context=context, language=language) == alone
        assert context["url"] in alone[1]


class _RecordingSMTP:
    """Stands for smtplib.SMTP: records what it is handed, whether through `sendmail`
    (Django's backend) or command by command (the replies' fast path)."""

    def __init__(self, sent):
        self.sent = sent
        self.envelope = None

    def sendmail(self, from_addr, to_addrs, msg):
        self.sent.append((from_addr, list(to_addrs), msg))

    def ehlo_or_helo_if_needed(self):
        pass

    def mail(self, sender, options=()):
        self.envelope = (sender, [])
        return 250, b"2.1.0 Ok"

    def rcpt(self, recipient, options=()):
        self.envelope[1].append(recipient)
        return 250, b"2.1.5 Ok"

    def data(self, msg):
        self.sent.append((*self.envelope, msg))
        return 250, b"2.0.0 Ok"

    def quit(self):
        pass

    def close(self):
        pass


class RecordingSMTPBackend(SMTPBackend):
    """Django's SMTP backend over a recorder instead of a server."""

    sent: list = []

    def open(self):
        if self.connection:
            return False
        self.connection = _RecordingSMTP(RecordingSMTPBackend.sent)
        return True


def _parsed(raw: bytes):
    message = BytesParser(policy=compat32).parsebytes(raw)
    # The boundary is random, the Message-ID and the Date are each message's own.
    headers = [
        (k, v) for k, v in message.items() if k not in ("Message-ID", "Date", "Content-Type")
    ]
    headers.append(("Content-Type", message.get_content_type()))
    parts = [(p.get_content_type(), p.get_payload(decode=True)) for p in message.walk()]
    return headers, parts, message


@pytest.mark.parametrize("to", ["awa@example.org", "Awa Diallo <awa@example.org>"])
def test_the_serialised_reply_is_what_django_s_smtp_backend_sends(lists, settings, to):
    """Over the SMTP backend a reply's bytes are built once and filled in: the same
    envelope, headers and parts as Django's own serialisation of that email (an address
    with a display name goes through Django's message object)."""
    settings.EMAIL_BACKEND = "tests.signups.test_replies.RecordingSMTPBackend"
    RecordingSMTPBackend.sent = []
    newsletter = lists["newsletter"]
    contexts = [
        {"mailing_list": newsletter, "url": f"https://pouls.example/confirmer/{n}-a:b_c/"}
        for n in range(2)
    ]
    mailer = sending.Mailer()
    for context in contexts:
        mailer.send(name="confirm", to=to, context=context, language="fr")
    mailer.close()
    backend = get_connection()
    for context in contexts:
        emails.send(name="confirm", to=to, context=context, language="fr", connection=backend)
    ours, django_s = RecordingSMTPBackend.sent[:2], RecordingSMTPBackend.sent[2:]
    for (our_from, our_to, our_raw), (from_, to_, raw) in zip(ours, django_s, strict=True):
        assert (our_from, our_to) == (from_, to_)
        assert _parsed(our_raw)[:2] == _parsed(raw)[:2]
    first, second = (_parsed(raw)[2] for _from, _to, raw in ours)
    assert first["Message-ID"] != second["Message-ID"] and first["Date"]
    assert b"@@" not in ours[0][2] and b"pouls.invalid" not in ours[0][2]
