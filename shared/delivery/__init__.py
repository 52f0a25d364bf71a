"""Layer 2 — how work arrives and leaves exactly once: CloudEvents, where each output of a dropped file lives, claims, fan-out, lineage, temp sweeping, Parquet objects."""
