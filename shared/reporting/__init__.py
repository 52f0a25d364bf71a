"""Layer 6 — what people read: alerts, HTML reports, the dashboard, charts, model cards."""
