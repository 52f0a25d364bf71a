"""Layer 7 — model versions over time: training, gates, promotion, rollback, shadow scoring."""
