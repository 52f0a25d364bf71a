"""The model card of a version, in Markdown and HTML, in Spanish and English.

Built from what the registry keeps for the version (``meta.json``: metrics, gates, threshold,
expected value, importances, leakage findings, fairness figures, lineage) and its contract.
One list of sections renders to both formats, so the two never disagree; its words are
:data:`shared.i18n.reports.MODEL_CARD_TEXT`.
"""

from __future__ import annotations

import html
from typing import Any

from shared import formatting as fmt
from shared.i18n.reports import MODEL_CARD_TEXT
from shared.ingest.contract import Contract

Table = tuple[list[str], list[list[str]]]
Section = tuple[str, list[Any]]  # title, blocks: str (paragraph), list[str] (bullets) or Table

def _number(value: Any, digits: int = 4, language: str = "es") -> str:
    """A figure of the card in its language's CLDR format (shared.formatting)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return "—"
    if abs(number - round(number)) < 1e-9 and abs(number) >= 1:
        return fmt.integer(number, language)
    return fmt.decimal(number, language, digits)


def _when(stamp: Any, language: str) -> str:
    """The training time in the deployment's zone (DROPSCORE_TIMEZONE; America/Guayaquil by default)."""
    import os
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(stamp))
    except (TypeError, ValueError):
        return str(stamp or "—")
    zone = os.environ.get("DROPSCORE_TIMEZONE")  # the same variable Settings reads; the card has no Settings
    return fmt.when(moment, language, zone, with_zone=True)


