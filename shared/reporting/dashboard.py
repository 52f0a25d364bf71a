"""The management dashboard: one static HTML page, inline SVG charts, Spanish by default.

It answers what a manager asks, in business terms: how much was scored and what came out
(files, rows, positive rate, expected positives), how that moves month by month, whether the
model still measures up against its business gates, whether the data drifted and what to do
about it (with the expected cost and benefit of retraining, and for a slow drift when it will
cross the retraining line), what happened to the model (promotions, rollbacks), and a look at
the latest predictions with their main reason.

:func:`shared.reporting.dashboard_data.gather` reads the warehouse, the registry and the
labels once; :func:`dashboard_html` renders that data in one language and is pure (its words are
:data:`shared.i18n.reports.DASHBOARD_TEXT`); :func:`build_dashboard` writes both languages
to the reports area (``dashboard/index.html`` in the configured language, plus
``index.es.html`` and ``index.en.html``). The drift check calls it after every check and
``dropscore report`` on demand.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shared import formatting as fmt
from shared import progress
from shared.backends import services
from shared.i18n.monitoring import metric_name
from shared.i18n.reports import DASHBOARD_TEXT as TEXT
from shared.monitor import performance
from shared.reporting import charts
from shared.reporting.dashboard_data import (
    COMPUTE_USD_PER_SECOND,
    TRAINING_ROWS_PER_SECOND,
    DashboardData,
    as_datetime,
    gather,
)
from shared.settings import Settings

EVENT_COLORS = {"trained": "#64748b", "promoted": "#059669", "kept": "#d97706", "rolled_back": "#dc2626", "shadow_compared": "#8b5cf6"}


@dataclass
class DashboardResult:
    uri: str
    uris: dict[str, str]
    path: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.uri, "path": self.path, "languages": self.uris}


# --------------------------------------------------------------------------- rendering


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:1.2rem 2rem} header h1{margin:0;font-size:1.5rem} header .muted{color:#cbd2d9}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem 3rem}
section{background:#fff;border-radius:10px;padding:1rem 1.3rem;margin:1rem 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:1.1rem;margin:.2rem 0 .8rem}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.8rem}
.kpi{background:#f5f7fa;border-radius:8px;padding:.7rem .9rem} .kpi b{display:block;font-size:1.45rem;margin-bottom:.15rem}
.kpi span{color:#52606d;font-size:.85rem}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .45rem;text-align:left} th{background:#f5f7fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{border-radius:8px;padding:.8rem 1rem;border-left:6px solid;margin-bottom:.8rem}
.banner.ok{background:#ecfdf5;border-color:#059669} .banner.warning{background:#fffbeb;border-color:#d97706}
.banner.retrain{background:#fef2f2;border-color:#dc2626} .banner.insufficient_data,.banner.no_data{background:#f5f7fa;border-color:#9aa5b1}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.75rem;font-weight:600;margin-right:.3rem}
.badge.critical{background:#fee2e2;color:#991b1b} .badge.warning{background:#fef3c7;color:#92400e} .badge.info{background:#e0f2fe;color:#075985} .badge.ok{background:#d1fae5;color:#065f46}
.rec{border:1px solid #e4e7eb;border-radius:8px;padding:.7rem .9rem;margin:.6rem 0}
.rec dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0 0} .rec dt{color:#52606d}
.muted{color:#616e7c;font-size:.85rem} p.empty{color:#7b8794;font-style:italic}
figure.chart{margin:.3rem 0} figcaption{font-size:.8rem;color:#616e7c}
a{color:#1d4ed8}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _usd(amount: float, language: str) -> str:
    return "< " + fmt.money(0.01, language) if amount < 0.01 else "≈ " + fmt.money(amount, language)


def dashboard_html(data: DashboardData, language: str = "es") -> str:
    """The page, in ``language`` (es or en); pure. Every figure through shared.formatting (CLDR)."""
    language = language if language in TEXT else "es"
    text = TEXT[language]
    positive = data.kpis.get("positive") or (data.champion or {}).get("positive") or "1"
    generated = fmt.when(data.generated_at, language, data.timezone, with_zone=True)
    sections = [_kpi_section(data, text, positive, language), _trend_section(data, text, language), _performance_section(data, text, language)]
    sections += [_drift_section(data, text, language), _recommendation_section(data, text, language, positive)]
    sections += [_model_section(data, text, language), _predictions_section(data, text, language), _alerts_section(data, text, language)]
    no_model = f'<section><div class="banner warning">{_e(text["no_model"])}</div></section>' if data.champion is None else ""
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(text['title'])} — {_e(data.model_name)}</title><style>{STYLE}</style></head><body>
<header><h1>{_e(text['title'])} · {_e(data.model_name)}</h1><div class="muted">{_e(text['subtitle'].format(generated=generated))}</div></header>
<main>{no_model}{''.join(sections)}<p class="muted">{_e(text['footer'])}</p></main>
</body></html>
"""


