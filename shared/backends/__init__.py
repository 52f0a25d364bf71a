"""Layer 1 — the services dropscore stands on: object storage, the warehouse, the MLflow registry, one cache of clients. Imports only the foundation (errors, settings, object_names)."""
