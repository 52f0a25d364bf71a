"""Where drift is decided: the rules that turn a check's comparisons into ok, warning or retrain.

:func:`decide` reads the per-feature results of :mod:`shared.monitor.comparison` and the
measured performance of :mod:`shared.monitor.performance` and says, with its reasons
(findings, each with evidence and an action, in Spanish and English), whether to retrain.
One small function per rule, in the order a person would apply them; the sentences are in
:mod:`shared.i18n.monitoring`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import formatting as fmt
from shared.i18n import message
from shared.monitor import drift_history, performance
from shared.monitor.drift_stats import DEFAULT_MIN_ROWS, SEVERITY_LABEL_HIGH
from shared.monitor.results import (
    MISSING_RATE_KIND,
    PATTERN_GRADUAL,
    PATTERN_SUDDEN,
    SCORE_FEATURE,
    STATUS_INSUFFICIENT,
    STATUS_NO_DATA,
    STATUS_OK,
    STATUS_RETRAIN,
    STATUS_WARNING,
    Decision,
    FeatureDrift,
    Finding,
)

WEIGHTED_SHARE_LINE = 0.5
"""Retrain when the drifted features hold at least half of the model's gain."""

LISTED_NAMES = 6
"""A sentence names at most this many features; the rest are counted (+n)."""


def _in_both(code: str, values: Callable[[str], dict[str, object]] | None = None) -> tuple[str, str]:
    """The sentence ``code`` in Spanish and in English, each with its values written that language's way."""
    return (
        message(code, "es", **(values("es") if values else {})),
        message(code, "en", **(values("en") if values else {})),
    )


def _names(features: list[FeatureDrift]) -> list[str]:
    seen: list[str] = []
    for feature in sorted(features, key=lambda f: (f.severity != SEVERITY_LABEL_HIGH, -f.importance, f.feature)):
        if feature.feature not in seen:
            seen.append(feature.feature)
    return seen


def drifted_names(features: list[FeatureDrift]) -> list[str]:
    """The drifted features' names, high severity and most important first."""
    return _names([f for f in features if f.drifted])


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED_NAMES])
    return shown + (f" (+{len(names) - LISTED_NAMES})" if len(names) > LISTED_NAMES else "")


def _pattern_action(features: list[FeatureDrift]) -> tuple[str, str]:
    """What to do about drift, by how it came: a jump points at the data pipeline first."""
    if any(f.pattern == PATTERN_SUDDEN for f in features):
        return _in_both("drift_action_sudden")
    if any(f.pattern == PATTERN_GRADUAL for f in features):
        return _in_both("drift_action_gradual")
    return _in_both("drift_action_retrain")


def _evidence(features: list[FeatureDrift]) -> dict[str, Any]:
    return {
        "features": [
            {
                "feature": f.feature, "kind": f.kind, "method": f.method, "effect_size": f.effect_size,
                "p_value_adjusted": f.p_value_adjusted, "severity": f.severity, "importance": round(f.importance, 4),
                "pattern": f.pattern, "effect_size_previous": f.effect_size_previous, "persistence": f.persistence,
            }  # fmt: skip
            for f in sorted(features, key=lambda f: (f.severity != SEVERITY_LABEL_HIGH, -f.importance))[:12]
        ]
    }


def _drift_finding(code: str, severity: str, features: list[FeatureDrift], texts: tuple[str, str], names: list[str] | None = None) -> Finding:
    action_es, action_en = _pattern_action(features)
    return Finding(code, severity, "drift", names or _names(features), texts[0], texts[1], action_es, action_en, _evidence(features))


def weighted_drift_share(features: list[FeatureDrift]) -> float:
    """Share of the model's gain held by features whose values or missing rate drifted."""
    importance = {f.feature: f.importance for f in features if f.kind != SCORE_FEATURE}
    total = sum(importance.values())
    if total <= 0:
        return 0.0
    drifted = {f.feature for f in features if f.drifted and f.kind != SCORE_FEATURE}
    return float(sum(importance[name] for name in drifted) / total)


# --------------------------------------------------------------------------- the rules


Explained = tuple[Finding, list[FeatureDrift]]
"""A drift trigger and the results it accounts for (they need no finding of their own)."""


