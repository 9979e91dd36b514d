"""Production refuses the example file's placeholders, a wildcard host, and the
placeholder postal address when mail really leaves."""

import pytest

from tests.helpers import ROOT

from .test_settings import PRODUCTION, manage

EXAMPLE = ROOT / "platform" / "pouls.env.example"
BREVO = "anymail.backends.brevo.EmailBackend"
# Real-looking values for what an anymail backend needs beside the variable under test.
REAL_MAIL = {
    "EMAIL_BACKEND": BREVO,
    "ANYMAIL_BREVO_API_KEY": "xkeysib-" + "3f9a" * 16 + "-Zq81wXyT0aBc",
    "WEBHOOK_SECRET": "hooks:Vt8mQ2pLr9sKx4NwZ7yB3cFh",
    "MAIL_POSTAL_ADDRESS": "Pouls SAS, 12 rue Oberkampf, 75011 Paris, France",
}


def example_values() -> dict:
    values = {}
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def start(tmp_path, **variables):
    env = {**PRODUCTION, **REAL_MAIL, "POULS_VAR_DIR": str(tmp_path), **variables}
    return manage("check", "--deploy", env=env)


def refused(result, variable):
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def test_real_values_start(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_example_file_as_it_stands_is_refused(tmp_path):
    """The attack: production started with pouls.env.example copied unchanged."""
    example = example_values()
    result = manage(
        "check", env={**example, "PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    "variable",
    [
        "DJANGO_SECRET_KEY",
        "WEBHOOK_SECRET",
        "ANYMAIL_BREVO_API_KEY",
        "DATABASE_URL",
        "MAIL_POSTAL_ADDRESS",
    ],
)
def test_each_placeholder_of_the_example_is_refused(variable, tmp_path):
    value = example_values()[variable]
    line = refused(start(tmp_path, **{variable: value}), variable)
    assert "production" in line


def test_forged_preference_links_need_more_than_the_example_key(tmp_path):
    """A key that merely starts like the example's placeholder is refused too."""
    key = example_values()["DJANGO_SECRET_KEY"].upper() + "-2026"
    refused(start(tmp_path, DJANGO_SECRET_KEY=key), "DJANGO_SECRET_KEY")


@pytest.mark.parametrize("hosts", ["*", "pouls.example.org,*", "*.pouls.example.org"])
def test_wildcard_allowed_hosts_are_refused(hosts, tmp_path):
    line = refused(start(tmp_path, DJANGO_ALLOWED_HOSTS=hosts), "DJANGO_ALLOWED_HOSTS")
    assert "'*'" in line


@pytest.mark.parametrize("postal", [None, "", "  "])
def test_missing_postal_address_is_refused_when_mail_leaves(postal, tmp_path):
    env = {
        **PRODUCTION,
        **REAL_MAIL,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "POULS_VAR_DIR": str(tmp_path),
    }
    if postal is None:
        del env["MAIL_POSTAL_ADDRESS"]  # the settings' own placeholder
    else:
        env["MAIL_POSTAL_ADDRESS"] = postal
    refused(manage("check", env=env), "MAIL_POSTAL_ADDRESS")


def test_placeholder_postal_address_is_accepted_when_no_mail_leaves(tmp_path):
    """Production with the .eml file backend sends nothing: no postal address needed."""
    env = {**PRODUCTION, "POULS_VAR_DIR": str(tmp_path)}
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr
