"""SITE_URL: in development, unset, links use the address the server listens on;
production refuses to start without it."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT

from .test_settings import PRODUCTION, manage


def _site_url(tmp_path, **variables) -> str:
    env = {"PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path), **variables}
    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.SITE_URL)", env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "http://localhost:8000"),
        ({"PORT": "8250"}, "http://localhost:8250"),
        ({"HOST": "127.0.0.1", "PORT": "8250"}, "http://127.0.0.1:8250"),
        ({"HOST": "0.0.0.0", "PORT": "8250"}, "http://localhost:8250"),  # noqa: S104
        ({"HOST": "::1", "PORT": "8250"}, "http://[::1]:8250"),
        # Under `make run` honcho hands the worker PORT=8350: the web's port wins.
        ({"HOST": "127.0.0.1", "PORT": "8350", "POULS_WEB_PORT": "8250"}, "http://127.0.0.1:8250"),
        ({"PORT": "8250", "SITE_URL": "https://pouls.example.org/"}, "https://pouls.example.org"),
    ],
)
def test_site_url_in_development(variables, expected, tmp_path):
    assert _site_url(tmp_path, **variables) == expected


def test_production_refuses_to_start_without_site_url(tmp_path):
    env = {key: value for key, value in PRODUCTION.items() if key != "SITE_URL"}
    result = manage("check", env={**env, "PORT": "8250", "POULS_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SITE_URL" in lines[0]


def test_make_run_passes_the_port_it_listens_on(tmp_path):
    """`make run` gives its port to every process (honcho renumbers PORT per process)."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run", "PORT=8250", "HOST=127.0.0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": f"{sys.prefix}/bin:/usr/bin:/bin", "MAKEFLAGS": ""},
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "honcho" in line]
    assert "POULS_WEB_PORT=8250" in line and "--port 8250" in line
