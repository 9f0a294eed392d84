"""Small server-rendered SVG charts (no JavaScript): stacked horizontal bars and paired histograms."""

from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = {"done": "#1f7a4a", "open": "#2457c5", "overdue": "#b3261e", "before": "#9aa7bd", "after": "#2457c5"}


def text_width(text: str) -> float:
    """Rough width in px at 13px: CJK characters are about twice as wide as Latin ones."""
    return sum(13.0 if ord(c) >= 0x2E80 else 7.5 for c in text)


def stacked_bars(rows: list[tuple[str, dict[str, int]]], keys: list[tuple[str, str]], title: str) -> Markup:
    """One bar per row, segments per key (`(key, legend label)`), counts written at the bar's end."""
    if not rows:
        return Markup("")
    label_w, bar_w, row_h = 130, 270, 26
    top = 28
    height = top + row_h * len(rows) + 8
    biggest = max(sum(values.get(k, 0) for k, _ in keys) for _, values in rows) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {label_w + bar_w + 50} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    x: float = label_w
    for key, legend in keys:
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{COLOURS.get(key, "#777")}"/>')
        parts.append(f'<text x="{x + 16}" y="16">{escape(legend)}</text>')
        x += 16 + text_width(legend) + 16
    for i, (label, values) in enumerate(rows):
        y = top + i * row_h
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end"><title>{escape(label)}</title>'
            f"{escape(short)}</text>"
        )
        x = label_w
        total = 0
        for key, legend in keys:
            n = values.get(key, 0)
            total += n
            w = bar_w * n / biggest
            if n:
                colour = COLOURS.get(key, "#777")
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}">'
                    f"<title>{escape(label)} · {escape(legend)}: {n}</title></rect>"
                )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(before: dict[str, int], after: dict[str, int], labels: tuple[str, str], title: str) -> Markup:
    """Ratings before and after calibration side by side, one pair of columns per rating value."""
    values = sorted(set(before) | set(after), key=lambda v: (v == "none", float(v) if v != "none" else 0))
    if not values:
        return Markup("")
    col_w, gap, h, top = 22, 26, 160, 26
    width = 40 + len(values) * (2 * col_w + gap)
    biggest = max([*before.values(), *after.values(), 1])
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {max(width, 260)} {h + top + 30}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (key, legend) in enumerate((("before", labels[0]), ("after", labels[1]))):
        parts.append(f'<rect x="{10 + i * 120}" y="6" width="12" height="12" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{26 + i * 120}" y="16">{escape(legend)}</text>')
    for i, value in enumerate(values):
        x0 = 30 + i * (2 * col_w + gap)
        for j, (series, key) in enumerate(((before, "before"), (after, "after"))):
            n = series.get(value, 0)
            bar = h * n / biggest
            x = x0 + j * col_w
            parts.append(
                f'<rect x="{x}" y="{top + h - bar:.1f}" width="{col_w - 2}" height="{bar:.1f}" fill="{COLOURS[key]}">'
                f"<title>{escape(value)}: {n}</title></rect>"
            )
            parts.append(f'<text x="{x + col_w / 2 - 1}" y="{top + h - bar - 3:.1f}" text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x0 + col_w}" y="{top + h + 18}" text-anchor="middle">{escape(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
