"""`make run` on embedded defaults: web, worker and beat come up together and stop on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import urllib.request

import pytest

from tests.helpers import ROOT, free_port, wait_for

pytestmark = pytest.mark.worker


def embedded_env(var_dir, port):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith(("PYTEST_", "DJANGO_SUPERUSER_"))
    }
    env.update(
        POULS_VAR_DIR=str(var_dir),
        PORT=str(port),
        CELERY_CONCURRENCY="1",
        WEB_CONCURRENCY="1",
        MAKEFLAGS="",
    )
    return env


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def test_make_run_starts_web_worker_and_beat(tmp_path):
    port = free_port()
    env = embedded_env(tmp_path / "var", port)
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        run = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy():
            try:
                return get(base + "/healthz")[0] == 200
            except OSError:
                return False

        wait_for(healthy, timeout=120, interval=0.5, message="the web server")
        output = log_path.read_text()
        assert f"{base}/admin/" in output
        # Said once, by gunicorn's master: no anymail backend, no webhook answers.
        assert output.count("ESP webhooks: none mounted") == 1, output
        password = re.search(r"mot de passe : (\S+)", output).group(1)

        status, html = get(base + "/")
        assert status == 200 and 'lang="fr"' in html
        assert (tmp_path / "var" / "db.sqlite3").exists()

        # A task round-trips through the filesystem broker and the worker.
        ping = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "ping_worker", "--timeout", "90"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr

        # Beat is alive: its first tick reaches the worker and is reported by /healthz.
        def ticked():
            import json

            return json.loads(get(base + "/healthz")[1])["checks"]["beat"]["last_tick_seconds_ago"]

        assert wait_for(ticked, timeout=90, interval=1, message="beat's first tick") is not None

        # The printed credentials open the admin.
        login = subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "manage.py",
                "shell",
                "-c",
                # With a request, as the admin's login form does (django-axes needs it).
                f"from django.contrib.auth import authenticate; "
                f"from django.test import RequestFactory; "
                f"print(bool(authenticate(RequestFactory().post('/admin/login/'), "
                f"username='admin', password='{password}')))",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert login.stdout.strip().splitlines()[-1] == "True", login.stderr
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise

    # Ctrl-C stopped all three: no process of the group is left, nothing listens.
    def group_gone():
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=30, message="web, worker and beat to stop")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass

    # A second run reuses everything: no second admin, no duplicated data.
    setup = subprocess.run(
        ["make", "--no-print-directory", "setup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "mot de passe :" not in setup.stdout
    assert "déjà créé" in setup.stdout


def test_make_run_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=embedded_env(tmp_path / "var", port),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", line)]
    assert len(ours) == 1, result.stderr
    assert f"Le port {port} est déjà utilisé" in ours[0]
    assert "Traceback" not in result.stderr
