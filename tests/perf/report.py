"""The benchmarks' headline figures, fast paths on and off, in one table.

Each benchmark of tests/perf/ calls `record(...)` beside its final print. Under
`make bench`, which names a directory in `BENCH_RESULTS`, the figure is appended as
one JSON line to `fastpaths-on.jsonl` or `fastpaths-off.jsonl` there, by the mode the
process runs in (`POULS_FASTPATHS`, config/fastpaths.py). Anywhere else (a plain
`pytest tests/perf -s`) `record` only checks its arguments and writes nothing.

`python -m tests.perf.report [directory]` (run by `make bench` after both passes)
prints one Markdown table: figure | fast paths on | off | baseline (same run) |
target | met?, with the machine and the date above it. A figure a pass did not
record shows « — »; the benchmarks that run none of the copies (`SAME_EITHER_WAY`)
run in the "on" pass only, and their "off" cell says so.
`python -m tests.perf.report --off-pass-deselect` prints the pytest options that
leave them out of the "off" pass.
"""

import datetime as dt
import json
import operator
import os
import platform
import re
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIRECTORY = ROOT / "var" / "bench"
MODES = ("on", "off")
NONE = "—"

#: Benchmarks whose measured code runs none of the copies listed in
#: config/fastpaths.py (the HMAC token maker of the mailings' rendering, the anymail
#: batch payloads, the signup form's shared fields, the signup's prepared cursor):
#: the switch changes nothing on their path, so `make bench` runs them with the fast
#: paths on only. pytest node id (prefix) → what the benchmark times.
SAME_EITHER_WAY = {
    "tests/perf/bench_admin.py": "admin pages and CSV exports",
    "tests/perf/bench_articles.py::test_import_a_thousand_generated_articles": ("Markdown import"),
    "tests/perf/bench_import_wxr.py": "WordPress import",
    "tests/perf/bench_list_export.py": "the list's CSV export",
    "tests/perf/bench_mail_dispatch.py": "dispatch (set-based SQL, nothing rendered)",
    "tests/perf/bench_webhooks.py": "ESP webhooks (recording, suppression)",
}

#: Rows of the table come in this order (a key's first dotted part), the figures
#: the issue sets targets for first; other keys follow in the order recorded.
ORDER = ("smtp", "esp", "dispatch", "memory", "signup", "pages", "studio", "admin", "export")

_OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_TARGET = re.compile(
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<number>\d[\d,_]*(?:\.\d+)?)"
    r"(?P<relative>\s*[x×]\s*baseline)?\s*"
)


def parse_target(target: str) -> tuple[str, float, bool]:
    """`">= 0.7 x baseline"` → (">=", 0.7, True); `"< 300"` → ("<", 300.0, False)."""
    match = _TARGET.fullmatch(target)
    if match is None:
        raise ValueError(
            f"target {target!r}: expected a comparison such as '>= 20000', '< 300' "
            "or '>= 0.7 x baseline'"
        )
    number = float(match["number"].replace(",", "").replace("_", ""))
    return match["op"], number, bool(match["relative"])


def record(
    key: str,
    label: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_label: str | None = None,
    target: str | None = None,
    *,
    ratio: float | None = None,
) -> None:
    """Record one headline figure of the running benchmark.

    `baseline` is the figure measured in the same run to compare with; `target` a
    comparison of the value (`"< 300"`) or of its ratio to the baseline
    (`">= 0.7 x baseline"`); `ratio` the benchmark's own ratio when it is not
    value / baseline (the median of paired rounds, say)."""
    if target is not None:
        _op, _number, relative = parse_target(target)
        if relative and baseline is None and ratio is None:
            raise ValueError(f"{key}: target {target!r} needs a baseline")
    directory = os.environ.get("BENCH_RESULTS", "")
    if not directory:
        return
    from config import fastpaths

    entry = {
        "key": key,
        "label": label,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_label": baseline_label,
        "target": target,
        "ratio": ratio,
        "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0],
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load": round(os.getloadavg()[0], 1),
        "machine": machine(),
    }
    path = Path(directory) / results_name(fastpaths.enabled())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def results_name(enabled: bool) -> str:
    return f"fastpaths-{'on' if enabled else 'off'}.jsonl"


@lru_cache(maxsize=1)
def machine() -> dict:
    """What the figures were measured on (the database: the server the run used)."""
    import django

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": _database_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _database_version() -> str:
    try:
        from django.db import connection

        if connection.vendor == "postgresql":
            version = connection.pg_version  # e.g. 150010
            return f"PostgreSQL {version // 10000}.{version % 10000}"
        return f"{connection.display_name} {'.'.join(map(str, connection.Database.sqlite_version_info))}"
    except Exception:  # the figure counts more than the version: never fail for it
        return "?"


# --- the summary ---------------------------------------------------------------


