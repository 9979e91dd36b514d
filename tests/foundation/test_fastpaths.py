"""Fast paths (config/fastpaths.py): each copy of a library's internals gives what
the upstream call gives, `POULS_FASTPATHS` turns every one back to the upstream
call, and the installed versions are the ones the copies were checked against."""

import importlib
import inspect
import subprocess
import sys
from email.parser import BytesParser
from email.policy import Compat32, compat32
from importlib.metadata import version

import pytest
from django.core import signing
from django.core.mail import get_connection

from config import fastpaths
from config.mail import MESSAGE_POLICY, WellFormedEmail
from mailings.fastpaths import esp
from mailings.fastpaths.tokens import token_maker
from signups import tokens
from tests.helpers import ROOT


def _resolve(dotted: str):
    """The object a dotted path names (a module, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ImportError(dotted)


# --- the versions ------------------------------------------------------------------


@pytest.mark.parametrize("distribution", sorted(fastpaths.CHECKED_AGAINST))
def test_the_installed_version_is_the_one_the_fast_paths_were_checked_against(distribution):
    checked = fastpaths.CHECKED_AGAINST[distribution]
    installed = ".".join(version(distribution).split(".")[:2])
    assert installed == checked, (
        f"{distribution} {version(distribution)} is installed, but the fast paths were "
        f"checked against {checked}. Read each copy in config/fastpaths.py COPIES against "
        f"the new version, then update CHECKED_AGAINST (and the pin in pyproject.toml), "
        f"or run with POULS_FASTPATHS=0."
    )


def test_pyproject_pins_the_minor_versions_the_copies_were_checked_against():
    text = (ROOT / "pyproject.toml").read_text()
    for distribution, checked in fastpaths.CHECKED_AGAINST.items():
        major, minor = checked.split(".")
        assert f'"{distribution}>={checked},<{major}.{int(minor) + 1}"' in text, distribution


@pytest.mark.parametrize("entry", fastpaths.COPIES, ids=lambda entry: entry.where)
def test_every_copy_names_the_upstream_and_version_it_mirrors(entry):
    where = _resolve(entry.where)
    module = inspect.getmodule(where)
    checked = f"{entry.distribution} {fastpaths.CHECKED_AGAINST[entry.distribution]}"
    assert checked in module.__doc__, f"{module.__name__} must say it mirrors {checked}"
    upstream = entry.upstream.split(" ")[0]
    assert upstream.rsplit(".", 1)[-1] in module.__doc__
    assert _resolve(upstream) is not None  # still there in the installed version
    assert entry.where.rsplit(".", 2)[0].endswith("fastpaths") or ".fastpaths." in entry.where


def test_the_switch_is_read_from_the_environment(tmp_path):
    def read(value):
        env = {"PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path), "POULS_FASTPATHS": value}
        script = "import django; django.setup(); from django.conf import settings; "
        script += "print(settings.POULS_FASTPATHS)"
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert read("0") == "False"
    assert read("1") == "True"


# --- tokens: Django's Signer ---------------------------------------------------------


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences"])
@pytest.mark.parametrize("switch", [True, False])
def test_batch_tokens_are_the_signer_s_tokens(settings, purpose, switch):
    settings.POULS_FASTPATHS = switch
    make = token_maker(purpose)
    for pk in (1, 61, 62, 3_844, 987_654_321, 2**62):
        token = make(pk)
        signer = signing.Signer(salt=tokens.salt(purpose))
        assert token == signer.sign(signing.b62_encode(pk))
        assert tokens.read_token(purpose, token) == pk


def test_batch_tokens_follow_the_secret_key(settings):
    before = token_maker("unsubscribe")(42)
    settings.SECRET_KEY = "another-" + "k" * 50
    after = token_maker("unsubscribe")(42)
    assert before != after
    assert after == signing.Signer(salt=tokens.salt("unsubscribe")).sign(signing.b62_encode(42))


# --- headers: the standard policy -----------------------------------------------------


LONG_ASCII = "<https://pouls.example/desinscription/" + "x" * 120 + ">, <mailto:d@pouls.example>"
HEADERS = [
    ("List-Unsubscribe", LONG_ASCII),
    ("List-Id", "Pouls <newsletter.pouls.example>"),
    ("Subject", "Écoutez vos clients « avant » de construire " * 4),
    ("X-Long", "mot " * 300),  # too long for one line: folded by the standard policy
]


@pytest.mark.parametrize(("name", "value"), HEADERS)
def test_headers_are_folded_as_the_standard_policy_folds_them(name, value):
    one_line = Compat32(max_line_length=998)
    expected = one_line if value.isascii() and len(name) + len(value) < 990 else compat32
    assert MESSAGE_POLICY.fold(name, value) == expected.fold(name, value)
    assert MESSAGE_POLICY.fold_binary(name, value) == expected.fold_binary(name, value)


def test_a_long_list_unsubscribe_reads_back_without_leading_space():
    message = WellFormedEmail("Sujet", "Corps", "a@pouls.example", ["b@example.org"])
    message.extra_headers = {"List-Unsubscribe": LONG_ASCII}
    parsed = BytesParser(policy=compat32).parsebytes(message.message().as_bytes())
    assert parsed["List-Unsubscribe"] == LONG_ASCII


# --- ESP batches: anymail's own payloads ------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "twin"),
    [
        ("anymail.backends.mailgun.EmailBackend", esp.MailgunBatchBackend),
        ("anymail.backends.sendgrid.EmailBackend", esp.SendGridBatchBackend),
    ],
)
def test_esp_batches_use_anymail_s_own_backend_when_the_switch_is_off(settings, backend, twin):
    from anymail.backends.mailgun import EmailBackend as Mailgun
    from anymail.backends.sendgrid import EmailBackend as SendGrid

    from mailings.transports import transport_for

    settings.EMAIL_BACKEND = backend
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-test",
        "MAILGUN_SENDER_DOMAIN": "pouls.example",
        "SENDGRID_API_KEY": "SG.test",
    }
    settings.POULS_FASTPATHS = True
    assert type(transport_for(esp_batch=True).backend) is twin
    settings.POULS_FASTPATHS = False
    upstream = type(transport_for(esp_batch=True).backend)
    assert upstream is get_connection(backend).__class__
    assert upstream in (Mailgun, SendGrid) and upstream is not twin


# --- the signup statement: Django's cursor ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("switch", [True, False])
def test_the_signup_statement_is_prepared_only_on_the_fast_path(postgres, settings, switch):
    from signups.models import Subscription
    from signups.services import signup_write_postgresql
    from tests.mailings.factories import MailingListFactory
    from tests.mailings.test_contract_sql_orm import signup_values

    settings.POULS_FASTPATHS = switch
    postgres.close()  # a fresh session: no statement prepared yet
    mailing_list = MailingListFactory()
    ids = [
        signup_write_postgresql(signup_values(mailing_list, f"awa{n}@example.org"))
        for n in range(3)
    ]
    assert (
        list(Subscription.objects.filter(pk__in=ids).values_list("status", flat=True))
        == ["pending"] * 3
    )
    with postgres.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE '%%INSERT INTO signups_subscription%%'"
        )
        prepared = cursor.fetchone()[0]
    threshold = postgres.settings_dict.get("OPTIONS", {}).get("prepare_threshold")
    assert prepared == (1 if switch and threshold is not None else 0)
