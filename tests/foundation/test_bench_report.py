"""The benchmarks' summary (tests/perf/report.py): `make bench` records each headline
figure per fast-paths mode, then prints one table of both passes."""

import ast
import json

import pytest

from tests.helpers import ROOT
from tests.perf import report

MACHINE = {
    "nproc": 2,
    "cpu": "Test CPU",
    "python": "3.11.0",
    "django": "5.2",
    "database": "PostgreSQL 15.1",
}


def entry(key, value, *, baseline=None, target=None, ratio=None, test="", label=None):
    return {
        "key": key,
        "label": label or key,
        "value": value,
        "unit": "u/s",
        "baseline": baseline,
        "baseline_label": "the base" if baseline is not None else None,
        "target": target,
        "ratio": ratio,
        "test": test,
        "at": "2026-12-01T03:00:00+00:00",
        "load": 1.5,
        "machine": MACHINE,
    }


def write(path, entries):
    path.write_text("".join(json.dumps(item) + "\n" for item in entries), encoding="utf-8")


def rows(text: str) -> dict[str, list[str]]:
    """The table's rows: figure label → the other five cells."""
    table = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| figure"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            table[cells[0]] = cells[1:]
    return table


@pytest.fixture
def results(tmp_path):
    write(
        tmp_path / "fastpaths-on.jsonl",
        [
            entry("memory.rss", 471, baseline=442, target="< 300"),
            entry("smtp", 9000, baseline=10000, target=">= 0.7 x baseline"),
            entry("esp.mailgun", 15000, baseline=400000, target=">= 20000"),
            # The benchmark's own ratio (median of rounds) is what the target judges.
            entry("signup", 365, baseline=781, target=">= 0.6 x baseline", ratio=0.62),
            entry(
                "dispatch",
                7.0,
                baseline=2.2,
                target="< 20",
                test="tests/perf/bench_mail_dispatch.py::test_dispatch_of_a_million_contacts",
            ),
            entry("studio.live_count", 150, target="< 200"),
            entry("smtp", 9500, baseline=10000, target=">= 0.7 x baseline"),  # last one wins
        ],
    )
    write(
        tmp_path / "fastpaths-off.jsonl",
        [
            entry("smtp", 6000, baseline=10500, target=">= 0.7 x baseline"),
            entry("esp.mailgun", 21000, baseline=390000, target=">= 20000"),
            entry("memory.rss", 300, baseline=442, target="< 300"),
            entry("pages.article", 900, baseline=1000, target=">= 0.8 x baseline"),
        ],
    )
    return tmp_path


def test_the_table_evaluates_each_target_on_and_off(results):
    table = rows(report.summary(results))
    assert table["smtp"] == [
        "9,500 u/s (0.95× baseline)",
        "6,000 u/s (0.57× baseline)",
        "the base: 10,000 u/s (off run: 10,500)",
        "≥ 0.7 × baseline",
        "yes (off: no)",
    ]
    assert table["esp.mailgun"][3:] == ["≥ 20,000", "**no** (off: yes)"]
    assert table["memory.rss"][3:] == ["< 300", "**no** (off: no)"]  # 300 is not < 300
    assert table["signup"][0] == "365 u/s (0.62× baseline)"
    assert table["signup"][4] == "yes"


def test_missing_figures_show_a_dash(results):
    table = rows(report.summary(results))
    assert table["studio.live_count"] == ["150 u/s", "—", "—", "< 200", "yes"]
    assert table["signup"][1] == "—"
    assert table["pages.article"][0] == "—"
    assert table["pages.article"][4] == "— (off: yes)"
    # A benchmark no fast path is on runs in the "on" pass only, and says why.
    assert table["dispatch"][1] == "same code path either way (not run)"


def test_rows_come_in_the_issues_order_and_the_machine_is_printed(results):
    text = report.summary(results)
    assert list(rows(text)) == [
        "smtp",
        "esp.mailgun",
        "dispatch",
        "memory.rss",
        "signup",
        "pages.article",
        "studio.live_count",
    ]
    assert "Machine: 2 CPUs (nproc), Test CPU; Python 3.11.0, Django 5.2, PostgreSQL 15.1." in text
    assert "2026-12-01 03:00–03:00 UTC" in text


def test_one_pass_or_none(tmp_path, results):
    (results / "fastpaths-off.jsonl").unlink()
    table = rows(report.summary(results))
    assert table["smtp"][1] == "—" and table["smtp"][4] == "yes"
    assert report.summary(tmp_path / "nothing").startswith("No benchmark figures")
    assert report.main([str(tmp_path / "nothing")]) == 1


def test_record_writes_only_under_make_bench(tmp_path, monkeypatch, settings):
    monkeypatch.setattr(report, "machine", lambda: MACHINE)
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    report.record("smtp", "SMTP", 1.0, "msg/s", 2.0, "smtplib", ">= 0.7 x baseline")
    assert not list(tmp_path.iterdir())

    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "bench"))
    settings.POULS_FASTPATHS = False
    report.record("smtp", "SMTP", 1.0, "msg/s", 2.0, "smtplib", ">= 0.7 x baseline")
    [line] = (tmp_path / "bench" / "fastpaths-off.jsonl").read_text().splitlines()
    recorded = json.loads(line)
    assert (recorded["key"], recorded["value"], recorded["baseline"]) == ("smtp", 1.0, 2.0)
    assert recorded["test"].startswith("tests/foundation/test_bench_report.py::")
    assert not (tmp_path / "bench" / "fastpaths-on.jsonl").exists()


@pytest.mark.parametrize(
    ("target", "parsed"),
    [
        (">= 0.7 x baseline", (">=", 0.7, True)),
        (">= 20000", (">=", 20000.0, False)),
        ("< 300", ("<", 300.0, False)),
        ("<= 1,000", ("<=", 1000.0, False)),
    ],
)
def test_targets(target, parsed):
    assert report.parse_target(target) == parsed


@pytest.mark.parametrize("target", ["fast", "= 3", ">= x baseline"])
def test_a_target_the_summary_could_not_judge_is_refused_at_once(target):
    with pytest.raises(ValueError):
        report.record("k", "label", 1.0, "s", 1.0, "base", target)


def test_the_benchmarks_left_out_of_the_off_pass_exist():
    for node in report.SAME_EITHER_WAY:
        path, _, function = node.partition("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert "report.record(" in source, node
        if function:
            names = {item.name for item in ast.parse(source).body if hasattr(item, "name")}
            assert function in names, node
