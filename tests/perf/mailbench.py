"""Shared pieces of the mailing benchmarks: many readers fast, smtp-sink, a worker tree's memory."""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
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


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: pid → (parent pid, name, CPU seconds used so far), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            name = head.split("(", 1)[1]
            processes[int(entry.name)] = (
                int(fields[1]),
                name,
                (int(fields[11]) + int(fields[12])) / tick,
            )
    return processes


def _tree(pid: int, processes) -> list[int]:
    children = {}
    for child, (parent, _name, _cpu) in processes.items():
        children.setdefault(parent, []).append(child)
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by a process tree (the worker) and by the PostgreSQL
    server's processes: where a run's time went, compared between two readings."""
    processes = _processes()
    worker = sum(processes[p][2] for p in _tree(pid, processes) if p in processes)
    server = sum(cpu for _parent, name, cpu in processes.values() if name == "postgres")
    return worker, server


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants, and of the largest of them,
    in MB (from /proc)."""
    total, largest = 0, 0
    for current in _tree(pid, _processes()):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    largest = max(largest, int(line.split()[1]))
        except OSError:
            pass
    return total / 1024, largest / 1024


@dataclass(frozen=True)
class TreeMemory:
    """A process tree's memory at one moment, in MB (from /proc/<pid>/smaps_rollup)."""

    processes: int
    rss: float  # summed resident memory: a page shared by n processes counted n times
    pss: float  # proportional: each shared page split among its sharers (the tree's cost)
    largest_rss: float  # the largest single process (resident, its shared pages included)

    def max(self, other: "TreeMemory") -> "TreeMemory":
        """Each measure's own peak of the two readings."""
        return TreeMemory(
            max(self.processes, other.processes),
            max(self.rss, other.rss),
            max(self.pss, other.pss),
            max(self.largest_rss, other.largest_rss),
        )


def tree_memory(pid: int) -> TreeMemory:
    """Summed RSS, PSS and the largest process's RSS of a process and its descendants.
    Summed RSS counts each page the forked children share with their parent once per
    process: an overestimate of what the tree costs the machine, which PSS is."""
    count, rss, pss, largest = 0, 0, 0, 0
    for current in _tree(pid, _processes()):
        try:
            lines = Path(f"/proc/{current}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split()[0]: int(line.split()[1]) for line in lines[1:]}
        count += 1
        rss += fields["Rss:"]
        pss += fields["Pss:"]
        largest = max(largest, fields["Rss:"])
    return TreeMemory(count, rss / 1024, pss / 1024, largest / 1024)
