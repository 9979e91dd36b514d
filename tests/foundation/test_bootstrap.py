from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from signups.models import MailingList


@pytest.mark.django_db
def test_bootstrap_is_idempotent_and_prints_the_password_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first, second = StringIO(), StringIO()
    call_command("bootstrap", stdout=first)
    call_command("bootstrap", stdout=second)

    User = get_user_model()
    assert User.objects.filter(is_superuser=True).count() == 1
    admin = User.objects.get()
    printed = first.getvalue().split("mot de passe : ")[1].split()[0]
    assert admin.check_password(printed)
    assert "mot de passe" not in second.getvalue()
    assert set(MailingList.objects.values_list("slug", flat=True)) >= {
        "newsletter",
        "atelier",
        "entretiens",
    }
    assert MailingList.objects.count() == 3


@pytest.mark.django_db
def test_bootstrap_takes_the_admin_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "claire")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "un-mot-de-passe-solide")
    out = StringIO()
    call_command("bootstrap", stdout=out)
    user = get_user_model().objects.get(username="claire")
    assert user.is_superuser and user.check_password("un-mot-de-passe-solide")
    assert "un-mot-de-passe-solide" not in out.getvalue()


@pytest.mark.django_db
def test_bootstrap_takes_the_admin_email_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "redaction@pouls.example")
    call_command("bootstrap", stdout=StringIO())
    assert get_user_model().objects.get().email == "redaction@pouls.example"


@pytest.mark.django_db
def test_bootstrap_asks_for_the_admin_email_when_run_interactively(monkeypatch):
    import sys

    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers = iter(["pas-une-adresse", "claire@pouls.example"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    err = StringIO()
    call_command("bootstrap", stdout=StringIO(), stderr=err)
    assert get_user_model().objects.get().email == "claire@pouls.example"
    assert "Adresse invalide : pas-une-adresse" in err.getvalue()


@pytest.mark.django_db
def test_bootstrap_without_a_terminal_asks_nothing(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked"))
    out = StringIO()
    call_command("bootstrap", "--noinput", stdout=out)
    assert get_user_model().objects.get().email == ""
    assert "tapez-en une à chaque envoi de test" in out.getvalue()
