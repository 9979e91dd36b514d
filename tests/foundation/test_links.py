"""One way to make an address absolute (config.links.absolute), on SITE_URL; routes of
the hot paths reversed once (config.links.reverse_with)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse, set_script_prefix

from config.links import absolute, reverse_with
from signups import tokens


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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("signups:thanks", "newsletter"),
        ("signups:thanks", "atelier-lire_2"),
        ("signups:confirm", tokens.make_token("confirm", 12345, 1_764_000_000_000_000)),
        ("signups:preferences", tokens.make_token("preferences", 7)),
        ("signups:unsubscribe", tokens.make_token("unsubscribe", 2**40)),
        # Characters a path quotes: these go through reverse itself.
        ("signups:confirm", "é là?x=1#y"),
        ("signups:confirm", "zzPoulsSlotzz"),
    ],
)
def test_reverse_with_gives_what_reverse_gives(name, value):
    assert reverse_with(name, value) == reverse(name, args=[value])
    assert reverse_with(name, value) == reverse(name, args=[value])  # reversed once, kept


def test_reverse_with_follows_the_script_prefix_and_the_urlconf(settings):
    token = tokens.make_token("preferences", 42)
    before = reverse_with("signups:preferences", token)
    set_script_prefix("/blog/")
    try:
        assert reverse_with("signups:preferences", token) == f"/blog{before}"
    finally:
        set_script_prefix("/")
    settings.ROOT_URLCONF = "tests.perf.bench_urls"
    assert reverse_with("signups:preferences", token) == reverse(
        "signups:preferences", args=[token]
    )
