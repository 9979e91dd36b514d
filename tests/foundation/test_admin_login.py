"""The admin login is throttled (django-axes): a user name tried from one IP is locked
after AXES_FAILURE_LIMIT wrong passwords, with a French page, until the cool-off ends or
an administrator unlocks it."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-solide-2026"


@pytest.fixture
def editor():
    return get_user_model().objects.create_superuser("editrice", "e@pouls.example", PASSWORD)


def attempt(client, password, username="editrice", ip="203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_twenty_five_guesses_then_the_right_password_is_refused(editor):
    """The attack: 25 wrong passwords, then the right one, went through."""
    client = Client()
    statuses = [attempt(client, f"essai-{n}").status_code for n in range(25)]
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}
    right = attempt(client, PASSWORD)
    assert right.status_code == 429
    body = right.content.decode()
    assert "la connexion est bloquée" in body and "Réessayez dans 30 minutes." in body
    assert right["Retry-After"] == str(30 * 60)
    assert not logged_in(client)


def test_behind_a_proxy_the_lock_holds_the_client_not_the_proxy(editor, settings):
    """Behind our proxy every request has its address: the lock follows the client IP
    that the proxy added, and a forged leftmost entry does not escape it."""
    settings.SIGNUPS_TRUSTED_PROXIES = 1
    settings.SIGNUPS_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    proxy = "10.0.0.2"
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/admin/login/?next=/admin/",
            {"username": "editrice", "password": f"essai-{n}", "next": "/admin/"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9",
        )
    locked = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "editrice", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.9",
    )
    assert locked.status_code == 429
    client = Client()
    ok = client.post(
        "/admin/login/?next=/admin/",
        {"username": "editrice", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert ok.status_code == 302 and logged_in(client)


def test_the_lock_holds_one_name_from_one_address(editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"essai-{n}")
    assert attempt(Client(), PASSWORD).status_code == 429
    # The same editor from her own address still gets in.
    client = Client()
    assert attempt(client, PASSWORD, ip="198.51.100.20").status_code == 302
    assert logged_in(client)


def test_the_lock_ends_after_the_cool_off(editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"essai-{n}")
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=29)):
        # Still locked; and trying during the lock starts the cool-off again.
        assert attempt(Client(), PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=58)):
        assert attempt(Client(), PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=29 + 31 + 31)):
        assert attempt(Client(), PASSWORD).status_code == 302


def test_an_administrator_unlocks_with_the_command(editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"essai-{n}")
    assert attempt(Client(), PASSWORD).status_code == 429
    call_command("axes_reset_ip_username", "203.0.113.7", "editrice")
    client = Client()
    assert attempt(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_success_clears_earlier_failures(editor):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(Client(), f"essai-{n}")
    assert attempt(Client(), PASSWORD).status_code == 302
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(Client(), f"encore-{n}").status_code == 200
