"""Inline SVG charts for the static reports: no JavaScript, no fonts or files to fetch.

Every chart is a ``<figure class="chart" data-chart="NAME">`` holding one ``<svg>`` whose
marks (bars, lines, slices, points) carry ``data-mark`` attributes, so a browser test can
tell a drawn chart from an empty frame. With nothing to draw, a chart function returns a
``<p class="empty" data-empty="NAME">`` sentence instead, which says so in words.

Layout is measured, not guessed: margins grow to fit the longest legend, gate and axis label
(:func:`text_width` errs on the wide side), legends wrap onto more rows instead of being cut,
and an axis label that must be shortened keeps its full text in a tooltip. Numbers and dates
go through :mod:`shared.formatting` in the page's language. Why not a charting library:
vl-convert (Vega-Lite to SVG) ships a ~30 MB engine and matplotlib ~40 MB with its
dependencies, and every runtime dependency is packaged into each Cloud Function zip.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import datetime

from shared import formatting as fmt

REFERENCE_COLOR = "#9aa5b1"
CURRENT_COLOR = "#2563eb"
GATE_COLOR = "#b91c1c"
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#14b8a6", "#64748b", "#ec4899")
FONT_SIZE = 11
FONT = f"font-family:system-ui,sans-serif;font-size:{FONT_SIZE}px;fill:#3e4c59"

Formatter = Callable[[float], str]

# Advance widths of a sans-serif face in ems, on the wide side so that a measured label always fits.
_NARROW = set("iIl.,:;'|!()[]{} ")
_WIDE = set("mwMW@%")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """An upper estimate of the rendered width of ``text`` in pixels."""
    ems = 0.0
    for character in str(text):
        if character in _NARROW:
            ems += 0.34
        elif character in _WIDE:
            ems += 0.92
        elif character.isupper() or character.isdigit():
            ems += 0.66
        else:
            ems += 0.58
    return ems * size + 2


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def empty(name: str, message: str) -> str:
    return f'<p class="empty" data-empty="{escape(name)}">{escape(message)}</p>'


def percent_formatter(language: str, digits: int = 0) -> Formatter:
    return lambda value: fmt.percent(value, language, digits)


def decimal_formatter(language: str, digits: int = 2) -> Formatter:
    return lambda value: fmt.decimal(value, language, digits)


def integer_formatter(language: str) -> Formatter:
    return lambda value: fmt.integer(value, language)


def _figure(name: str, svg: str, caption: str | None) -> str:
    caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart" data-chart="{escape(name)}">{svg}{caption_html}</figure>'


def _svg_open(width: float, height: float, label: str, *, fill: bool = False) -> str:
    # fill: stretch to the card's width (line charts); otherwise never wider than drawn
    style = "width:100%;height:auto" if fill else "max-width:100%;height:auto"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'style="{style}" role="img" aria-label="{escape(label)}">'
    )


def _text(x: float, y: float, content: str, *, anchor: str = "start", role: str = "label", color: str | None = None, full: str | None = None, size: int = FONT_SIZE) -> str:
    """One SVG text; ``full`` (when the shown text was shortened) becomes its tooltip."""
    style = FONT + (f";fill:{color}" if color else "") + (f";font-size:{size}px" if size != FONT_SIZE else "")
    title = f"<title>{escape(full)}</title>" if full and full != content else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" data-role="{role}" style="{style}">{title}{escape(content)}</text>'


def _fit(label: str, room: float, size: float = FONT_SIZE) -> str:
    """``label`` cut with an ellipsis to fit ``room`` pixels (callers keep the full text as a tooltip)."""
    label = str(label)
    if text_width(label, size) <= room:
        return label
    while label and text_width(label + "…", size) > room:
        label = label[:-1]
    return (label + "…") if label else ""


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if fraction <= step:
            return step * 10**exponent
    return 10 ** (exponent + 1)


def _legend(items: Sequence[tuple[str, str]], left: float, top: float, room: float) -> tuple[str, float]:
    """Swatch + label items flowed left to right, wrapping to new rows; returns the SVG and the height used."""
    parts, x, y = [], left, top
    for label, color in items:
        width = 14 + text_width(label) + 14
        if x > left and x + width > left + room:
            x, y = left, y + 15
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="9" height="9" fill="{color}"/>' + _text(x + 12, y + 8.5, label, role="legend"))
        x += width
    return "".join(parts), (y - top) + 15


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
    language: str = "es",
) -> str:
    """Reference (grey) against current (blue) shares per bin or category; ``compact``: bars only."""
    if not labels or not reference:
        return empty(name, empty_message)
    share = percent_formatter(language, 1)
    top = _nice_max(max(max(reference, default=0.0), max(current, default=0.0)))
    parts: list[str] = []
    if compact:
        left, top_pad, bottom = 2.0, 2.0, 2.0
    else:
        axis_labels = (fmt.percent(top, language, 0), fmt.percent(0, language, 0))
        left = max(text_width(label) for label in axis_labels) + 6
        legend_svg, legend_height = _legend([(legend[0], REFERENCE_COLOR), (legend[1], CURRENT_COLOR)], left, 2, width - left - 4)
        parts.append(legend_svg)
        top_pad, bottom = legend_height + 8, 30.0
        parts.append(_text(left - 4, top_pad + 4, axis_labels[0], anchor="end", role="axis") + _text(left - 4, height - bottom, axis_labels[1], anchor="end", role="axis"))
    plot_w, plot_h = width - left - 6, height - bottom - top_pad
    slot = plot_w / len(labels)
    parts.append(f'<line x1="{left:.1f}" y1="{top_pad + plot_h:.1f}" x2="{width - 2}" y2="{top_pad + plot_h:.1f}" stroke="#cbd2d9"/>')
    # one axis label every `every` slots, each cut to the room it has (full text in the tooltip)
    every = max(1, math.ceil(len(labels) / 8), math.ceil(text_width("0000") / max(slot, 1)))
    for index, label in enumerate(labels):
        ref = float(reference[index]) if index < len(reference) else 0.0
        cur = float(current[index]) if index < len(current) else 0.0
        x = left + index * slot
        for offset, value, color, which in ((0.08, ref, REFERENCE_COLOR, legend[0]), (0.5, cur, CURRENT_COLOR, legend[1])):
            bar_h = max(plot_h * value / top, 0.0)
            parts.append(
                f'<rect data-mark="bar" x="{x + slot * offset:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{slot * 0.42:.1f}" '
                f'height="{bar_h:.1f}" fill="{color}"><title>{escape(label)} · {escape(which)}: {escape(share(value))}</title></rect>'
            )
        if index % every == 0 and not compact:
            room = min(slot * every - 4, 2 * (x + slot / 2), 2 * (width - x - slot / 2))
            shown = _fit(str(label), room)
            parts.append(_text(x + slot / 2, height - 14, shown, anchor="middle", role="axis", full=str(label)))
    parts.append("</svg>")
    return _figure(name, _svg_open(width, height, name) + "".join(parts), caption)


def horizontal_bars(
    name: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_format: Formatter | None = None,
    width: int = 620,
    bar_height: int = 18,
    colors: Sequence[str] | None = None,
    caption: str | None = None,
    empty_message: str = "–",
    language: str = "es",
) -> str:
    """One bar per label, longest first as given (feature importance, effect sizes)."""
    if not labels:
        return empty(name, empty_message)
    value_format = value_format or percent_formatter(language, 1)
    shown_values = [value_format(float(value)) for value in values]
    value_w = max(text_width(text) for text in shown_values) + 8
    label_w = min(max(text_width(str(label)) for label in labels) + 10, width * 0.45)
    height = bar_height * len(labels) + 8
    top = max(max(values, default=0.0), 1e-12)
    plot_w = width - label_w - value_w - 4
    parts = [_svg_open(width, height, name)]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + index * bar_height
        bar_w = max(plot_w * float(value) / top, 1.0)
        color = colors[index] if colors else CURRENT_COLOR
        parts.append(_text(label_w - 6, y + bar_height * 0.68, _fit(str(label), label_w - 8), anchor="end", role="axis", full=str(label)))
        parts.append(
            f'<rect data-mark="bar" x="{label_w:.1f}" y="{y + 2}" width="{bar_w:.1f}" height="{bar_height - 5}" fill="{color}">'
            f"<title>{escape(label)}: {escape(shown_values[index])}</title></rect>"
        )
        parts.append(_text(label_w + bar_w + 4, y + bar_height * 0.68, shown_values[index], role="value"))
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def columns(
    name: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_format: Formatter | None = None,
    width: int = 520,
    height: int = 190,
    color: str = CURRENT_COLOR,
    caption: str | None = None,
    empty_message: str = "–",
    language: str = "es",
) -> str:
    """Vertical bars per period (rows scored per month)."""
    if not labels:
        return empty(name, empty_message)
    value_format = value_format or integer_formatter(language)
    top = _nice_max(max(values, default=0.0))
    left = max(text_width(value_format(top)), text_width(value_format(0))) + 8
    bottom, top_pad = 34, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    slot = plot_w / len(labels)
    parts = [_svg_open(width, height, name, fill=True)]
    parts.append(_text(left - 4, top_pad + 8, value_format(top), anchor="end", role="axis") + _text(left - 4, top_pad + plot_h, value_format(0), anchor="end", role="axis"))
    parts.append(f'<line x1="{left:.1f}" y1="{top_pad + plot_h}" x2="{width - 4}" y2="{top_pad + plot_h}" stroke="#cbd2d9"/>')
    every = max(1, math.ceil(len(labels) / 10))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = plot_h * float(value) / top
        x = left + index * slot + slot * 0.15
        parts.append(
            f'<rect data-mark="bar" x="{x:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" fill="{color}">'
            f"<title>{escape(label)}: {escape(value_format(float(value)))}</title></rect>"
        )
        if index % every == 0:
            centre = left + index * slot + slot / 2
            room = min(slot * every - 4, 2 * centre, 2 * (width - centre))
            parts.append(_text(centre, height - 16, _fit(str(label), room), anchor="middle", role="axis", full=str(label)))
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
    value_format: Formatter | None = None,
    width: int = 620,
    height: int = 220,
    caption: str | None = None,
    empty_message: str = "–",
    language: str = "es",
) -> str:
    """Lines over periods; ``series`` items are (label, values, colour, dashed); None values are gaps.

    ``reference_lines`` are horizontal (label, value, colour) lines: the business gates, the
    retraining line; their labels sit right of the plot, which is as wide as the longest one.
    The chart stretches to its card's width.
    """
    drawn = [(label, values, color, dashed) for label, values, color, dashed in series if any(v is not None for v in values)]
    if not x_labels or not drawn:
        return empty(name, empty_message)
    value_format = value_format or decimal_formatter(language, 2)
    finite = [float(v) for _, values, _, _ in drawn for v in values if v is not None] + [value for _, value, _ in reference_lines]
    top = y_max if y_max is not None else _nice_max(max(finite))
    bottom_value = min(y_min, min(finite))
    left = max(text_width(value_format(top)), text_width(value_format(bottom_value))) + 8
    right = max([text_width(label) + 8 for label, _, _ in reference_lines] or [12.0])
    legend_svg, legend_height = _legend([(label, color) for label, _, color, _ in drawn], left, 4, width - left - 4)
    bottom, top_pad = 34, legend_height + 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    count = len(x_labels)

    def x_of(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        span = (top - bottom_value) or 1.0
        return top_pad + plot_h * (1 - (float(value) - bottom_value) / span)

    parts = [_svg_open(width, height, name, fill=True), legend_svg]
    parts.append(f'<line x1="{left:.1f}" y1="{top_pad + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top_pad + plot_h:.1f}" stroke="#cbd2d9"/>')
    parts.append(_text(left - 4, top_pad + 4, value_format(top), anchor="end", role="axis"))
    parts.append(_text(left - 4, top_pad + plot_h, value_format(bottom_value), anchor="end", role="axis"))
    used_label_ys: list[float] = []
    for label, value, color in sorted(reference_lines, key=lambda line: -line[1]):
        y = y_of(value)
        label_y = y + 4
        while any(abs(label_y - other) < 12 for other in used_label_ys):
            label_y += 12  # nearby gates: stack their labels instead of printing one over the other
        used_label_ys.append(label_y)
        parts.append(
            f'<line data-mark="gate" x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" stroke="{color}" stroke-dasharray="5 4" stroke-width="1.2">'
            f"<title>{escape(label)}: {escape(value_format(value))}</title></line>"
            + _text(left + plot_w + 4, min(label_y, height - 4), label, role="gate", color=color)
        )
    every = max(1, math.ceil(count / max(1, int(plot_w // max(text_width(max(map(str, x_labels), key=len)) + 8, 1)))), math.ceil(count / 8))
    for index, label in enumerate(x_labels):
        if index % every == 0 or index == count - 1:
            centre = x_of(index)
            room = min(plot_w / count * every + 20, 2 * centre, 2 * (width - centre))
            parts.append(_text(centre, height - 16, _fit(str(label), room), anchor="middle", role="axis", full=str(label)))
    for label, values, color, dashed in drawn:
        segments: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                segments.append([])
                continue
            segments[-1].append((x_of(index), y_of(value)))
            parts.append(
                f'<circle data-mark="point" cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" fill="{color}">'
                f"<title>{escape(label)} · {escape(x_labels[index])}: {escape(value_format(float(value)))}</title></circle>"
            )
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                dash = ' stroke-dasharray="4 3"' if dashed else ""
                parts.append(f'<polyline data-mark="line" points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
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
    language: str = "es",
) -> str:
    """Slices with their count and share written in the legend."""
    total = float(sum(max(value, 0.0) for _, value in counts))
    if not counts or total <= 0:
        return empty(name, empty_message)
    legends = [f"{label}: {fmt.integer(value, language)} ({fmt.percent(max(value, 0.0) / total, language, 1)})" for label, value in counts]
    width = size + 36 + max(text_width(text, 12) for text in legends)
    height = max(size, 24 + 18 * len(counts))
    radius = size / 2 - 6
    cx = cy = size / 2
    parts = [_svg_open(width, height, name)]
    angle = -math.pi / 2
    for index, (_label, value) in enumerate(counts):
        share = max(value, 0.0) / total
        color = colors[index % len(colors)]
        title = f"<title>{escape(legends[index])}</title>"
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
        parts.append(f'<rect x="{size + 10}" y="{14 + index * 18}" width="11" height="11" fill="{color}"/>' + _text(size + 26, 24 + index * 18, legends[index], role="legend", size=12))
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)


def timeline(
    name: str,
    events: Sequence[tuple[datetime, str, str]],
    *,
    colors: dict[str, str] | None = None,
    width: int = 760,
    caption: str | None = None,
    empty_message: str = "–",
    language: str = "es",
    zone: str | None = None,
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
    parts = [_svg_open(width, height, name, fill=True)]
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#9aa5b1" stroke-width="2"/>')
    parts.append(_text(left, axis_y - 12, fmt.day(start, language, zone), role="axis"))
    parts.append(_text(width - right, axis_y - 12, fmt.day(end, language, zone), anchor="end", role="axis"))
    for index, (when, label, kind) in enumerate(ordered):
        x = left + (width - left - right) * ((when - start).total_seconds() / span if len(ordered) > 1 else 0.5)
        color = colors.get(kind, "#616e7c")
        text_y = axis_y + 24 + 16 * (index % 6)
        # the label goes where there is more room, and is cut only if even that is not enough
        room_right, room_left = width - x - 4, x - 4
        anchor = "start" if room_right >= room_left else "end"
        shown = _fit(label, max(room_right, room_left))
        parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{text_y - 10}" stroke="{color}" stroke-width="1"/>')
        parts.append(
            f'<circle data-mark="event" cx="{x:.1f}" cy="{axis_y}" r="6" fill="{color}"><title>{escape(fmt.when(when, language, zone))} · {escape(label)}</title></circle>'
        )
        parts.append(_text(x, text_y, shown, anchor=anchor, role="label", full=label))
    parts.append("</svg>")
    return _figure(name, "".join(parts), caption)
