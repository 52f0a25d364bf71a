"""Layer 10 — tooling a deployed function never needs: the CLI, the demo, the local stack and event router, synthetic data, packaging. Left out of the function zips."""
