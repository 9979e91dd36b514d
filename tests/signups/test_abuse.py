"""Enumeration, rate limits, honeypot, bad bodies."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from signups import rights, services
from signups.models import Contact, Subscription, Suppression, email_hash

from .conftest import signup

pytestmark = pytest.mark.django_db

VOLATILE_HEADERS = {"Date", "Set-Cookie", "Expires"}


def _fingerprint(response, email=""):
    """What the response tells; the address typed, which the thanks page repeats to
    whoever typed it, reads the same for every state."""
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    if email:
        body = body.replace(email.encode(), b"ADDRESS")
    volatile = VOLATILE_HEADERS | ({"Content-Length"} if email else set())
    headers = {k: v for k, v in response.headers.items() if k not in volatile}
    return response.status_code, headers, body


def _prepare_states(lists, capture):
    """Five addresses, one per state the response must not reveal."""
    newsletter = lists["newsletter"]
    long_ago = timezone.now() - timedelta(days=2)
    with capture(execute=True):
        services.signup_submit(mailing_list=newsletter, email="pending@example.org", form="t")
        services.signup_submit(mailing_list=newsletter, email="active@example.org", form="t")
        services.signup_submit(mailing_list=newsletter, email="gone@example.org", form="t")
        services.signup_submit(mailing_list=newsletter, email="blocked@example.org", form="t")
    active = Subscription.objects.get(contact__email="active@example.org")
    services.subscription_confirm(subscription=active)
    gone = Subscription.objects.get(contact__email="gone@example.org")
    services.subscription_unsubscribe(subscription=gone)
    rights.contact_erase(contact=Contact.objects.get(email="blocked@example.org"))
    Contact.objects.update(transactional_sent_at=long_ago)
    mail.outbox.clear()
    return {
        "new": "new@example.org",
        "pending": "pending@example.org",
        "active": "active@example.org",
        "unsubscribed": "gone@example.org",
        "suppressed": "blocked@example.org",
    }


def test_same_response_for_new_pending_subscribed_unsubscribed_and_suppressed(
    lists, django_capture_on_commit_callbacks
):
    states = _prepare_states(lists, django_capture_on_commit_callbacks)
    fingerprints = {}
    queued = {}
    cookies = {}
    for state, email in states.items():
        client = Client()
        client.get("/newsletter/")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(
                "/inscription/newsletter/",
                {"email": email, "consent": "on", "time_zone": "Europe/Paris"},
                REMOTE_ADDR=f"192.0.2.{len(fingerprints) + 1}",
            )
        assert response.status_code == 303
        page = client.get(response["Location"])
        fingerprints[state] = (_fingerprint(response), _fingerprint(page, email))
        cookies[state] = {
            name: {key: value for key, value in morsel.items() if key != "expires"}
            for name, morsel in response.cookies.items()
        }
        queued[state] = [getattr(cb, "__self__", None) or cb for cb in callbacks]
        for callback in callbacks:
            callback()
    reference = fingerprints["new"]
    assert reference[1][0] == 200
    assert "Vérifiez votre boîte de réception" in reference[1][2].decode()
    for state, fingerprint in fingerprints.items():
        assert fingerprint == reference, state
        assert cookies[state] == cookies["new"], state  # the same cookie (the value aside)
    # Exactly one task queued after commit in every case.
    assert all(len(callbacks) == 1 for callbacks in queued.values()), queued
    # The task decided: confirmation for new, pending and unsubscribed; « déjà inscrit·e »
    # for the active one; nothing for the suppressed address.
    sent = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert [to for to, _ in sent] == sorted(
        ["new@example.org", "pending@example.org", "active@example.org", "gone@example.org"]
    )
    subjects = dict(sent)
    assert subjects["active@example.org"].startswith("Vous êtes déjà inscrit·e")
    for email in ("new@example.org", "pending@example.org", "gone@example.org"):
        assert subjects[email].startswith("Confirmez votre inscription")
    # Nothing of the suppressed address was stored again.
    assert not Contact.objects.filter(email="blocked@example.org").exists()


def test_one_email_per_address_per_24_hours(client, lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip=ip)
        signup(client, lists["atelier"], django_capture_on_commit_callbacks, ip="192.0.2.4")
        assert len(mail.outbox) == 1
        traveller.shift(timedelta(hours=24, minutes=1))
        signup(client, lists["atelier"], django_capture_on_commit_callbacks, ip="192.0.2.5")
        assert len(mail.outbox) == 2


def test_already_subscribed_gets_one_notice_with_preferences_link(
    client, lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
        services.subscription_confirm(subscription=Subscription.objects.get())
        traveller.shift(timedelta(days=2))
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip="192.0.2.9")
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip="192.0.2.10")
    assert len(mail.outbox) == 2
    notice = mail.outbox[1]
    assert "déjà inscrit·e" in notice.subject
    assert "/preferences/" in notice.body


def test_honeypot_gets_the_success_page_and_nothing_happens(
    client, lists, django_capture_on_commit_callbacks
):
    response = signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, website="http://spam"
    )
    assert response.status_code == 200
    assert "Vérifiez votre boîte de réception" in response.content.decode()
    assert not Contact.objects.exists()
    assert mail.outbox == []


def test_per_ip_rate_limit(client, lists, django_capture_on_commit_callbacks, settings):
    settings.SIGNUPS_RATE_PER_IP = (3, 600)
    codes = [
        signup(
            client,
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            email=f"p{i}@example.org",
        ).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    assert Contact.objects.count() == 3
    # Another IP is not affected.
    assert (
        signup(
            client,
            lists["newsletter"],
            django_capture_on_commit_callbacks,
            ip="192.0.2.77",
            email="other@example.org",
        ).status_code
        == 200
    )


def test_per_address_rate_limit(client, lists, django_capture_on_commit_callbacks, settings):
    settings.SIGNUPS_RATE_PER_ADDRESS = (2, 3600)
    codes = [
        signup(
            client, lists["newsletter"], django_capture_on_commit_callbacks, ip=f"192.0.2.{i}"
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 429, 429]
    response = signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, ip="192.0.2.99"
    )
    assert "Trop de demandes" in response.content.decode()


def test_rate_limits_use_the_shared_cache(
    redis_url, client, lists, django_capture_on_commit_callbacks, settings
):
    """In CI the counters live in Redis, shared by every web process."""
    import redis

    settings.SIGNUPS_RATE_PER_IP = (1, 600)
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
    shared = redis.Redis.from_url(redis_url)
    keys = shared.keys("*signups:rate:ip:203.0.113.7*")
    assert keys
    assert 0 < shared.ttl(keys[0]) <= 600  # the window: the counter expires
    assert shared.get(keys[0]) == b"1"
    response = signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
    assert response.status_code == 429
    assert shared.get(keys[0]) == b"2"


def test_suppressed_address_at_signup_is_checked_by_hash(
    client, lists, django_capture_on_commit_callbacks
):
    Suppression.objects.create(email_hash=email_hash("x@example.org"), reason="complaint")
    response = signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, email="X@Example.org"
    )
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert mail.outbox == []


def test_addresses_unique_regardless_of_case(client, lists, django_capture_on_commit_callbacks):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, email="Zoe@Example.org")
    signup(
        client,
        lists["atelier"],
        django_capture_on_commit_callbacks,
        email="ZOE@example.ORG",
        ip="192.0.2.3",
    )
    assert Contact.objects.count() == 1
    assert Subscription.objects.count() == 2


def test_internationalised_domain_is_accepted(client, lists, django_capture_on_commit_callbacks):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, email="zoé@café.fr")
    assert Contact.objects.get().email == "zoé@café.fr"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "email",
    [
        "pas-une-adresse",
        "a@b",
        "a\r\nBcc: victim@example.org@example.org",
        "a@example.org\x00",
        "x" * 250 + "@example.org",
    ],
)
def test_invalid_addresses_are_refused_in_french(client, lists, email):
    response = client.post("/inscription/newsletter/", {"email": email, "consent": "on"})
    assert response.status_code == 200 or response.status_code == 400
    html = response.content.decode()
    assert "adresse e-mail" in html.lower() or "illisible" in html or "caractères" in html
    assert not Contact.objects.exists()


def test_cr_lf_in_first_name_is_refused(client, lists):
    response = client.post(
        "/inscription/newsletter/",
        {"email": "a@example.org", "consent": "on", "first_name": "Léa\r\nBcc: x@example.org"},
    )
    assert "caractères interdits" in response.content.decode()
    assert not Contact.objects.exists()


def test_field_lengths_are_limited(client, lists):
    response = client.post(
        "/inscription/newsletter/",
        {"email": "a@example.org", "consent": "on", "answer": "x" * 1001},
    )
    assert "1000 caractères" in response.content.decode() or "1 000" in response.content.decode()
    assert not Contact.objects.exists()


def test_non_utf8_body_gets_a_400_in_french(lists):
    client = Client()
    response = client.generic(
        "POST",
        "/inscription/newsletter/",
        b"email=l\xe9a%40example.org&consent=on",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    response = client.post(
        "/inscription/newsletter/",
        "email=l%E9a%40example.org&consent=on",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def test_too_large_body_gets_a_400_in_french(lists):
    response = Client().generic(
        "POST",
        "/inscription/newsletter/",
        b"email=a%40example.org&answer=" + b"x" * 200_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "trop volumineux" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x00\x01\x02garbage", "application/octet-stream"),
        (b'{"email": "a@example.org"}', "application/json"),
        (b"--xx\r\nnot really multipart", "multipart/form-data; boundary=xx"),
        (b"--\r\n", "multipart/form-data"),
        (b"a=%00&email=a%40example.org", "application/x-www-form-urlencoded; charset=utf-8"),
    ],
)
def test_garbage_bodies_get_a_400_not_a_500(lists, body, content_type):
    response = Client(raise_request_exception=False).generic(
        "POST", "/inscription/newsletter/", body, content_type=content_type
    )
    assert response.status_code in (400, 403), response.status_code
    assert response.status_code != 500
    assert not Contact.objects.exists()


def test_html_typed_anywhere_is_shown_as_text(client, lists):
    response = client.post(
        "/inscription/newsletter/",
        {"email": "<script>alert(1)</script>@x", "first_name": "<b>gras</b>", "consent": "on"},
    )
    html = response.content.decode()
    assert "<b>gras</b>" not in html and "&lt;b&gt;gras&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html


def _post_signup(client, email, **meta):
    return client.post(
        "/inscription/newsletter/",
        {"email": email, "consent": "on", "first_name": "Léa"},
        **meta,
    )


def test_behind_our_proxy_the_client_chosen_forwarded_entries_are_ignored(client, lists, settings):
    """One proxy of ours appends the address it saw to X-Forwarded-For: a client that
    writes its own entries in front can neither pick its consent IP nor escape the
    per-IP limit by changing them."""
    settings.SIGNUPS_TRUSTED_PROXIES = 1
    settings.SIGNUPS_RATE_PER_IP = (2, 600)
    codes = [
        _post_signup(
            client,
            f"spoof{n}@example.org",
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.23",
        ).status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]
    ips = set(Contact.objects.values_list("consents__ip_address", flat=True))
    assert ips == {"198.51.100.23"}


def test_two_trusted_proxies_take_the_second_entry_from_the_right(client, lists, settings):
    settings.SIGNUPS_TRUSTED_PROXIES = 2
    response = _post_signup(
        client,
        "two@example.org",
        REMOTE_ADDR="10.0.0.3",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 2001:db8::7, 10.0.0.9",
    )
    assert response.status_code == 303
    assert Contact.objects.get().consents.get().ip_address == "2001:db8::7"


def test_without_trusted_proxies_forwarded_headers_are_ignored(client, lists, settings):
    settings.SIGNUPS_TRUSTED_PROXIES = 0
    _post_signup(
        client, "direct@example.org", REMOTE_ADDR="203.0.113.40", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    assert Contact.objects.get().consents.get().ip_address == "203.0.113.40"


@pytest.mark.parametrize(
    "forwarded", ["not-an-ip", "203.0.113.5:8080", "", " , ", "1.2.3.4\x00", "999.1.1.1"]
)
def test_a_forwarded_value_that_is_not_an_ip_falls_back_to_the_peer(
    client, lists, settings, forwarded
):
    """Stored in an `inet` column on PostgreSQL: a non-IP value must never reach it."""
    settings.SIGNUPS_TRUSTED_PROXIES = 1
    response = _post_signup(
        client, "odd@example.org", REMOTE_ADDR="10.0.0.4", HTTP_X_FORWARDED_FOR=forwarded
    )
    assert response.status_code == 303
    assert Contact.objects.get().consents.get().ip_address == "10.0.0.4"


def test_every_429_says_when_to_come_back(client, lists, settings):
    settings.SIGNUPS_RATE_PER_IP = (1, 600)
    assert _post_signup(client, "a@example.org", REMOTE_ADDR="192.0.2.60").status_code == 303
    refused = _post_signup(client, "b@example.org", REMOTE_ADDR="192.0.2.60")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    application = {
        "email": "c@example.org",
        "first_name": "Léa",
        "company": "Atelier",
        "activity": "Céramique",
        "city": "Lyon",
        "country": "France",
        "story": "J’ai commencé seule.",
        "consent": "on",
    }
    refused = client.post("/entretiens/candidature/", application, REMOTE_ADDR="192.0.2.60")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