def _key_feature_high(drifted_values: list[FeatureDrift]) -> Explained | None:
    """A key feature (shared.monitor.comparison.most_important) drifted with high severity."""
    key_high = [f for f in drifted_values if f.key_feature and f.severity == SEVERITY_LABEL_HIGH]
    if not key_high:
        return None
    names = _names(key_high)
    # The headline names every drifted key feature (there are few), not only the high ones.
    also = [name for name in _names([f for f in drifted_values if f.key_feature]) if name not in names]
    listed = {"names": ", ".join(names), "also": ", ".join(also)}
    texts = _in_both("drift_key_high_also" if also else "drift_key_high", lambda _: listed)
    return _drift_finding("key_feature_high", "critical", key_high, texts, names + also), key_high


def _weighted_share(drifted_values: list[FeatureDrift], share: float) -> Explained | None:
    """The drifted features hold at least WEIGHTED_SHARE_LINE of the model's gain."""
    if share < WEIGHTED_SHARE_LINE:
        return None
    texts = _in_both(
        "drift_weighted_share",
        lambda language: {"share": fmt.percent(share, language, 0), "line": fmt.percent(WEIGHTED_SHARE_LINE, language, 0)},
    )
    finding = _drift_finding("weighted_share", "critical", drifted_values, texts)
    finding.evidence["weighted_share"] = share
    return finding, drifted_values


def _score_high(drifted: list[FeatureDrift]) -> Explained | None:
    """The distribution of the scores itself drifted with high severity."""
    score_high = [f for f in drifted if f.kind == SCORE_FEATURE and f.severity == SEVERITY_LABEL_HIGH]
    if not score_high:
        return None
    texts = _in_both("drift_score_high", lambda language: {"ks": fmt.decimal(score_high[0].effect_size, language, 2)})
    return _drift_finding("score_high", "critical", score_high, texts, [SCORE_FEATURE]), score_high


def _performance_finding(measured: performance.PerformanceResult | None) -> Finding | None:
    """Measured performance below a business gate: significantly (a trigger) or within the margin (a warning)."""
    if measured is None or not (measured.decay or measured.below_gate):
        return None
    evaluated = measured.evaluated
    if measured.decay:
        code, severity, action = "performance_decay", "critical", "performance_decay_action"
        metrics = list(evaluated.significantly_below) if evaluated else []
    else:
        code, severity, action = "performance_watch", "warning", "performance_watch_action"
        metrics = list(evaluated.below_gate) if evaluated else []
    action_es, action_en = _in_both(action)
    evidence = {"period": evaluated.to_dict() if evaluated else None, "gates": measured.gates}
    return Finding(code, severity, "performance", metrics, measured.message_es, measured.message_en, action_es, action_en, evidence)


def _persistent(remaining: list[FeatureDrift]) -> Finding | None:
    """Drift that alone would only warn, but showed in PERSISTENCE_HITS of the last PERSISTENCE_CHECKS checks."""
    persistent = [f for f in remaining if f.persistence >= drift_history.PERSISTENCE_HITS]
    if not persistent:
        return None
    values = {
        "hits": drift_history.PERSISTENCE_HITS,
        "checks": drift_history.PERSISTENCE_CHECKS,
        "names": _listing(_names(persistent)),
    }
    return _drift_finding("persistent_drift", "critical", persistent, _in_both("drift_persistent", lambda _: values))


def _passing(remaining: list[FeatureDrift]) -> Finding | None:
    """Drift that does not (yet) justify retraining: a warning, escalated if it shows again."""
    passing = [f for f in remaining if f.persistence < drift_history.PERSISTENCE_HITS]
    if not passing:
        return None
    names = _names(passing)
    high = any(f.severity == SEVERITY_LABEL_HIGH for f in passing)
    text_es, text_en = _in_both("drift_warning_high" if high else "drift_warning_medium", lambda _: {"names": _listing(names)})
    sudden = any(f.pattern == PATTERN_SUDDEN for f in passing)
    action_es, action_en = _in_both("drift_watch_sudden_action" if sudden else "drift_watch_action")
    return Finding("drift_warning", "warning", "drift", names, text_es, text_en, action_es, action_en, _evidence(passing))


def _gradual_trend(features: list[FeatureDrift]) -> Finding | None:
    """A rise still below medium: information, with the date it would reach the retraining line."""
    watch = [f for f in features if not f.drifted and f.pattern == PATTERN_GRADUAL]
    if not watch:
        return None
    names = _names(watch)
    dates = sorted(p["crossing_date"][:10] for f in watch if (p := f.projection) and p.get("crossing_date"))
    values = {"names": _listing(names), "date": dates[0] if dates else ""}
    text_es, text_en = _in_both("gradual_trend_crossing" if dates else "gradual_trend", lambda _: values)
    action_es, action_en = _in_both("gradual_trend_action")
    return Finding("gradual_trend", "info", "drift", names, text_es, text_en, action_es, action_en, _evidence(watch))


