"""Reports people read: static HTML with inline SVG charts, so they open offline and live in a bucket.

The drift report explains one check to a manager: the decision first, what to do, then each
drifted feature with its reference-against-current bars, how the drift developed (sudden or
gradual) and, for a gradual one, when it will reach the retraining line; the full table of
every test comes last. Spanish by default, English on request.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import formatting as fmt
from shared.i18n.reports import REPORT_TEXT as TEXT
from shared.reporting import charts

if TYPE_CHECKING:
    from shared.monitor.results import DriftCheckResult, FeatureDrift


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;color:#1f2933;max-width:1140px;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #e4e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .45rem;text-align:left;vertical-align:middle}
th{background:#f5f7fa;position:sticky;top:0} .num{text-align:right;font-variant-numeric:tabular-nums}
.high{color:#b91c1c;font-weight:600} .medium{color:#b45309;font-weight:600} .low{color:#047857} .insufficient_data{color:#7b8794}
.card{background:#f5f7fa;border-radius:8px;padding:1rem;margin:1rem 0}
.muted{color:#616e7c;font-size:.85rem}
.banner{border-radius:8px;padding:1rem 1.2rem;margin:1rem 0;font-size:1.05rem;border-left:6px solid}
.banner.ok{background:#ecfdf5;border-color:#059669} .banner.warning{background:#fffbeb;border-color:#d97706}
.banner.retrain{background:#fef2f2;border-color:#dc2626} .banner.insufficient_data,.banner.no_data{background:#f5f7fa;border-color:#9aa5b1}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.75rem;font-weight:600;margin-right:.4rem}
.badge.critical{background:#fee2e2;color:#991b1b} .badge.warning{background:#fef3c7;color:#92400e} .badge.info{background:#e0f2fe;color:#075985}
.badge.sudden{background:#fee2e2;color:#991b1b} .badge.gradual{background:#ede9fe;color:#5b21b6} .badge.sustained,.badge.undetermined{background:#e4e7eb;color:#3e4c59}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1rem}
.feature{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:.8rem}
.feature h3{font-size:1rem;margin:.1rem 0 .4rem}
.kpis{display:flex;flex-wrap:wrap;gap:1rem} .kpi{background:#f5f7fa;border-radius:8px;padding:.7rem 1rem;min-width:150px}
.kpi b{display:block;font-size:1.4rem}
figure.chart{margin:.4rem 0} figcaption{font-size:.8rem;color:#616e7c}
ol.findings li{margin:.5rem 0} .action{color:#3e4c59;font-size:.9rem;margin-top:.15rem}
p.empty{color:#7b8794;font-style:italic}
.scroll{overflow-x:auto} .stat{border-bottom:1px dotted #7b8794;cursor:help} td figure.chart{margin:0}
td figure.chart svg{max-width:none !important;width:170px !important;height:60px !important}
"""


def _fmt(value: Any, language: str, digits: int = 3) -> str:
    """A statistic in the page's CLDR format; "–" when there is none."""
    return fmt.decimal(value, language, digits)