def _kpi_section(data: DashboardData, text: dict[str, Any], positive: str, language: str) -> str:
    kpis = data.kpis
    champion = data.champion
    model = f"v{champion['version']}" if champion else "–"
    cards = [
        (fmt.integer(kpis.get("files", 0), language), text["kpi_files"]),
        (fmt.integer(kpis.get("rows", 0), language), text["kpi_rows"]),
        (fmt.percent(kpis.get("positive_rate"), language, 1), text["kpi_positive_rate"].format(positive=positive)),
        (fmt.integer(kpis.get("expected_positives", 0.0), language), text["kpi_expected"].format(positive=positive)),
        *([(fmt.integer(kpis["expected_value"], language), text["kpi_value"])] if kpis.get("expected_value") is not None else []),
        (fmt.integer(kpis.get("labeled", 0), language), text["kpi_labeled"]),
        (fmt.integer(kpis.get("quarantined", 0), language), text["kpi_quarantined"]),
        # Values the model never saw, scored as missing: never silent (issue 13).
        *([(fmt.integer(kpis["unknown_categories"], language), text["kpi_unknown_categories"])] if kpis.get("unknown_categories") else []),
        (model, text["kpi_model"]),
    ]
    body = "".join(f'<div class="kpi" data-kpi="{index}"><b>{_e(value)}</b><span>{_e(label)}</span></div>' for index, (value, label) in enumerate(cards))
    truncated = f'<p class="muted">{_e(text["truncated"].format(rows=fmt.integer(data.truncated_rows, language)))}</p>' if data.truncated_rows else ""
    return f'<section id="kpis"><div class="kpis">{body}</div>{truncated}</section>'


def _trend_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    granularity = text["granularity_month"] if data.granularity == "month" else text["granularity_file"]
    labels = [period["period"] for period in data.periods]
    rows_chart = charts.columns("rows_by_period", labels, [period["rows"] for period in data.periods], caption=text["rows_chart"], empty_message="–", language=language)
    rate_chart = charts.lines(
        "positive_rate",
        labels,
        [
            (text["predicted_rate"], [period["positive_rate"] for period in data.periods], charts.CURRENT_COLOR, False),
            (text["actual_rate"], [period["actual_rate"] for period in data.periods], "#10b981", False),
        ],
        value_format=charts.percent_formatter(language, 0),
        caption=text["rate_chart"],
        language=language,
    )
    return f'<section id="trends"><h2>{_e(text["trends"].format(granularity=granularity))}</h2><div class="two">{rows_chart}{rate_chart}</div></section>'


def _performance_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    periods = [period for period in data.performance_periods if period.get("rows_labeled")]
    sufficient = [period for period in periods if period.get("sufficient")]
    if not sufficient:
        body = charts.empty("performance", text["no_labels"].format(minimum=fmt.integer(performance.MIN_LABELED_ROWS, language)))
    else:
        labels = [period["period"] for period in periods]
        plotted = [m for m in performance.TASK_METRICS.get(data.task, performance.METRICS) if m not in performance.LOWER_IS_BETTER]
        colors = dict(zip(plotted, ("#2563eb", "#f59e0b", "#10b981"), strict=False))
        series = [
            (metric_name(metric, language), [p["metrics"].get(metric) if p.get("sufficient") else None for p in periods], colors[metric], False)
            for metric in plotted
        ]
        gates = [
            (f"{metric_name(metric, language)} ≥ {fmt.decimal(floor, language, 2)}", floor, colors[metric]) for metric, floor in data.gates.items() if metric in colors
        ]
        observed = [value for _, values, _, _ in series for value in values if value is not None] + [value for _, value, _ in gates]
        bottom = max(0.0, math.floor((min(observed) - 0.05) * 10) / 10) if observed else 0.0
        body = charts.lines(
            "performance", labels, series, reference_lines=gates, y_min=bottom, y_max=1.0, caption=text["performance_caption"], width=1100, height=280, language=language
        )
    return f'<section id="performance"><h2>{_e(text["performance"])}</h2>{body}</section>'


