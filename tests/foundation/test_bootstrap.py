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
