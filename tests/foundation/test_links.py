"""One way to make an address absolute (config.links.absolute), on SITE_URL."""

import re
from pathlib import Path

import pytest

from config.links import absolute


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/atelier/", "https://pouls.example/atelier/"),
        ("/", "https://pouls.example/"),
        ("./autre/", "https://pouls.example/autre/"),
        ("#plan", "https://pouls.example/#plan"),
        ("//cdn.example.org/a.png", "https://cdn.example.org/a.png"),
        ("https://ailleurs.example/x", "https://ailleurs.example/x"),
        ("http://ailleurs.example/x", "http://ailleurs.example/x"),
        ("mailto:redaction@pouls.example", "mailto:redaction@pouls.example"),
        ("@@UNSUB@@", "@@UNSUB@@"),
        ("", ""),
    ],
)
def test_absolute_on_site_url(settings, url, expected):
    settings.SITE_URL = "https://pouls.example"
    assert absolute(url) == expected


def test_no_module_builds_absolute_addresses_by_hand():
    """Every absolute address goes through config.links.absolute."""
    root = Path(__file__).resolve().parents[2]
    by_hand = re.compile(r"SITE_URL\s*\+|\{settings\.SITE_URL\}|urljoin\(|\w\.absolute\(")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for app in ("articles", "signups", "mailings", "config")
        for path in (root / app).rglob("*.py")
        if path.name != "links.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert offenders == []
