"""Inline SVG charts for the static reports: no JavaScript, no fonts or files to fetch.

Every chart is a ``<figure class="chart" data-chart="NAME">`` holding one ``<svg>`` whose
marks (bars, lines, slices, points) carry ``data-mark`` attributes, so a browser test can
tell a drawn chart from an empty frame. With nothing to draw, a chart function returns a
``<p class="empty" data-empty="NAME">`` sentence instead, which says so in words.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime

REFERENCE_COLOR = "#9aa5b1"
CURRENT_COLOR = "#2563eb"
GATE_COLOR = "#b91c1c"
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#14b8a6", "#64748b", "#ec4899")
FONT = "font-family:system-ui,sans-serif;font-size:11px;fill:#3e4c59"


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def empty(name: str, message: str) -> str:
    return f'<p class="empty" data-empty="{escape(name)}">{escape(message)}</p>'


def _figure(name: str, svg: str, caption: str | None) -> str:
    caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart" data-chart="{escape(name)}">{svg}{caption_html}</figure>'


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{escape(label)}">'
    )


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if fraction <= step:
            return step * 10**exponent
    return 10 ** (exponent + 1)


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def paired_bars(
    name: str,
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    legend: tuple[str, str] = ("reference", "current"),
    width: int = 360,
    height: int = 150,
    caption: str | None = None,
    empty_message: str = "–",
    compact: bool = False,
) -> str:
    """Reference (grey) against current (blue) shares per bin or category; ``compact``: bars only."""
    if not labels or not reference:
        return empty(name, empty_message)
    top = _nice_max(max(max(reference, default=0.0), max(current, default=0.0)))
    left, bottom, top_pad = (2, 2, 2) if compact else (34, 30, 16)
    plot_w, plot_h = width - left - 6, height - bottom - top_pad
    slot = plot_w / len(labels)
    parts = [_svg_open(width, height, name)]
    if not compact:
        parts.append(f'<text x="2" y="{top_pad + 4}" style="{FONT}">{top:.0%}</text><text x="2" y="{top_pad + plot_h}" style="{FONT}">0%</text>')
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 2}" y2="{top_pad + plot_h}" stroke="#cbd2d9"/>')
    # as many characters as fit under a bar pair; labels skipped when even three would not fit
    characters = int(slot / 6.5)
    every = max(1, math.ceil(len(labels) / 8), math.ceil(4 / max(characters, 1)))
    for index, label in enumerate(labels):
        ref = float(reference[index]) if index < len(reference) else 0.0
        cur = float(current[index]) if index < len(current) else 0.0
        x = left + index * slot
        for offset, value, color, which in ((0.08, ref, REFERENCE_COLOR, legend[0]), (0.5, cur, CURRENT_COLOR, legend[1])):
            bar_h = max(plot_h * value / top, 0.0)
            parts.append(
                f'<rect data-mark="bar" x="{x + slot * offset:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{slot * 0.42:.1f}" '
                f'height="{bar_h:.1f}" fill="{color}"><title>{escape(label)} · {escape(which)}: {value:.1%}</title></rect>'
            )
        if index % every == 0 and not compact:
            limit = max(characters * every, 3)
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - 14}" text-anchor="middle" style="{FONT}">{escape(_short(str(label), min(limit, 12)))}</text>'
            )
    if not compact:
        parts.append(
            f'<rect x="{left}" y="2" width="9" height="9" fill="{REFERENCE_COLOR}"/><text x="{left + 12}" y="10" style="{FONT}">{escape(legend[0])}</text>'
            f'<rect x="{left + 100}" y="2" width="9" height="9" fill="{CURRENT_COLOR}"/><text x="{left + 112}" y="10" style="{FONT}">{escape(legend[1])}</text>'
        )
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def horizontal_bars(
    name: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_format: str = "{:.1%}",
    width: int = 520,
    bar_height: int = 18,
    colors: Sequence[str] | None = None,
    caption: str | None = None,
    empty_message: str = "–",
) -> str:
    """One bar per label, longest first as given (feature importance, effect sizes)."""
    if not labels:
        return empty(name, empty_message)
    label_w = 190
    height = bar_height * len(labels) + 8
    top = max(max(values, default=0.0), 1e-12)
    plot_w = width - label_w - 60
    parts = [_svg_open(width, height, name)]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + index * bar_height
        bar_w = max(plot_w * float(value) / top, 1.0)
        color = colors[index] if colors else CURRENT_COLOR
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height * 0.68:.1f}" text-anchor="end" style="{FONT}">{escape(_short(str(label), 30))}</text>')
        parts.append(
            f'<rect data-mark="bar" x="{label_w}" y="{y + 2}" width="{bar_w:.1f}" height="{bar_height - 5}" fill="{color}">'
            f"<title>{escape(label)}: {escape(value_format.format(value))}</title></rect>"
        )
        parts.append(f'<text x="{label_w + bar_w + 4:.1f}" y="{y + bar_height * 0.68:.1f}" style="{FONT}">{escape(value_format.format(value))}</text>')
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def columns(
    name: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_format: str = "{:,.0f}",
    width: int = 520,
    height: int = 190,
    color: str = CURRENT_COLOR,
    caption: str | None = None,
    empty_message: str = "–",
) -> str:
    """Vertical bars per period (rows scored per month)."""
    if not labels:
        return empty(name, empty_message)
    left, bottom, top_pad = 48, 34, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = _nice_max(max(values, default=0.0))
    slot = plot_w / len(labels)
    parts = [_svg_open(width, height, name)]
    parts.append(f'<text x="2" y="{top_pad + 8}" style="{FONT}">{escape(value_format.format(top))}</text>')
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 4}" y2="{top_pad + plot_h}" stroke="#cbd2d9"/>')
    every = max(1, math.ceil(len(labels) / 10))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * float(value) / top
        x = left + index * slot + slot * 0.15
        parts.append(
            f'<rect data-mark="bar" x="{x:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" fill="{color}">'
            f"<title>{escape(label)}: {escape(value_format.format(value))}</title></rect>"
        )
        if index % every == 0:
            parts.append(f'<text x="{left + index * slot + slot / 2:.1f}" y="{height - 16}" text-anchor="middle" style="{FONT}">{escape(_short(str(label)))}</text>')
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def lines(
    name: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str, bool]],
    *,
    reference_lines: Sequence[tuple[str, float, str]] = (),
    y_min: float = 0.0,
    y_max: float | None = None,
    value_format: str = "{:.2f}",
    width: int = 520,
    height: int = 220,
    caption: str | None = None,
    empty_message: str = "–",
) -> str:
    """Lines over periods; ``series`` items are (label, values, colour, dashed); None values are gaps.

    ``reference_lines`` are horizontal (label, value, colour) lines: the business gates, the
    retraining line.
    """
    drawn = [(label, values, color, dashed) for label, values, color, dashed in series if any(v is not None for v in values)]
    if not x_labels or not drawn:
        return empty(name, empty_message)
    finite = [float(v) for _, values, _, _ in drawn for v in values if v is not None] + [value for _, value, _ in reference_lines]
    top = y_max if y_max is not None else _nice_max(max(finite))
    bottom_value = min(y_min, min(finite))
    left, bottom, top_pad, right = 44, 34, 22, 90
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    count = len(x_labels)

    def x_of(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        span = (top - bottom_value) or 1.0
        return top_pad + plot_h * (1 - (float(value) - bottom_value) / span)

    parts = [_svg_open(width, height, name)]
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#cbd2d9"/>')
    parts.append(f'<text x="2" y="{top_pad + 4}" style="{FONT}">{escape(value_format.format(top))}</text>')
    parts.append(f'<text x="2" y="{top_pad + plot_h}" style="{FONT}">{escape(value_format.format(bottom_value))}</text>')
    used_label_ys: list[float] = []
    for label, value, color in sorted(reference_lines, key=lambda line: -line[1]):
        y = y_of(value)
        label_y = y + 4
        while any(abs(label_y - other) < 11 for other in used_label_ys):
            label_y += 11  # nearby gates: stack their labels instead of printing one over the other
        used_label_ys.append(label_y)
        parts.append(
            f'<line data-mark="gate" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{color}" stroke-dasharray="5 4" stroke-width="1.2">'
            f"<title>{escape(label)}: {escape(value_format.format(value))}</title></line>"
            f'<text x="{left + plot_w + 4}" y="{label_y:.1f}" style="{FONT};fill:{color}">{escape(_short(label, 16))}</text>'
        )
    every = max(1, math.ceil(count / 8))
    for index, label in enumerate(x_labels):
        if index % every == 0 or index == count - 1:
            parts.append(f'<text x="{x_of(index):.1f}" y="{height - 16}" text-anchor="middle" style="{FONT}">{escape(_short(str(label)))}</text>')
    for series_index, (label, values, color, dashed) in enumerate(drawn):
        segments: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                segments.append([])
                continue
            segments[-1].append((x_of(index), y_of(value)))
            parts.append(
                f'<circle data-mark="point" cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" fill="{color}">'
                f"<title>{escape(label)} · {escape(x_labels[index])}: {escape(value_format.format(value))}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                dash = ' stroke-dasharray="4 3"' if dashed else ""
                parts.append(f'<polyline data-mark="line" points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(
            f'<rect x="{left + 4 + 120 * (series_index % 3)}" y="{4 + 12 * (series_index // 3)}" width="9" height="9" fill="{color}"/>'
            f'<text x="{left + 16 + 120 * (series_index % 3)}" y="{12 + 12 * (series_index // 3)}" style="{FONT}">{escape(_short(label, 17))}</text>'
        )
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def pie(
    name: str,
    counts: Sequence[tuple[str, float]],
    *,
    colors: Sequence[str] = PALETTE,
    size: int = 180,
    caption: str | None = None,
    empty_message: str = "–",
) -> str:
    """Slices with their share written in the legend."""
    total = float(sum(max(value, 0.0) for _, value in counts))
    if not counts or total <= 0:
        return empty(name, empty_message)
    width = size + 200
    radius = size / 2 - 6
    cx = cy = size / 2
    parts = [_svg_open(width, size, name)]
    angle = -math.pi / 2
    for index, (label, value) in enumerate(counts):
        share = max(value, 0.0) / total
        color = colors[index % len(colors)]
        title = f"<title>{escape(label)}: {value:,.0f} ({share:.1%})</title>"
        if share >= 0.999999:
            parts.append(f'<circle data-mark="slice" cx="{cx}" cy="{cy}" r="{radius}" fill="{color}">{title}</circle>')
        elif share > 0:
            end = angle + 2 * math.pi * share
            large = 1 if share > 0.5 else 0
            x1, y1 = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            x2, y2 = cx + radius * math.cos(end), cy + radius * math.sin(end)
            parts.append(
                f'<path data-mark="slice" d="M{cx},{cy} L{x1:.2f},{y1:.2f} A{radius},{radius} 0 {large} 1 {x2:.2f},{y2:.2f} Z" fill="{color}">{title}</path>'
            )
            angle = end
        parts.append(
            f'<rect x="{size + 10}" y="{14 + index * 18}" width="11" height="11" fill="{color}"/>'
            f'<text x="{size + 26}" y="{24 + index * 18}" style="{FONT};font-size:12px">{escape(label)}: {value:,.0f} ({share:.1%})</text>'
        )
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def timeline(
    name: str,
    events: Sequence[tuple[datetime, str, str]],
    *,
    colors: dict[str, str] | None = None,
    width: int = 680,
    caption: str | None = None,
    empty_message: str = "–",
) -> str:
    """Events (when, label, kind) as coloured markers along a time axis, labels staggered."""
    if not events:
        return empty(name, empty_message)
    colors = colors or {}
    ordered = sorted(events, key=lambda event: event[0])
    start, end = ordered[0][0], ordered[-1][0]
    span = (end - start).total_seconds() or 1.0
    left, right = 20, 20
    height = 70 + 16 * min(len(ordered), 6)
    axis_y = 30
    parts = [_svg_open(width, height, name)]
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#9aa5b1" stroke-width="2"/>')
    parts.append(f'<text x="{left}" y="{axis_y - 12}" style="{FONT}">{escape(start.strftime("%Y-%m-%d"))}</text>')
    parts.append(f'<text x="{width - right}" y="{axis_y - 12}" text-anchor="end" style="{FONT}">{escape(end.strftime("%Y-%m-%d"))}</text>')
    for index, (when, label, kind) in enumerate(ordered):
        x = left + (width - left - right) * ((when - start).total_seconds() / span if len(ordered) > 1 else 0.5)
        color = colors.get(kind, "#616e7c")
        row = index % 6
        text_y = axis_y + 24 + 16 * row
        anchor = "start" if x < width * 0.6 else "end"
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{text_y - 10}" stroke="{color}" stroke-width="1"/>')
        parts.append(
            f'<circle data-mark="event" cx="{x:.1f}" cy="{axis_y}" r="6" fill="{color}"><title>{escape(when.strftime("%Y-%m-%d %H:%M"))} · {escape(label)}</title></circle>'
        )
        parts.append(f'<text x="{x:.1f}" y="{text_y}" text-anchor="{anchor}" style="{FONT}">{escape(_short(label, 46))}</text>')
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)