def _drift_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    last = data.last_check
    if last is None:
        return f'<section id="drift"><h2>{_e(text["drift"])}</h2>{charts.empty("drift_trend", text["no_checks"])}</section>'
    status = last.get("status") or "ok"
    reason = last.get("reason_es" if language == "es" else "reason_en") or ""
    patterns = last.get("patterns") or {}
    drifted = ", ".join(
        f"{name} ({text['patterns'].get(patterns.get(name, ''), '') or '–'})" if patterns.get(name) else name for name in last.get("drifted") or []
    )
    when = fmt.when(last.get("checked_at"), language, data.timezone)
    banner = (
        f'<div class="banner {_e(status)}"><b>{_e(text["statuses"].get(status, status))}</b> · {_e(text["last_check"])} {_e(when)}: {_e(reason)}'
        + (f"<div class=\"muted\">{_e(drifted)}</div>" if drifted else "")
        + f'<div><a href="../drift/latest.html">{_e(text["report_link"])}</a></div></div>'
    )
    same_day = len(data.checks) > 1 and _same_day(data.checks)
    labels = [fmt.short_time(c["checked_at"], language, data.timezone) if same_day else fmt.short_day(c["checked_at"], language, data.timezone) for c in data.checks]
    trend = charts.lines(
        "drift_trend",
        labels,
        [
            (text["key_effect"], [check["key_effect"] for check in data.checks], charts.CURRENT_COLOR, False),
            (text["weighted_share"], [check["weighted_share"] for check in data.checks], "#f59e0b", False),
            (text["score_effect"], [check["score_effect"] for check in data.checks], "#8b5cf6", False),
        ],
        reference_lines=[(text["retrain_line"], 0.3, charts.GATE_COLOR)],
        y_min=0.0,
        y_max=1.0,
        caption=text["drift_caption"].format(line=fmt.decimal(0.3, language, 1)),
        width=1100,
        height=240,
        language=language,
    )
    projections = "".join(f"<li>{_e(_projection_sentence(p, text, language))}</li>" for p in data.projections)
    projections_html = f"<ul>{projections}</ul>" if projections else ""
    return f'<section id="drift"><h2>{_e(text["drift"])}</h2>{banner}{trend}{projections_html}</section>'


def _projection_sentence(projection: dict[str, Any], text: dict[str, Any], language: str = "es") -> str:
    if projection.get("already_crossed"):
        return text["crossed"].format(feature=projection["feature"])
    crossing = projection.get("crossing_date")
    date_text = fmt.day(datetime.fromisoformat(crossing), language) if crossing else "–"
    return text["projection"].format(feature=projection["feature"], date=date_text, checks=fmt.decimal(projection.get("checks_to_line") or 0.0, language, 1))


