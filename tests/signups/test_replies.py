"""The reply outbox: lost wake-ups, redelivery, transient failures."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from config.tasks import tick
from signups import services
from signups.models import Contact, Subscription

from .conftest import signup

pytestmark = pytest.mark.django_db


class FlakyBackend(EmailBackend):
    """The ESP's edge: the first send fails with a dropped connection."""

    failures = 1

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise SMTPServerDisconnected("connection lost")
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
    subscription = Subscription.objects.get()
    assert services.signup_reply_send(subscription_id=subscription.pk) == ""
    services.signup_replies_send()
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
    monkeypatch.setattr(tasks.send_signup_emails, "delay", lambda: queued.append(1))
    shared = redis.Redis.from_url(redis_url)
    key = cache.make_and_validate_key(services.REPLY_WAKEUP_KEY)
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
    assert len(queued) == 1
    assert 0 < shared.ttl(key) <= services.REPLY_WAKEUP_SECONDS

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
    assert services.signup_replies_send() == 3  # r0, r1, r4: one confirmation each
    assert sorted(m.to[0] for m in mail.outbox) == [
        "r0@example.org",
        "r1@example.org",
        "r4@example.org",
    ]
