"""Configuration: production refuses to start without its secrets, bad URLs give one line."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT

PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x7-" + "k" * 30 + "Qz9_" + "p" * 30,
    "DJANGO_ALLOWED_HOSTS": "pouls.example.org",
    "SITE_URL": "https://pouls.example.org",
    "DATABASE_URL": "postgres://pouls@127.0.0.1:5432/pouls",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PATH": "/usr/bin:/bin",
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_passes_deploy_checks(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION, "POULS_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]
)
def test_production_refuses_to_start_without(missing, tmp_path):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = manage("check", env={**env, "POULS_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "postgress//nope"),
        ("DATABASE_URL", "mysql-ish:/x"),
        ("REDIS_URL", "localhost:6379"),
        ("SITE_URL", "pouls.example.org"),
    ],
)
def test_malformed_url_gives_one_line_naming_the_variable(variable, value, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path), variable: value}
    result = manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_embedded_defaults_generate_a_secret_key_once(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path)}
    assert manage("check", env=env).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert manage("check", env=env).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_anymail_is_configured_from_the_environment(tmp_path):
    code = "from django.conf import settings; print(settings.ANYMAIL, settings.EMAIL_BACKEND)"
    env = {
        "PATH": "/usr/bin:/bin",
        "POULS_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "token-123",
        "WEBHOOK_SECRET": "user:pass",
    }
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert "'POSTMARK_SERVER_TOKEN': 'token-123'" in result.stdout
    assert "'WEBHOOK_SECRET': 'user:pass'" in result.stdout
    assert "anymail.backends.postmark.EmailBackend" in result.stdout
