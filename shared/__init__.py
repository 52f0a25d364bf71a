"""dropscore: drop a CSV in a bucket, get predictions with reasons; drift checks, retraining, rollback.

Every Cloud Function in ``functions/`` imports this package; all the logic lives here.
"""

__version__ = "0.1.0"