def _recommendation_section(data: DashboardData, text: dict[str, Any], language: str, positive: str) -> str:
    if not data.recommendations:
        return ""
    items = []
    titles = {
        "retrain": text["rec_retrain"], "plan": text["rec_plan"], "watch": text["rec_watch"], "none": text["rec_none"],
        "retrained": text["rec_retrained"], "retrain_pending": text["rec_pending"],
    }  # fmt: skip
    for item in data.recommendations:
        kind = item["kind"]
        details = []
        if kind == "retrain":
            details.append(_e(text["rec_retrain_why"].format(reason=item.get(f"why_{language}") or "")))
            outcome = item.get(f"outcome_{language}")
            if outcome:
                details.append(_e(text["rec_outcome"].format(outcome=outcome)))
        elif kind == "retrained":
            verdict = text["verdict_promoted"] if item["promoted"] else text["verdict_kept"]
            details.append(_e(text["rec_retrained_why"].format(when=fmt.when(item.get("at"), language, data.timezone), version=item["version"], verdict=verdict)))
            if item.get(f"outcome_{language}"):
                details.append(_e(text["rec_outcome"].format(outcome=item[f"outcome_{language}"])))
        elif kind == "retrain_pending":
            details.append(_e(text["rec_pending_why"].format(reason=item.get(f"why_{language}") or "")))
        elif kind == "plan":
            details.extend(_e(_projection_sentence(p, text, language)) for p in item["projections"])
        elif kind == "watch":
            details.append(_e(item.get(f"why_{language}") or ""))
        else:
            details.append(_e(text["rec_none_why"]))
        extra = ""
        if "cost" in item:
            cost = item["cost"]
            cost_text = text["cost_text"].format(
                usd_text=_usd(cost["usd"], language), seconds=fmt.integer(cost["seconds"], language), rows=fmt.integer(cost["rows"], language), hours=fmt.integer(cost["hours"], language)
            )
            extra = f'<dl><dt>{_e(text["cost"])}</dt><dd>{_e(cost_text)}</dd><dt>{_e(text["benefit"])}</dt><dd>{_e(_benefit_text(item, text, language, positive))}</dd></dl>'
        items.append(
            f'<div class="rec" data-recommendation="{_e(kind)}"><span class="badge {_e(item["severity"])}">{_e(titles[kind])}</span>'
            + "".join(f"<div>{detail}</div>" for detail in details)
            + extra
            + "</div>"
        )
    has_cost = any("cost" in item for item in data.recommendations)
    assumptions = text["assumptions"].format(price=fmt.money(COMPUTE_USD_PER_SECOND, language, digits=6), rate=fmt.integer(TRAINING_ROWS_PER_SECOND, language))
    assumptions_html = f'<p class="muted">{_e(assumptions)}</p>' if has_cost else ""
    return f'<section id="recommendations"><h2>{_e(text["recommendations"])}</h2>{"".join(items)}{assumptions_html}</section>'


def _benefit_text(item: dict[str, Any], text: dict[str, Any], language: str, positive: str) -> str:
    values = item.get("benefit_values") or {}
    kind = item.get("benefit")
    if kind == "decay":
        return text["benefit_decay"].format(
            positive=positive, cases=fmt.integer(values["cases"], language), measured=fmt.decimal(values["measured"], language, 2), trained=fmt.decimal(values["trained"], language, 2)
        )
    if kind == "drift":
        return text["benefit_drift"].format(rows=fmt.integer(values["rows"], language), share=fmt.percent(values["share"], language, 0))
    if kind == "watch":
        return text["benefit_watch"].format(rows=fmt.integer(values["rows"], language))
    return text["benefit_unknown"]


def _model_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    events = [
        (event["at"], f"{text['events'].get(event['event'], event['event'])} v{event['version']}" + (f" (← v{event['previous']})" if event["previous"] and event["event"] in ("promoted", "rolled_back") else ""), event["event"])
        for event in data.events
        if event["at"] is not None
    ]
    timeline = charts.timeline("model_timeline", events, colors=EVENT_COLORS, caption=text["timeline"], empty_message="–", language=language, zone=data.timezone, width=1100)
    rows = "".join(
        f"<tr><td>v{_e(v['version'])}</td><td>{_e(', '.join(v.get('aliases') or []) or '–')}</td>"
        + "".join(f"<td class=\"num\">{fmt.decimal(v.get('metrics', {}).get(metric), language, 3)}</td>" for metric in performance.METRICS)
        + f"<td>{_e(fmt.when(as_datetime(v.get('created_at')), language, data.timezone))}</td></tr>"
        for v in data.versions
    )
    names = [metric_name(m, language) for m in performance.METRICS]
    table = (
        f"<h2>{_e(text['versions'])}</h2><table><thead><tr><th>{_e(text['version'])}</th><th>{_e(text['aliases'])}</th>"
        + "".join(f'<th class="num">{_e(name)}</th>' for name in names)
        + f"<th></th></tr></thead><tbody>{rows}</tbody></table><p class=\"muted\">{_e(text['aliases_help'])}</p>"
        if rows
        else ""
    )
    importance = charts.horizontal_bars(
        "feature_importance", [n for n, _ in data.importance], [v for _, v in data.importance], caption=text["importance"], language=language, width=900
    )
    return f'<section id="model"><h2>{_e(text["timeline"])}</h2>{timeline}{table}<h2>{_e(text["importance"])}</h2>{importance}</section>'


