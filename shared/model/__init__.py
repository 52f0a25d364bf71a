"""Layer 4 — the model: features, training, thresholds, leakage and fairness checks, scoring with reasons, the registered pyfunc, artifact integrity."""
