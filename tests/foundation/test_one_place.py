"""Rules that live in one place stay there: a default setting is declared only in
config/settings.py, the blog's time zone is named once (TIME_ZONE), and consent
evidence is written only by `Consent.objects.record`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("articles", "signups", "mailings", "config")


def _lines(pattern: str, *, allowed=()):
    found = re.compile(pattern)
    return [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if found.search(line)
    ]


def test_settings_are_read_without_a_default_of_their_own():
    assert _lines(r"getattr\(\s*settings\s*,") == []


def test_the_time_zone_is_named_once():
    # The zone lists readers choose from name it as one zone among others.
    allowed = ("config/settings.py", "mailings/models/zones.py", "signups/time_zones.py")
    assert _lines(r"Europe/Paris", allowed=allowed) == []
    assert _lines(r"^TIME_ZONE = ", allowed=()) == ["config/settings.py:" + _line_of_time_zone()]


def _line_of_time_zone() -> str:
    lines = (ROOT / "config/settings.py").read_text().splitlines()
    return str(next(n for n, line in enumerate(lines, 1) if line.startswith("TIME_ZONE = ")))


def test_consent_is_written_only_by_record():
    assert (
        _lines(r"Consent\.objects\.(create|bulk_create|get_or_create)|(?<!class )Consent\(") == []
    )