def load(path: Path) -> list[dict]:
    """A results file's entries, in order (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def meets(entry: dict | None) -> bool | None:
    """Whether a recorded figure meets its target (None: no target or no figure)."""
    if not entry or not entry.get("target") or entry.get("value") is None:
        return None
    op, number, relative = parse_target(entry["target"])
    if relative:
        left = _ratio(entry)
        if left is None:
            return None
    else:
        left = entry["value"]
    return _OPERATORS[op](left, number)


def _ratio(entry: dict) -> float | None:
    if entry.get("ratio") is not None:
        return entry["ratio"]
    if entry.get("baseline"):
        return entry["value"] / entry["baseline"]
    return None


def number(value: float | None) -> str:
    """A figure as the table prints it: 12,345; 45.6; 4.56; 0.0045."""
    if value is None:
        return NONE
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _figure(entry: dict | None) -> str:
    if not entry:
        return NONE
    text = f"{number(entry['value'])} {entry['unit']}"
    ratio = _ratio(entry)
    if ratio is not None:
        text += f" ({ratio:.0f}× baseline)" if ratio >= 10 else f" ({ratio:.2f}× baseline)"
    return text


def _baseline(on: dict | None, off: dict | None) -> str:
    first = on or off
    if first.get("baseline") is None:
        return first.get("baseline_label") or NONE
    text = (
        f"{first.get('baseline_label') or 'baseline'}: {number(first['baseline'])} {first['unit']}"
    )
    if on and off and off.get("baseline") is not None:
        text += f" (off run: {number(off['baseline'])})"
    return text


def _target(target: str | None) -> str:
    if not target:
        return NONE
    op, number_, relative = parse_target(target)
    shown = {">=": "≥", "<=": "≤"}.get(op, op)
    return f"{shown} {number_:,g}" + (" × baseline" if relative else "")


def _word(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: NONE}[met]


def _met(on: dict | None, off: dict | None) -> str:
    target = (on or off).get("target")
    if not target:
        return NONE
    text = _word(meets(on))
    if off:
        text += f" (off: {_word(meets(off)).strip('*')})"
    return text


def same_either_way(entry: dict | None) -> str | None:
    """What a figure's benchmark times, when it is one of SAME_EITHER_WAY's."""
    test = (entry or {}).get("test", "")
    for prefix, what in SAME_EITHER_WAY.items():
        if test == prefix or test.startswith(prefix + "::"):
            return what
    return None


def _rows(on_entries: list[dict], off_entries: list[dict]) -> list[tuple[str, dict, dict]]:
    on = {entry["key"]: entry for entry in on_entries}  # the last one of a key wins
    off = {entry["key"]: entry for entry in off_entries}
    keys = list(dict.fromkeys([*on, *off]))

    def rank(key):
        head = key.split(".", 1)[0]
        return ORDER.index(head) if head in ORDER else len(ORDER)

    keys.sort(key=rank)  # stable: the order recorded within each group
    return [(key, on.get(key), off.get(key)) for key in keys]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(on_entries: list[dict], off_entries: list[dict]) -> list[str]:
    lines = [
        "| figure | fast paths on | fast paths off | baseline (same run) | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for _key, on, off in _rows(on_entries, off_entries):
        first = on or off
        label = first["label"]
        if on and off and off["label"] != on["label"]:
            label += f" (off: {off['label']})"
        same = same_either_way(first) is not None and not off
        off_cell = "same code path either way (not run)" if same else _figure(off)
        cells = [
            label,
            _figure(on),
            off_cell,
            _baseline(on, off),
            _target(first.get("target")),
            _met(on, off),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def _span(entries: list[dict]) -> str:
    times = sorted(entry["at"] for entry in entries if entry.get("at"))
    loads = [entry["load"] for entry in entries if entry.get("load") is not None]
    if not times:
        return NONE
    start, end = (dt.datetime.fromisoformat(moment) for moment in (times[0], times[-1]))
    text = f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    if loads:
        text += f", load average {min(loads)}–{max(loads)} at the figures"
    return text


def _machine_line(entries: list[dict]) -> str:
    found = next((entry["machine"] for entry in entries if entry.get("machine")), None)
    if found is None:
        return "Machine: not recorded."
    return (
        f"Machine: {found['nproc']} CPUs (nproc), {found['cpu']}; Python {found['python']}, "
        f"Django {found['django']}, {found['database']}."
    )


def summary(directory: Path) -> str:
    """The whole summary of a results directory, as Markdown."""
    on_entries = load(Path(directory) / results_name(True))
    off_entries = load(Path(directory) / results_name(False))
    if not on_entries and not off_entries:
        return f"No benchmark figures in {directory}: run `make bench`."
    lines = [
        "Benchmarks, fast paths on and off "
        f"(summary printed {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        _machine_line(on_entries + off_entries),
        f"Fast paths on (POULS_FASTPATHS=1): {_span(on_entries)}.",
        f"Fast paths off (POULS_FASTPATHS=0): {_span(off_entries)}.",
    ]
    machines = {json.dumps(entry.get("machine"), sort_keys=True) for entry in on_entries}
    machines |= {json.dumps(entry.get("machine"), sort_keys=True) for entry in off_entries}
    if len(machines) > 1:
        lines.append("The two passes did not run on the same machine or versions.")
    lines += [
        "",
        *table(on_entries, off_entries),
        "",
        "Each figure beside the baseline its benchmark measured in the same run; the ratio "
        "in brackets is the figure over that baseline (for the signup, the median of the "
        "rounds' ratios). met?: the fast paths on, then (off: …) whether the off pass would "
        "meet the target too. « — »: not recorded in that pass (not run, or failed).",
    ]
    return "\n".join(lines)


def off_pass_deselect() -> str:
    """pytest options that leave SAME_EITHER_WAY's benchmarks out of the "off" pass."""
    return " ".join(f"--deselect={node}" for node in SAME_EITHER_WAY)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--off-pass-deselect"]:
        print(off_pass_deselect())
        return 0
    directory = (
        Path(argv[0]) if argv else Path(os.environ.get("BENCH_RESULTS") or DEFAULT_DIRECTORY)
    )
    text = summary(directory)
    print(text)
    return 0 if not text.startswith("No benchmark figures") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
