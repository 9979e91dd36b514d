"""One line chart for the admin pages (the audience, a mailing's results, the dashboard),
drawn on the server as SVG: this computes the coordinates, and
`admin/includes/line_chart.html` writes the SVG (escaping every label), its legend and
the figures as a table for those who do not read charts."""

from collections.abc import Sequence

PALETTE = ("#b4232f", "#1a5fb4", "#26a269", "#a347ba", "#c64600", "#5e5c64")
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 14, 28


def line_chart(
    *, title: str, labels: Sequence[str], series: Sequence[dict], ticks: int = 6
) -> dict | None:
    """`series`: [{"name": str, "values": [number per label], "key": css suffix (optional),
    "colour": (optional)}]; one value per label. None when there is nothing to draw."""
    if not labels or not series:
        return None
    peak = max([1, *(max(s["values"], default=0) for s in series)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def x(i):
        return round(LEFT + i * step, 1)

    def y(value):
        return round(TOP + plot_h - value / peak * plot_h, 1)

    lines = []
    for index, s in enumerate(series):
        lines.append(
            {
                "name": s["name"],
                "key": s.get("key", str(index)),
                "colour": s.get("colour") or PALETTE[index % len(PALETTE)],
                "points": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s["values"])),
                "last": s["values"][-1] if s["values"] else 0,
            }
        )
    every = max(1, (len(labels) - 1) // max(1, ticks - 1))
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "lines": lines,
        "ticks": [
            {"x": x(i), "label": label}
            for i, label in enumerate(labels)
            if i % every == 0 or i == len(labels) - 1
        ],
        "peak": peak,
        "left": LEFT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "right": LEFT + plot_w,
        "label_y": HEIGHT - 8,
        "rows": [(label, [s["values"][i] for s in series]) for i, label in enumerate(labels)],
    }
