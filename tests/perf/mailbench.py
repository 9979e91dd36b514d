"""Shared pieces of the mailing benchmarks: many readers fast, smtp-sink, a worker tree's memory."""

import os
import signal
import subprocess
import time
from pathlib import Path

from django.db import connection

from signups.models import MailingList
from tests import helpers


def make_readers(count: int, slug: str = "newsletter") -> MailingList:
    """`count` confirmed readers of one list, written by PostgreSQL itself (generate_series)."""
    mailing_list, _ = MailingList.objects.get_or_create(
        slug=slug, defaults={"name": "Newsletter", "consent_text": "J’accepte."}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signups_contact (email, first_name, profile, time_zone, language, source,"
            " created_at, suppression_reason)"
            " SELECT 'lecteur' || g || '@example.org', 'Prénom' || g, '', "
            " (ARRAY['Europe/Paris','America/Montreal','Africa/Douala','America/Martinique'])[1 + g %% 4],"
            " 'fr', 'bench', now(), '' FROM generate_series(1, %s) AS g",
            [count],
        )
        cursor.execute(
            "INSERT INTO signups_subscription (contact_id, mailing_list_id, status, created_at, confirmed_at)"
            " SELECT id, %s, 'active', now(), now() FROM signups_contact WHERE source = 'bench'",
            [mailing_list.pk],
        )
        cursor.execute("ANALYZE signups_contact; ANALYZE signups_subscription")
    return mailing_list


def start_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["smtp-sink", "-u", os.environ.get("USER", "root"), f"127.0.0.1:{port}", "2000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    time.sleep(0.3)
    return process


def start_worker(env, *, concurrency=2, log=None) -> subprocess.Popen:
    return helpers.start_worker(env=env, concurrency=concurrency, log=log, loglevel="WARNING")


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants, and of the largest of them,
    in MB (from /proc)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, largest, stack = 0, 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    largest = max(largest, int(line.split()[1]))
        except OSError:
            pass
        stack.extend(children.get(current, []))
    return total / 1024, largest / 1024
