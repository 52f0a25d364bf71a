"""What a drift check found, as data: per-feature comparisons, findings, the decision, the whole check.

These types are what the check hands to everything that shows it (alerts, reports, the dashboard,
the CLI's JSON): they live here, below reporting, so nothing has to import the drift step back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

SCORE_FEATURE = "score"
MISSING_RATE_KIND = "missing_rate"
"""The kind of a result that compares how often a feature is missing (not its values)."""

STATUS_OK = "ok"
STATUS_WARNING = "warning"
STATUS_RETRAIN = "retrain"
STATUS_INSUFFICIENT = "insufficient_data"
STATUS_NO_DATA = "no_data"

PATTERN_SUDDEN = "sudden"
PATTERN_GRADUAL = "gradual"
PATTERN_SUSTAINED = "sustained"
PATTERN_UNDETERMINED = "undetermined"


@dataclass
class FeatureDrift:
    feature: str
    kind: str                 # numeric | categorical | missing_rate | score
    method: str
    effect_size: float | None
    p_value: float | None
    p_value_adjusted: float | None
    psi: float | None
    severity: str
    drifted: bool
    insufficient_data: bool
    importance: float
    rows_reference: int
    rows_current: int
    bins: dict[str, Any] = field(default_factory=dict)
    key_feature: bool = False
    # against the previous window: a significant, at-least-medium change there is a jump
    effect_size_previous: float | None = None
    p_value_previous_adjusted: float | None = None
    jump: bool = False
    pattern: str | None = None          # sudden | gradual | sustained | undetermined (drifted or rising only)
    persistence: int = 0                # in how many of the last checks (this one included) it drifted
    trend: list[float] = field(default_factory=list)  # effect sizes of earlier checks, oldest first, then this one
    projection: dict[str, Any] | None = None


@dataclass
class Finding:
    """One reason behind the decision: a trigger (asks for retraining) or a warning."""

    code: str
    severity: str                       # critical | warning | info
    category: str                       # drift | performance
    features: list[str]
    text_es: str
    text_en: str
    action_es: str
    action_en: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    status: str
    retrain_requested: bool
    triggers: list[Finding]
    warnings: list[Finding]
    reason_es: str
    reason_en: str
    weighted_drift_share: float


@dataclass
class DriftCheckResult:
    check_id: str
    checked_at: datetime
    model_version: str
    window_start: datetime | None
    window_end: datetime
    rows_current: int
    features: list[FeatureDrift]
    drifted_features: list[str]
    retrain_requested: bool
    reason_es: str
    reason_en: str
    report: str | None = None
    report_html: str | None = None
    retrain: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None
    status: str = STATUS_OK
    triggers: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    weighted_drift_share: float = 0.0
    previous_check_id: str | None = None
    previous_window_rows: int = 0
    performance: dict[str, Any] | None = None
    dashboard: str | None = None
    skipped_batches: list[dict[str, Any]] = field(default_factory=list)  # batches of the window whose clean rows are gone
    retrain_withheld: bool = False  # retraining warranted, not requested (`drift --no-retrain`)

    def summary(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "checked_at": self.checked_at.isoformat(),
            "model_version": self.model_version,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(),
            "rows_current": self.rows_current,
            "status": self.status,
            "drifted_features": self.drifted_features,
            "retrain_requested": self.retrain_requested,
            "retrain_withheld": self.retrain_withheld,
            "reason_es": self.reason_es,
            "reason_en": self.reason_en,
            "triggers": [asdict(finding) for finding in self.triggers],
            "warnings": [asdict(finding) for finding in self.warnings],
            "weighted_drift_share": self.weighted_drift_share,
            "patterns": {f"{f.feature}:{f.kind}": f.pattern for f in self.features if f.pattern},
            "performance": _performance_summary(self.performance),
            "report": self.report,
            "report_html": self.report_html,
            "dashboard": self.dashboard,
            "alert_id": self.alert.get("alert_id") if self.alert else None,
            "retrain": self.retrain,
            "skipped_batches": self.skipped_batches,
            "features": [
                {k: v for k, v in asdict(f).items() if k != "bins"} for f in self.features if f.kind != MISSING_RATE_KIND or f.drifted
            ],
        }


def _performance_summary(measured: dict[str, Any] | None) -> dict[str, Any] | None:
    if not measured:
        return None
    return {k: measured.get(k) for k in ("decay", "below_gate", "labels_available", "labeled_predictions", "message_es", "message_en", "evaluated", "gates")}