def _predictions_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    if data.task == "regression":
        bands = [fmt.number(band, language, 3) for band, _ in data.prediction_bins]
        pie = charts.columns("prediction_histogram", bands, [count for _, count in data.prediction_bins], caption=text["prediction_histogram"], language=language)
    else:
        pie = charts.pie("labels_pie", data.label_counts, caption=text["labels_pie"], language=language)
    rows = "".join(
        f"<tr><td{_title(p.get('token'))}>{_e(_identity(p, text, language))}</td><td class=\"num\">{fmt.decimal(p['score'], language, 3)}</td><td>{_e(p['label'])}</td>"
        f"<td>{_e(p['actual'] if p['actual'] is not None else '–')}</td><td>{_e(p['reason'])}</td><td>{_e(fmt.when(p['scored_at'], language, data.timezone))}</td></tr>"
        for p in data.recent
    )
    table = (
        f"<table data-table=\"recent\"><thead><tr><th>{_e(text['id'])}</th><th class=\"num\">{_e(text['score'])}</th><th>{_e(text['label'])}</th>"
        f"<th>{_e(text['actual'])}</th><th>{_e(text['reason'])}</th><th>{_e(text['scored_at'])}</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p class=\"muted\">{_e(text['times_in'].format(zone=fmt.zone_label(data.timezone, language)))}</p>"
    )
    return f'<section id="predictions"><h2>{_e(text["recent"])}</h2>{pie}{table}</section>'


def _identity(prediction: dict[str, Any], text: dict[str, Any], language: str) -> str:
    """What a manager can look up: the id when it is not personal, else the file and its Excel row."""
    if prediction.get("source_row") is not None:
        return text["row"].format(row=fmt.integer(prediction["source_row"], language), file=prediction.get("file") or "–")
    return prediction["id"]


def _title(token: str | None) -> str:
    return f' title="{_e(token)}"' if token else ""


def _alerts_section(data: DashboardData, text: dict[str, Any], language: str) -> str:
    if not data.alerts:
        body = f"<p class=\"muted\">{_e(text['no_alerts'])}</p>"
    else:
        body = "<ul>" + "".join(
            f'<li><span class="badge {_e(a["severity"])}">{_e(text["severity_words"].get(a["severity"], a["severity"]))}</span>{_e(fmt.when(a["at"], language, data.timezone))} · {_e(a[f"title_{language}"])}</li>'
            for a in data.alerts
        ) + "</ul>"
    return f'<section id="alerts"><h2>{_e(text["alerts"])}</h2>{body}</section>'


# --------------------------------------------------------------------------- writing


def build_dashboard(settings: Settings, *, language: str | None = None, now: datetime | None = None) -> DashboardResult:
    """Gather once, render both languages, write them to the reports area; return where."""
    with progress.phase("dashboard"):
        return _build_dashboard(settings, language=language, now=now)


def _build_dashboard(settings: Settings, *, language: str | None, now: datetime | None) -> DashboardResult:
    data = gather(settings, now=now)
    main_language = language if language in TEXT else settings.language if settings.language in TEXT else "es"
    main_uri = settings.object_uri("reports", "dashboard/index.html")
    uris = {}
    for page_language in ("es", "en"):
        page = dashboard_html(data, page_language).encode("utf-8")
        uri = settings.object_uri("reports", f"dashboard/index.{page_language}.html")
        services.store(uri).write_bytes(uri, page, "text/html; charset=utf-8")
        uris[page_language] = uri
        if page_language == main_language:
            services.store(main_uri).write_bytes(main_uri, page, "text/html; charset=utf-8")
    return DashboardResult(uri=main_uri, uris=uris, path=local_path(main_uri))


def local_path(uri: str) -> str | None:
    """The file-system path of a ``file://`` URI (None for buckets)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return str(Path(unquote(parts.path)))


def _same_day(checks: list[dict[str, Any]]) -> bool:
    return len({check["checked_at"].date() for check in checks}) < len(checks)
