"""The model card says the same in both languages, and the English one is English throughout."""

from __future__ import annotations

import re

from shared.ingest.contract import ColumnSpec, Contract
from shared.reporting.model_card import model_cards, sections

COLUMNS = {"id": ColumnSpec("id", "identifier"), "y": ColumnSpec("y", "categorical", values=["no", "si"]), "x": ColumnSpec("x", "numeric")}
CONTRACT = Contract(name="formalizacion", target="y", positive="si", negative="no", id_column="id", columns=COLUMNS, gates={"roc_auc": 0.8, "precision": 0.6})
# Every section the card can have: sources, a failed gate, a decision with money, leaks, fairness with a flag, a search.
META = {
    "task": "binary", "positive": "si", "trained_at": "2025-03-01T06:00:00+00:00", "purpose": "retrain",
    "params": {"configuration": "shallow", "best_iteration": 120}, "training_seconds": 12.3,
    "rows": {"train": 12000, "holdout": 3000, "cv_folds": 5},
    "lineage": {"code_version": "abc123", "lightgbm": "4.5.0", "sources": {"file:///a.parquet": "sha:1"}},
    "features": ["x"], "metrics": {"roc_auc": 0.91, "precision": 0.55, "rows": 3000}, "validation_metrics": {"roc_auc": 0.9},
    "gates": {"roc_auc": 0.8, "precision": 0.6}, "gate_failures": ["precision 0.550 < 0.60"],
    "threshold": 0.38, "threshold_info": {"method": "expected_value", "decision": {"value_true_positive": 100.0}, "holdout_expected_value_per_1000": 10.5},
    "feature_importance": {"x": 1.0},
    "leakage": [{"column": "pagado", "statistic": "auc", "value": 0.999, "limit": 0.98, "excluded": True}],
    "fairness": {"columns": {"grupo": {"groups": [{"group": "A", "rows": 100, "positive_rate": 0.2, "positive_rate_ratio": 0.7}]}},
                 "flags": [{"column": "grupo", "group": "A", "metric": "positive_rate", "ratio": 0.7}]},
    "search": [{"name": "shallow", "cv_score": 0.9, "rounds": 120, "seconds": 3.2, "chosen": True}, {"name": "deep", "skipped": True}],
}  # fmt: skip
SPANISH = re.compile(r"[áéíóúñ¿¡«»]|\b(el|los|las|del|una|filas|modelo|para|según)\b")


def test_both_languages_have_the_same_sections_and_blocks() -> None:
    _, spanish = sections(META, CONTRACT, "3", "es")
    _, english = sections(META, CONTRACT, "3", "en")
    assert len(spanish) == len(english) == 11
    assert [len(blocks) for _, blocks in spanish] == [len(blocks) for _, blocks in english]
    assert [title for title, _ in spanish][:2] == ["Resumen", "Datos usados"] and english[0][0] == "Summary"


def test_the_english_card_is_english_and_the_spanish_one_spanish() -> None:
    cards = model_cards(META, CONTRACT, "3")
    assert SPANISH.findall(cards["model_card.en.md"]) == []
    assert "Ficha del modelo «formalizacion» v3" in cards["model_card.es.md"]
    assert "| precisión | ≥ 0,60 | 0,5500 | NO |" in cards["model_card.es.md"]
    assert "| precision | ≥ 0.60 | 0.5500 | FAIL |" in cards["model_card.en.md"]