def _p_value(value: Any, text: dict[str, Any], language: str) -> str:
    """A p-value in words (the number, even 9.8e-265, in the tooltip)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if number != number:
        return "–"
    words = text["p_words"]["certain" if number < 0.001 else "likely" if number < 0.05 else "chance"]
    exact = fmt.scientific(number, language) if 0 < number < 0.0001 else fmt.decimal(number, language, 4)
    return f'<span class="stat" title="{_e(text["p_help"].format(value=exact))}">{_e(words)}</span>'


def _method(method: str, text: dict[str, Any]) -> str:
    return f'<span class="stat" title="{_e(text["method_help"].get(method, ""))}">{_e(text["methods"].get(method, method))}</span>'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _edge(value: float, language: str) -> str:
    magnitude = abs(float(value))
    return fmt.decimal(value, language, 2 if magnitude < 1 else 1 if magnitude < 100 else 0)


def feature_bars(
    feature: FeatureDrift, text: dict[str, Any], *, width: int = 360, height: int = 150, name: str | None = None, compact: bool = False, language: str = "es"
) -> str:
    """Reference vs current shares of one test as paired bars."""
    bins = feature.bins or {}
    if "reference_shares" in bins:
        edges = bins.get("edges", [])
        labels = [_edge(edge, language) for edge in edges[:-1]] if edges else []
        reference, current = list(bins["reference_shares"]), list(bins["current_shares"])
        labels = labels if len(labels) == len(reference) else [str(i + 1) for i in range(len(reference))]
    else:
        items = [(k, v) for k, v in bins.items() if isinstance(v, (list, tuple)) and len(v) == 2]
        # hide the grouping buckets when both sides are empty: they would be two blank slots
        items = [(k, v) for k, v in items if float(v[0]) > 0 or float(v[1]) > 0]
        labels = [text["buckets"].get(str(k), str(k)) for k, _ in items]
        reference = [float(v[0]) for _, v in items]
        current = [float(v[1]) for _, v in items]
    chart_name = name or f"feature:{feature.feature}:{feature.kind}"
    return charts.paired_bars(
        chart_name, labels, reference, current, legend=(text["reference"], text["current"]), width=width, height=height,
        empty_message=text["severities"]["insufficient_data"], compact=compact, language=language,
    )  # fmt: skip


def _pattern_badge(pattern: str | None, text: dict[str, Any]) -> str:
    if not pattern:
        return ""
    return f'<span class="badge {_e(pattern)}">{_e(text["patterns"].get(pattern, pattern))}</span>'


def _projection_text(feature: FeatureDrift, text: dict[str, Any], language: str) -> str:
    projection = feature.projection
    if not projection:
        return ""
    if projection.get("already_crossed"):
        return f'<p class="muted">{_e(text["crossed"])}</p>'
    if projection.get("checks_to_line") is None:
        return ""
    crossing = projection.get("crossing_date")
    date = fmt.day(datetime.fromisoformat(crossing), language) if crossing else "–"
    return f'<p class="muted">{_e(text["projection"].format(checks=fmt.decimal(projection["checks_to_line"], language, 1), date=date))}</p>'


def _trend_chart(feature: FeatureDrift, text: dict[str, Any], language: str) -> str:
    if len(feature.trend) < 2:
        return ""
    values: list[float | None] = list(feature.trend)
    labels = [f"#{index + 1}" for index in range(len(values))]
    series = [(text["effect"], values, charts.CURRENT_COLOR, False)]
    projection = feature.projection
    if projection and projection.get("checks_to_line") and not projection.get("already_crossed"):
        steps = min(int(projection["checks_to_line"]) + 1, 12)
        slope = float(projection["slope_per_check"])
        projected: list[float | None] = [None] * (len(values) - 1) + [values[-1]]
        for step in range(1, steps + 1):
            labels.append(f"+{step}")
            projected.append(min(float(values[-1]) + slope * step, 1.0))
        values = values + [None] * steps
        series = [(text["effect"], values, charts.CURRENT_COLOR, False), ("→", projected, "#8b5cf6", True)]
    return charts.lines(
        f"trend:{feature.feature}:{feature.kind}", labels, series,
        reference_lines=[(text["retrain_line"], 0.3, charts.GATE_COLOR), (text["severities"]["medium"], 0.1, "#d97706")],
        y_max=max(0.4, max(v for v in values if v is not None) * 1.1), width=360, height=170, caption=text["trend"], language=language,
    )  # fmt: skip


def _feature_card(feature: FeatureDrift, text: dict[str, Any], language: str) -> str:
    severity = text["severities"].get(feature.severity, feature.severity)
    kind = text["kinds"].get(feature.kind, feature.kind)
    key = f' <span class="badge info">{_e(text["key"])}</span>' if feature.key_feature else ""
    help_text = text["pattern_help"].get(feature.pattern or "", "")
    previous = ""
    if feature.effect_size_previous is not None:
        previous = f"<div class=\"muted\">{_e(text['previous'])}: {_fmt(feature.effect_size_previous, language)}</div>"
    return (
        '<div class="feature">'
        f"<h3>{_e(feature.feature)}{key}</h3>"
        f'<div>{_pattern_badge(feature.pattern, text)}<span class="{_e(feature.severity)}">{_e(severity)}</span> · {_e(kind)} · '
        f"{_method(feature.method, text)} = {_fmt(feature.effect_size, language)} · {_p_value(feature.p_value_adjusted, text, language)} · "
        f'<span class="stat" title="{_e(text["psi_help"])}">PSI {_fmt(feature.psi, language, 2)}</span></div>'
        f"{previous}"
        + (f'<p class="muted">{_e(help_text)}</p>' if help_text else "")
        + feature_bars(feature, text, language=language)
        + _trend_chart(feature, text, language)
        + _projection_text(feature, text, language)
        + "</div>"
    )


def _performance_section(result: DriftCheckResult, text: dict[str, Any], language: str) -> str:
    measured = result.performance
    if not measured:
        return ""
    from shared.i18n.monitoring import metric_name

    gates = measured.get("gates") or {}
    message = measured.get("message_es" if language == "es" else "message_en") or ""
    rows = []
    for period in measured.get("periods") or []:
        cells = []
        for metric in ("roc_auc", "precision", "recall"):
            value = (period.get("metrics") or {}).get(metric)
            css = "high" if metric in (period.get("significantly_below") or []) else ("medium" if metric in (period.get("below_gate") or []) else "")
            shown = _fmt(value, language) if period.get("sufficient") else f'<span class="muted">{_fmt(value, language)}</span>'
            cells.append(f'<td class="num {css}">{shown}</td>')
        rows.append(
            f"<tr><td>{_e(period['period'])}</td><td class=\"num\">{fmt.integer(period['rows_scored'], language)}</td><td class=\"num\">{fmt.integer(period['rows_labeled'], language)}</td>"
            f"<td class=\"num\">{fmt.percent(period['coverage'], language, 0)}</td>{''.join(cells)}</tr>"
        )
    header = "".join(f"<th>{_e(metric_name(m, language))} ({text['gate']} {fmt.decimal(gates.get(m, 0), language, 2)})</th>" for m in ("roc_auc", "precision", "recall"))
    table = (
        f"<table><thead><tr><th>{text['period']}</th><th>{text['rows']}</th><th>{text['labeled']}</th><th>{text['coverage']}</th>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else ""
    )
    return f"<h2>{text['performance_title']}</h2><p>{_e(message)}</p>{table}"


def drift_report_html(result: DriftCheckResult, language: str = "es", *, zone: str | None = None) -> str:
    language = language if language in TEXT else "es"
    text = TEXT[language]
    decision = result.reason_es if language == "es" else result.reason_en
    status = getattr(result, "status", "ok")
    findings = sorted([*getattr(result, "triggers", []), *getattr(result, "warnings", [])], key=lambda f: {"critical": 0, "warning": 1}.get(f.severity, 2))
    finding_items = "".join(
        f'<li><span class="badge {_e(f.severity)}">{_e(text["finding_severity"].get(f.severity, f.severity))}</span>'
        f"{_e(f.text_es if language == 'es' else f.text_en)}"
        f'<div class="action">→ {_e(f.action_es if language == "es" else f.action_en)}</div></li>'
        for f in findings
    )
    what_to_do = f"<h2>{text['what_to_do']}</h2><ol class=\"findings\">{finding_items}</ol>" if finding_items else ""

    drifted = [f for f in result.features if f.drifted]
    drifted.sort(key=lambda f: (f.kind == "score", f.severity != "high", -f.importance, -(f.effect_size or 0.0)))
    cards = "".join(_feature_card(f, text, language) for f in drifted if f.kind != "score")
    drifted_section = f"<h2>{text['drifted_title']}</h2>" + (f'<div class="grid">{cards}</div>' if cards else f"<p>{text['no_drift']}</p>")
    watch = [f for f in result.features if not f.drifted and f.pattern == "gradual"]
    watch_section = (f"<h2>{text['watch_title']}</h2><div class=\"grid\">{''.join(_feature_card(f, text, language) for f in watch)}</div>") if watch else ""
    score = next((f for f in result.features if f.kind == "score"), None)
    score_section = ""
    if score is not None:
        severity = text["severities"].get(score.severity, score.severity)
        score_section = (
            f"<h2>{text['score_title']}</h2><p>{_method('ks', text)} = {_fmt(score.effect_size, language)} · {_p_value(score.p_value_adjusted, text, language)} · "
            f'<span class="{_e(score.severity)}">{_e(severity)}</span> {_pattern_badge(score.pattern, text)}</p>'
            + feature_bars(score, text, width=520, height=170, name="score", language=language)
        )

    shown = [f for f in result.features if f.kind != "missing_rate" or f.drifted or not f.insufficient_data and (f.effect_size or 0) >= 0.05]
    shown.sort(key=lambda f: (not f.drifted, -(f.effect_size or 0.0)))
    rows = []
    for feature in shown:
        severity = text["severities"].get(feature.severity, feature.severity)
        rows.append(
            "<tr>"
            f"<td>{_e(feature.feature)}{' ★' if feature.key_feature else ''}</td><td>{_e(text['kinds'].get(feature.kind, feature.kind))}</td>"
            f"<td>{_method(feature.method, text)}</td><td class=\"num\">{_fmt(feature.effect_size, language)}</td><td>{_p_value(feature.p_value_adjusted, text, language)}</td>"
            f"<td class=\"num\">{_fmt(feature.psi, language, 2)}</td><td class=\"{_e(feature.severity)}\">{_e(severity)}</td>"
            f"<td>{text['yes'] if feature.drifted else text['no']}</td><td>{_pattern_badge(feature.pattern, text)}</td>"
            f"<td class=\"num\">{_fmt(feature.effect_size_previous, language)}</td><td class=\"num\">{fmt.percent(feature.importance, language, 1)}</td>"
            f"<td>{feature_bars(feature, text, width=170, height=60, name=f'mini:{feature.feature}:{feature.kind}', compact=True, language=language)}</td>"
            "</tr>"
        )
    retrain = ""
    if result.retrain:
        outcome = result.retrain.get("reason_es" if language == "es" else "reason_en") or result.retrain.get("reason") or result.retrain
        retrain = f'<div class="card"><b>{text["retrain"]}:</b> {_e(outcome)}</div>'
    skipped = getattr(result, "skipped_batches", None) or []
    if skipped:  # batches whose clean rows are gone: said, not hidden (shared.monitor.windows.current_window)
        items = "".join(f"<li>{_e(entry['clean_uri'].rsplit('/', 1)[-1])}: {_e(entry.get('message_es' if language == 'es' else 'message_en', ''))}</li>" for entry in skipped)
        retrain += f'<div class="card">{_e(text["skipped_batches"])}<ul>{items}</ul></div>'
    window_start = fmt.when(result.window_start, language, zone) if result.window_start else text["since_start"]
    tested = len([f for f in result.features if not f.insufficient_data])
    kpis = (
        '<div class="kpis">'
        f'<div class="kpi"><b>{fmt.integer(result.rows_current, language)}</b>{text["rows"]}</div>'
        f'<div class="kpi"><b>{len(result.drifted_features)}</b>{text["drifted_title"]}</div>'
        f'<div class="kpi"><b>{fmt.percent(getattr(result, "weighted_drift_share", 0.0), language, 0)}</b>{text["weighted"]}</div>'
        f'<div class="kpi"><b>{tested}</b>{text["tested"]}</div>'
        "</div>"
    )
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text['title']} — {_e(result.check_id)}</title>
<style>{STYLE}</style></head><body>
<h1>{text['title']}</h1>
<div class="muted">{text['check']}: {_e(result.check_id)} · {text['model']}: v{_e(result.model_version)} · {text['window']}: {_e(window_start)} → {_e(fmt.when(result.window_end, language, zone, with_zone=True))}</div>
<div class="banner {_e(status)}"><b>{_e(text['statuses'].get(status, status))}.</b> {_e(decision)}</div>
{kpis}{retrain}
{what_to_do}
{drifted_section}
{watch_section}
{score_section}
{_performance_section(result, text, language)}
<h2>{text['all_title']}</h2>
<p class="muted">{text['legend']}</p>
<div class="scroll"><table><thead><tr><th>{text['feature']}</th><th>{text['kind']}</th><th>{text['statistic']}</th><th>{text['effect']}</th>
<th>{text['p_adj']}</th><th>{text['psi']}</th><th>{text['severity']}</th><th>{text['drifted']}</th><th>{text['pattern']}</th>
<th>{text['previous']}</th><th>{text['importance']}</th><th></th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></div>
<p class="muted">{text['method']}</p>
</body></html>
"""
