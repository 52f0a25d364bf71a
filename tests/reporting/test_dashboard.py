"""The management dashboard rendered from constructed data: both languages, every section, offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.reporting import charts
from shared.reporting.dashboard import dashboard_html
from shared.reporting.dashboard_data import DashboardData, distinct_parts, recommendations

NOW = datetime(2025, 4, 2, 7, 0, tzinfo=UTC)
CHARTS = ("rows_by_period", "positive_rate", "performance", "drift_trend", "model_timeline", "feature_importance", "labels_pie")


def data(**overrides: object) -> DashboardData:
    months = ["2025-01", "2025-02", "2025-03"]
    checks = [
        {"check_id": f"c{i}", "checked_at": NOW - timedelta(days=30 * (3 - i)), "status": status, "retrain_requested": status == "retrain",
         "rows": 2000, "key_effect": effect, "weighted_share": share, "score_effect": effect / 2, "drifted": drifted, "patterns": patterns}
        for i, (status, effect, share, drifted, patterns) in enumerate(
            [("ok", 0.03, 0.0, [], {}), ("ok", 0.05, 0.0, [], {}), ("retrain", 0.42, 0.54, ["ventas_mensuales"], {"ventas_mensuales": "sudden"})], start=1
        )
    ]  # fmt: skip
    base = DashboardData(
        generated_at=NOW,
        model_name="formalizacion",
        champion={"version": "2", "metrics": {"roc_auc": 0.96, "precision": 0.68, "recall": 0.74}, "threshold": 0.38, "gates": {}, "positive": "si", "negative": "no"},
        kpis={"files": 3, "rows": 6000, "quarantined": 3, "positive_rate": 0.1345, "expected_positives": 812.4, "labeled": 4000, "labeled_rows_total": 4000, "positive": "si"},
        granularity="month",
        periods=[{"period": m, "first": NOW, "rows": 2000, "positive_rate": 0.12 + 0.01 * i, "expected_positives": 250.0, "actual_rate": 0.11 if i < 2 else None} for i, m in enumerate(months)],
        performance_periods=[
            {"period": m, "rows_labeled": 2000 if i < 2 else 0, "sufficient": i < 2, "metrics": {"roc_auc": 0.95, "precision": 0.66, "recall": 0.7}, "significantly_below": [], "actual_positive_rate": 0.11}
            for i, m in enumerate(months)
        ],
        gates={"roc_auc": 0.8, "precision": 0.6, "recall": 0.65},
        checks=checks,
        last_check=checks[-1] | {"reason_es": "Deriva alta en variables clave del modelo: ventas_mensuales.", "reason_en": "High drift in key model features: ventas_mensuales.",
                                 "retrain": {"model_version": "2", "promoted": True, "reason_es": "Retador v2 promovido.", "reason_en": "Challenger v2 promoted."}},
        projections=[{"feature": "horas_semana", "kind": "numeric", "slope_per_check": 0.04, "current_effect": 0.14, "checks_to_line": 4.0,
                      "crossing_date": (NOW + timedelta(days=120)).isoformat(), "already_crossed": False}],
        events=[{"at": NOW - timedelta(days=100), "event": "trained", "version": "1", "previous": None, "reason": ""},
                {"at": NOW - timedelta(days=100), "event": "promoted", "version": "1", "previous": None, "reason": ""},
                {"at": NOW - timedelta(days=1), "event": "promoted", "version": "2", "previous": "1", "reason": ""},
                {"at": NOW, "event": "rolled_back", "version": "1", "previous": "2", "reason": ""}],
        versions=[{"version": "1", "aliases": ["previous"], "metrics": {"roc_auc": 0.95}, "created_at": "2025-01-01T00:00:00+00:00"},
                  {"version": "2", "aliases": ["champion"], "metrics": {"roc_auc": 0.96, "precision": 0.68, "recall": 0.74}, "created_at": "2025-04-01T00:00:00+00:00"}],
        recent=[{"id": f"MN-{i}", "score": 0.9 - i / 100, "label": "si" if i < 3 else "no", "actual": None if i % 2 else "si", "reason": "tiene_ruc = si ↑", "scored_at": NOW} for i in range(5)],
        label_counts=[("no", 5193), ("si", 807)],
        importance=[("tiene_ruc", 0.36), ("lleva_contabilidad", 0.26), ("ventas_mensuales", 0.06)],
        alerts=[{"at": NOW, "severity": "critical", "title_es": "Modelo v2: Deriva alta.", "title_en": "Model v2: High drift."}],
    )  # fmt: skip
    for key, value in overrides.items():
        setattr(base, key, value)
    base.recommendations = recommendations(base, labeled_rows=4000) if "recommendations" not in overrides else base.recommendations
    return base


def drawn_charts(page: str) -> set[str]:
    return set(re.findall(r'<figure class="chart" data-chart="([^"]+)">', page))


def test_every_chart_is_drawn_in_spanish_by_default() -> None:
    page = dashboard_html(data())
    assert page.startswith("<!DOCTYPE html>") and '<html lang="es">' in page
    assert set(CHARTS) <= drawn_charts(page)
    for text in ("Tablero del modelo", "Archivos puntuados", "Tasa de «si» predicha", "Recomendaciones", "Reentrenamiento ya ejecutado",
                 "v2 es ahora el campeón", "Historia del modelo", "Predicciones recientes", "Razón principal"):  # fmt: skip
        assert text in page, text
    assert "6.000" in page and "13,4%" in page, "Spanish pages write numbers the Spanish way (CLDR es_EC, half-even rounding)"
    assert "vuelta atrás v1 (← v2)" in page and "promovido v2 (← v1)" in page
    assert "horas_semana: al ritmo actual cruzaría la línea de reentrenamiento hacia 31 jul 2025 (≈4,0 controles)" in page
    assert "Reentrenar ahora" not in page, "the retraining the check asked for already ran: say what it decided"


def test_english_on_request() -> None:
    page = dashboard_html(data(), "en")
    assert '<html lang="en">' in page and "Model dashboard" in page and "Retraining already done" in page
    assert "Retrain now" in dashboard_html(not_yet_retrained(), "en")
    assert "6,000" in page and "13.4%" in page
    assert set(CHARTS) <= drawn_charts(page)


def test_the_page_stands_alone_offline() -> None:
    page = dashboard_html(data())
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing is fetched from elsewhere"
    assert 'href="../drift/latest.html"' in page, "the drift report sits beside it in the reports area"


def not_yet_retrained(**overrides: object) -> DashboardData:
    """The check asked for retraining and nothing ran yet (`drift --no-retrain`, or before the retrain function)."""
    base = data(**overrides)
    base.last_check = dict(base.last_check, retrain=None)
    base.events = [event for event in base.events if event["at"] < base.last_check["checked_at"]]
    base.recommendations = recommendations(base, labeled_rows=4000)
    return base


def test_cost_and_benefit_of_retraining_are_stated_with_their_assumptions() -> None:
    page = dashboard_html(not_yet_retrained())
    assert "Reentrenar ahora" in page and "Costo estimado" in page and "Beneficio esperado" in page
    assert "&lt; $0,01 de cómputo" in page and "1 h de revisión" in page
    assert "Proteger ≈ 2.000 predicciones por mes" in page and "54% del peso del modelo" in page
    assert "Supuestos:" in page


def test_decay_benefit_counts_the_cases_recovered() -> None:
    decayed = [{"period": "2025-03", "rows_labeled": 2000, "sufficient": True, "metrics": {"recall": 0.50}, "significantly_below": ["recall"], "actual_positive_rate": 0.10}]
    items = not_yet_retrained(performance_periods=decayed).recommendations
    retrain = items[0]
    assert retrain["benefit"] == "decay"
    # (0.74 at training - 0.50 measured) x 10 % positives x 2 000 rows a month = 48 cases
    assert retrain["benefit_values"]["cases"] == pytest.approx(48.0)


def test_a_quiet_model_needs_no_action() -> None:
    quiet = data()
    quiet.last_check = quiet.checks[0] | {"reason_es": "Sin deriva significativa.", "reason_en": "No significant drift."}
    quiet.projections = []
    quiet.recommendations = items = recommendations(quiet, labeled_rows=10)
    assert [item["kind"] for item in items] == ["none"]
    assert "Ninguna acción necesaria" in dashboard_html(quiet)


def test_empty_states_say_so_instead_of_drawing_nothing() -> None:
    page = dashboard_html(DashboardData(generated_at=NOW, model_name="nuevo"))
    assert "Todavía no hay un modelo campeón" in page
    assert "Todavía no se ha ejecutado ningún control de deriva." in page
    assert 'data-empty="performance"' in page and 'data-empty="labels_pie"' in page
    assert "<figure" not in page or all(name in CHARTS for name in drawn_charts(page))


def test_file_periods_are_named_by_what_tells_them_apart() -> None:
    names = ["ventas_2024-01.csv", "ventas_2024-02.csv"]
    assert distinct_parts(names) == {"ventas_2024-01.csv": "2024-01", "ventas_2024-02.csv": "2024-02"}
    assert distinct_parts(["único.csv"]) == {"único.csv": "único"}


def test_charts_mark_what_they_draw() -> None:
    figure = charts.lines("x", ["a", "b"], [("s", [0.1, None], "#000", False)], reference_lines=[("gate", 0.5, "#f00"), ("gate 2", 0.51, "#f00")])
    assert figure.count('data-mark="point"') == 1 and figure.count('data-mark="gate"') == 2
    labels_y = [float(y) for y in re.findall(r'<text x="[^"]+" y="([^"]+)" text-anchor="start" data-role="gate"', figure)]
    assert abs(labels_y[0] - labels_y[1]) >= 11, "close gates get their labels stacked, not printed on top of each other"
    assert charts.pie("p", [("a", 0)]).startswith('<p class="empty"')
    assert charts.pie("p", [("a", 3)]).count('data-mark="slice"') == 1


def test_expected_value_of_the_decisions_uses_the_contracts_money() -> None:
    from shared.reporting.dashboard_data import expected_value

    decision = {"value_true_positive": 100.0, "cost_false_positive": 20.0, "cost_false_negative": 50.0}
    # acted on at p=0.8: 0.8*100 - 0.2*20 = 76; left alone at p=0.1: -0.1*50 = -5
    assert expected_value(np.array([0.8, 0.1]), np.array([True, False]), decision) == pytest.approx(71.0)
    page = dashboard_html(data(kpis=data().kpis | {"expected_value": 12345.6}))
    assert "12.346" in page and "Valor esperado de las decisiones" in page


def test_no_benefit_of_zero_cases_is_promised() -> None:
    """A decay that recovers under one case a month, on a drift that touches no weight: no '≈ 0 cases' claim."""
    tiny = [{"period": "2025-03", "rows_labeled": 2000, "sufficient": True, "metrics": {"recall": 0.739}, "significantly_below": ["recall"], "actual_positive_rate": 0.0001}]
    quiet_weight = not_yet_retrained(performance_periods=tiny)
    quiet_weight.last_check["weighted_share"] = 0.0
    quiet_weight.recommendations = recommendations(quiet_weight, labeled_rows=4000)
    assert quiet_weight.recommendations[0]["benefit"] == "unknown"
    page = dashboard_html(quiet_weight)
    assert "≈ 0 casos" not in page and "Todavía sin una cifra fiable" in page


def test_a_retraining_that_kept_the_champion_says_so() -> None:
    kept = data()
    kept.last_check = dict(kept.last_check, retrain={"model_version": "3", "promoted": False, "reason_es": "Se mantiene el campeón v2.", "reason_en": "Champion v2 kept."})
    kept.recommendations = recommendations(kept, labeled_rows=4000)
    assert [item["kind"] for item in kept.recommendations][0] == "retrained"
    page = dashboard_html(kept)
    assert "v3 no se promovió y el campeón sigue igual" in page and "Se mantiene el campeón v2." in page


def _leaves(table: object, path: str = "") -> dict[str, str]:
    if isinstance(table, dict):
        return {key: value for name, item in table.items() for key, value in _leaves(item, f"{path}.{name}").items()}
    return {path: str(table)}


@pytest.mark.parametrize("table", ["DASHBOARD_TEXT", "REPORT_TEXT", "MODEL_CARD_TEXT"])
def test_every_label_of_the_pages_exists_in_both_languages_with_the_same_placeholders(table: str) -> None:
    import string

    from shared.i18n import reports as words

    spanish, english = _leaves(getattr(words, table)["es"]), _leaves(getattr(words, table)["en"])
    assert spanish.keys() == english.keys()
    for key in spanish:
        placeholders = [{name for _, name, _, _ in string.Formatter().parse(text) if name} for text in (spanish[key], english[key])]
        assert placeholders[0] == placeholders[1], key
