"""Layer 8 — one orchestrator per Cloud Function: clean, score, drift, retrain (mirrors functions/)."""