def sections(meta: dict[str, Any], contract: Contract, version: str, language: str) -> tuple[str, list[Section]]:
    text = MODEL_CARD_TEXT["es" if language == "es" else "en"]

    def _num(value: Any, digits: int = 4) -> str:
        return _number(value, digits, language)

    names = text["metric_names"]
    task = meta.get("task") or contract.task or "binary"
    title = text["title"].format(name=contract.name, version=version)
    out: list[Section] = []

    # Summary
    if task == "binary":
        target_text = text["target_binary"].format(target=contract.target, positive=meta.get("positive") or contract.positive)
    elif task == "multiclass":
        target_text = text["target_multiclass"].format(target=contract.target, classes=", ".join(meta.get("classes") or contract.classes))
    else:
        target_text = text["target_regression"].format(target=contract.target)
    params = meta.get("params") or {}
    summary = [
        text["summary_task"].format(task=text["task_names"][task], target=target_text),
        text["summary_trained"].format(
            when=_when(meta.get("trained_at"), language), purpose=meta.get("purpose", "—"), configuration=params.get("configuration", "—"),
            trees=params.get("best_iteration", "—"), seconds=_num(meta.get("training_seconds"), 1),
        ),
    ]
    out.append((text["summary"], summary))

    # Data
    rows = meta.get("rows") or {}
    lineage = meta.get("lineage") or {}
    sources = lineage.get("sources") or meta.get("sources") or {}
    data_blocks: list[Any] = [
        text["data_rows"].format(train=_num(rows.get("train")), folds=rows.get("cv_folds", "—"), holdout=_num(rows.get("holdout"))),
        text["data_features"].format(count=len(meta.get("features") or []), code=lineage.get("code_version", "—"), lightgbm=lineage.get("lightgbm", "—")),
    ]
    if sources:
        data_blocks.append(([text["file"], text["file_version"]], [[uri, str(tag)] for uri, tag in sources.items()]))
    out.append((text["data_used"], data_blocks))

    # Metrics
    holdout, validation = meta.get("metrics") or {}, meta.get("validation_metrics") or {}
    keys = [k for k in holdout if k != "rows"]
    out.append((
        text["metrics"],
        [([text["metric"], text["holdout"], text["cross_validation"]], [[names.get(k, k), _num(holdout.get(k)), _num(validation.get(k))] for k in keys])],
    ))

    # Gates
    gates = meta.get("gates") or contract.gates
    failures = meta.get("gate_failures") or []
    gate_rows = []
    for metric, limit in gates.items():
        value = holdout.get(metric)
        failed = any(f.startswith(f"{metric} ") for f in failures)
        sign = "≤" if metric in ("rmse", "mae", "log_loss") else "≥"
        gate_rows.append([names.get(metric, metric), f"{sign} {_num(limit, 2)}", _num(value), text["gate_failed"] if failed else text["gate_passed"]])
    gate_blocks: list[Any] = [([text["gate"], text["limit"], text["value"], text["result"]], gate_rows)]
    other = [f for f in failures if not any(f.startswith(f"{m} ") for m in gates)]
    if other:
        gate_blocks.append(other)
    out.append((text["business_gates"], gate_blocks))

    # Threshold and expected value
    info = meta.get("threshold_info") or {}
    if task == "binary":
        method = text["threshold_methods"].get(info.get("method", ""), info.get("method", "—"))
        blocks: list[Any] = [text["threshold_text"].format(threshold=_num(meta.get("threshold")), method=method)]
        decision = info.get("decision") or {}
        if decision:
            blocks.append([f"{key}: {_num(value, 2)}" for key, value in decision.items()])
            blocks.append(
                text["expected_value"].format(
                    holdout=_num(info.get("holdout_expected_value_per_1000"), 2), cross_validation=_num(info.get("expected_value_per_1000"), 2)
                )
            )
        else:
            blocks.append(text["no_decision"])
        out.append((text["threshold_title"], blocks))
    elif task == "regression" and meta.get("interval"):
        interval = meta["interval"]
        level = fmt.percent(interval.get("level", 0.9), language, 0)
        out.append((text["interval_title"], [text["interval_text"].format(level=level, half_width=_num(interval.get("half_width")))]))

    # Top features
    importance = sorted((meta.get("feature_importance") or {}).items(), key=lambda item: -item[1])[:10]
    out.append((
        text["top_features"],
        [([text["feature"], text["importance"]], [[name, fmt.percent(value, language, 1)] for name, value in importance])],
    ))

    # Leakage
    leaks = meta.get("leakage") or []
    if leaks:
        leak_rows = [
            [leak["column"], leak["statistic"], _num(leak["value"]), _num(leak["limit"], 2), text["leak_excluded"] if leak["excluded"] else text["leak_allowed"]]
            for leak in leaks
        ]
        out.append((
            text["leaky_title"],
            [text["leaky_text"], ([text["column"], text["statistic"], text["value"], text["limit"], text["decision"]], leak_rows)],
        ))
    else:
        out.append((text["leaky_title"], [text["no_leaks"]]))

    # Fairness
    fairness = meta.get("fairness")
    if fairness:
        min_ratio, min_rows = fairness.get("min_ratio", 0.8), fairness.get("min_group_rows", 30)
        blocks = [text["fairness_text"].format(min_ratio=min_ratio, min_rows=min_rows)]
        for column, detail in (fairness.get("columns") or {}).items():
            groups = detail.get("groups") or []
            if not groups:
                blocks.append(f"{column}: " + text["column_missing"])
                continue
            metrics = [k for k in groups[0] if k not in ("group", "rows") and not k.endswith("_ratio")]
            header = [column, text["rows"]] + [names.get(m, m) + text["ratio_suffix"] if f"{m}_ratio" in groups[0] else names.get(m, m) for m in metrics]
            table_rows = []
            for group in groups:
                cells = [group["group"], str(group["rows"])]
                for metric in metrics:
                    ratio = group.get(f"{metric}_ratio")
                    flag = " ⚠" if ratio is not None and ratio < min_ratio and group["rows"] >= min_rows else ""
                    cells.append(_num(group.get(metric), 3) + (f" ({_num(ratio, 2)}){flag}" if f"{metric}_ratio" in group else ""))
                table_rows.append(cells)
            blocks.append((header, table_rows))
        flags = fairness.get("flags") or []
        blocks.append(
            [f"⚠ {f['column']} = {f['group']}: {names.get(f['metric'], f['metric'])} {text['ratio']} {fmt.decimal(f['ratio'], language, 2)}" for f in flags]
            or [text["no_fairness_flags"]]
        )
        out.append((text["fairness_title"], blocks))

    # Search
    search = meta.get("search") or []
    if search:
        out.append((
            text["search_title"],
            [([text["configuration"], text["cv_score"], text["trees"], text["seconds"], text["chosen"]],
              [[s["name"], _num(s.get("cv_score")), _num(s.get("rounds")), _num(s.get("seconds"), 1), text["yes"] if s.get("chosen") else (s.get("skipped") and text["skipped_time"] or "")] for s in search])],
        ))  # fmt: skip

    # Outside dropscore: the version is an MLflow pyfunc (shared/model/pyfunc_model.py)
    out.append((text["outside_title"], [[text["outside_text"].format(version=version), text["outside_details"]]]))

    # Known limits
    limits = list(text["limits"])
    if fairness:
        limits.append(text["limit_fairness"])
    if task == "regression":
        limits.append(text["limit_interval"])
    out.append((text["limits_title"], [limits]))
    return title, out


def render_markdown(title: str, content: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for heading, blocks in content:
        lines += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, str):
                lines += [block, ""]
            elif isinstance(block, list):
                lines += [f"- {item}" for item in block] + [""]
            else:
                header, rows = block
                lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
                lines.append("|" + "---|" * len(header))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
                lines.append("")
    return "\n".join(lines)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2933}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:left}"
    "th{background:#f0f4f8}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.6rem;border-bottom:1px solid #e4e7eb}"
)


def render_html(title: str, content: list[Section], language: str) -> str:
    parts = [f"<!doctype html><html lang=\"{language}\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in content:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            if isinstance(block, str):
                parts.append(f"<p>{html.escape(block)}</p>")
            elif isinstance(block, list):
                parts.append("<ul>" + "".join(f"<li>{html.escape(str(item))}</li>" for item in block) + "</ul>")
            else:
                header, rows = block
                parts.append(
                    "<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr></thead><tbody>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
                    + "</tbody></table>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def model_cards(meta: dict[str, Any], contract: Contract, version: str) -> dict[str, str]:
    """``{"model_card.es.md": ..., "model_card.es.html": ..., "model_card.en.md": ..., "model_card.en.html": ...}``."""
    files = {}
    for language in ("es", "en"):
        title, content = sections(meta, contract, version, language)
        files[f"model_card.{language}.md"] = render_markdown(title, content)
        files[f"model_card.{language}.html"] = render_html(title, content, language)
    return files
