"""Layer 5 — is the model still right: drift statistics, decision history, measured performance on dropped labels."""