def decide(
    features: list[FeatureDrift],
    measured: performance.PerformanceResult | None = None,
    *,
    window_rows: int | None = None,
) -> Decision:
    """The rules, in the order a person would apply them.

    Retraining is requested (a *trigger*, severity critical) when:

    - a key feature (:func:`shared.monitor.comparison.most_important`) drifted with high
      severity (values or missing rate);
    - the drifted features hold at least :data:`WEIGHTED_SHARE_LINE` of the model's gain;
    - the score distribution itself drifted with high severity;
    - measured performance is significantly below a business gate;
    - a drift that would only be a warning persists: drifted in this check and in one of the
      two before it (:data:`shared.monitor.drift_history.PERSISTENCE_HITS` of the last three).

    Otherwise drifted features, a metric under its gate within the margin of error, or a
    rising trend are *warnings*. Tests with too little data never count as drift: when no
    feature could be tested the status says ``insufficient_data`` (or ``no_data``).
    """
    drifted = [f for f in features if f.drifted]
    drifted_values = [f for f in drifted if f.kind != SCORE_FEATURE]
    share = weighted_drift_share(features)
    measured_finding = _performance_finding(measured)

    drift_triggers = [
        rule for rule in (_key_feature_high(drifted_values), _weighted_share(drifted_values, share), _score_high(drifted)) if rule
    ]
    triggers = [finding for finding, _ in drift_triggers]
    explained = {(f.feature, f.kind) for _, accounted in drift_triggers for f in accounted}
    if measured_finding is not None and measured_finding.severity == "critical":
        triggers.append(measured_finding)
    remaining = [f for f in drifted if (f.feature, f.kind) not in explained]
    persistent = _persistent(remaining)
    if persistent is not None:
        triggers.append(persistent)

    warnings = [
        finding
        for finding in (
            _passing(remaining),
            measured_finding if measured_finding is not None and measured_finding.severity == "warning" else None,
            _gradual_trend(features),
        )
        if finding is not None
    ]
    status = _status(features, triggers, warnings, window_rows)
    reason_es, reason_en = _reason(status, triggers, warnings, window_rows, features)
    return Decision(status, bool(triggers), triggers, warnings, reason_es, reason_en, share)


def _status(features: list[FeatureDrift], triggers: list[Finding], warnings: list[Finding], window_rows: int | None) -> str:
    tested = [f for f in features if f.kind != MISSING_RATE_KIND]
    if triggers:
        return STATUS_RETRAIN
    if any(w.severity == "warning" for w in warnings):
        return STATUS_WARNING
    if window_rows == 0 or not tested:
        return STATUS_NO_DATA
    if all(f.insufficient_data for f in tested):
        return STATUS_INSUFFICIENT
    return STATUS_WARNING if warnings else STATUS_OK


def retrain_requested_suffix(language: str) -> str:
    """The closing words of the reason of a check that requests retraining (``drift --no-retrain`` replaces them)."""
    return " " + message("retrain_requested", language)


def _reason(status: str, triggers: list[Finding], warnings: list[Finding], window_rows: int | None, features: list[FeatureDrift]) -> tuple[str, str]:
    if status == STATUS_RETRAIN:
        return (
            " ".join(t.text_es for t in triggers) + retrain_requested_suffix("es"),
            " ".join(t.text_en for t in triggers) + retrain_requested_suffix("en"),
        )
    if status == STATUS_WARNING:
        return (
            " ".join(w.text_es for w in warnings) + " " + message("no_retraining_yet", "es"),
            " ".join(w.text_en for w in warnings) + " " + message("no_retraining_yet", "en"),
        )
    if status == STATUS_NO_DATA:
        return _in_both("drift_no_new_rows")
    if status == STATUS_INSUFFICIENT:
        rows = window_rows if window_rows is not None else max((f.rows_current for f in features), default=0)
        return _in_both(
            "drift_insufficient_data",
            lambda language: {"rows": fmt.integer(rows, language), "min_rows": fmt.integer(DEFAULT_MIN_ROWS, language)},
        )
    return _in_both("drift_none")
