"""Reports people read: static HTML with inline SVG charts, so they open offline and live in a bucket."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.monitoring import DriftCheckResult, FeatureDrift

TEXT = {
    "es": {
        "title": "Informe de deriva de datos",
        "model": "Modelo (versión)",
        "window": "Ventana",
        "rows": "Filas analizadas",
        "decision": "Decisión",
        "feature": "Variable",
        "kind": "Tipo",
        "statistic": "Estadístico",
        "effect": "Tamaño del efecto",
        "p_adj": "p ajustado (BH)",
        "severity": "Severidad",
        "drifted": "¿Deriva?",
        "yes": "sí",
        "no": "no",
        "reference": "referencia",
        "current": "actual",
        "since_start": "desde el inicio",
        "severities": {"low": "baja", "medium": "media", "high": "alta", "insufficient_data": "datos insuficientes"},
        "retrain": "Reentrenamiento",
        "legend": "Barras: proporción de filas por intervalo o categoría (gris = referencia de entrenamiento, color = ventana actual).",
    },
    "en": {
        "title": "Data drift report",
        "model": "Model (version)",
        "window": "Window",
        "rows": "Rows analysed",
        "decision": "Decision",
        "feature": "Feature",
        "kind": "Kind",
        "statistic": "Statistic",
        "effect": "Effect size",
        "p_adj": "Adjusted p (BH)",
        "severity": "Severity",
        "drifted": "Drifted?",
        "yes": "yes",
        "no": "no",
        "reference": "reference",
        "current": "current",
        "since_start": "since the start",
        "severities": {"low": "low", "medium": "medium", "high": "high", "insufficient_data": "insufficient data"},
        "retrain": "Retraining",
        "legend": "Bars: share of rows per bin or category (grey = training reference, colour = current window).",
    },
}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933;max-width:1100px}
h1{font-size:1.5rem} table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.35rem .5rem;text-align:left;vertical-align:middle}
th{background:#f5f7fa} .high{color:#b91c1c;font-weight:600} .medium{color:#b45309} .low{color:#047857}
.card{background:#f5f7fa;border-radius:8px;padding:1rem;margin:1rem 0} .muted{color:#616e7c;font-size:.85rem}
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return html.escape(str(value))


def bars_svg(feature: FeatureDrift, width: int = 220, height: int = 48) -> str:
    """Reference vs current shares as paired bars (grey vs blue)."""
    bins = feature.bins or {}
    if "reference_shares" in bins:
        reference, current = bins["reference_shares"], bins["current_shares"]
        labels = [f"{_fmt(e, 2)}" for e in bins.get("edges", [])]
    elif bins:
        items = [(k, v) for k, v in bins.items() if isinstance(v, (list, tuple)) and len(v) == 2]
        labels = [str(k) for k, _ in items]
        reference = [float(v[0]) for _, v in items]
        current = [float(v[1]) for _, v in items]
    else:
        return ""
    count = max(len(reference), 1)
    top = max(max(reference, default=0.0), max(current, default=0.0), 1e-9)
    slot = width / count
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(feature.feature)}">']
    for index, (ref, cur) in enumerate(zip(reference, current, strict=False)):
        x = index * slot
        ref_h, cur_h = height * ref / top, height * cur / top
        title = html.escape(labels[index] if index < len(labels) else str(index))
        parts.append(f'<rect x="{x:.1f}" y="{height - ref_h:.1f}" width="{slot * 0.45:.1f}" height="{ref_h:.1f}" fill="#9aa5b1"><title>{title}: {ref:.3f}</title></rect>')
        parts.append(f'<rect x="{x + slot * 0.45:.1f}" y="{height - cur_h:.1f}" width="{slot * 0.45:.1f}" height="{cur_h:.1f}" fill="#2563eb"><title>{title}: {cur:.3f}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def drift_report_html(result: DriftCheckResult, language: str = "es") -> str:
    text = TEXT.get(language, TEXT["es"])
    decision = result.reason_es if language == "es" else result.reason_en
    shown = [f for f in result.features if f.kind != "missing_rate" or f.drifted]
    shown.sort(key=lambda f: (not f.drifted, -(f.effect_size or 0.0)))
    rows = []
    for feature in shown:
        severity = text["severities"].get(feature.severity, feature.severity)
        rows.append(
            "<tr>"
            f"<td>{html.escape(feature.feature)}</td><td>{html.escape(feature.kind)}</td><td>{html.escape(feature.method)}</td>"
            f"<td>{_fmt(feature.effect_size)}</td><td>{_fmt(feature.p_value_adjusted, 4)}</td>"
            f'<td class="{feature.severity}">{html.escape(severity)}</td>'
            f"<td>{text['yes'] if feature.drifted else text['no']}</td><td>{bars_svg(feature)}</td>"
            "</tr>"
        )
    retrain = ""
    if result.retrain:
        outcome = result.retrain.get("reason_es" if language == "es" else "reason_en") or result.retrain.get("reason") or result.retrain
        retrain = f'<div class="card"><b>{text["retrain"]}:</b> {html.escape(str(outcome))}</div>'
    window_start = result.window_start.isoformat() if result.window_start else text["since_start"]
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><title>{text['title']} — {html.escape(result.check_id)}</title>
<style>{STYLE}</style></head><body>
<h1>{text['title']}</h1>
<div class="card">
<div><b>{text['model']}:</b> {html.escape(result.model_version)}</div>
<div><b>{text['window']}:</b> {html.escape(window_start)} → {html.escape(result.window_end.isoformat())}</div>
<div><b>{text['rows']}:</b> {result.rows_current}</div>
<div><b>{text['decision']}:</b> {html.escape(decision)}</div>
</div>{retrain}
<p class="muted">{text['legend']}</p>
<table><thead><tr><th>{text['feature']}</th><th>{text['kind']}</th><th>{text['statistic']}</th><th>{text['effect']}</th>
<th>{text['p_adj']}</th><th>{text['severity']}</th><th>{text['drifted']}</th><th></th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
