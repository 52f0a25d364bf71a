"""One base error and flat subclasses.

The split that matters to the platform: :class:`TransientError` means "raise, the
platform retries"; :class:`PermanentError` means "report it and return". Backends
translate vendor errors at their boundary with ``raise ... from exc``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class DropscoreError(Exception):
    """Base of every error dropscore raises on purpose."""


class PermanentError(DropscoreError):
    """Retrying cannot help: bad input, bad configuration. Report and return."""


class TransientError(DropscoreError):
    """A fault that may pass (storage 5xx, timeout, connection reset): raise so the platform retries."""


class BadInputError(PermanentError):
    """A file that cannot be processed as a whole (empty, not CSV, no usable columns).

    ``code`` is a stable machine-readable code; ``message_es`` / ``message_en`` are what
    the business user reads in the file-level report.
    """

    def __init__(self, code: str, message_es: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_es = message_es
        self.message_en = message_en

    def message(self, language: str) -> str:
        return self.message_es if language == "es" else self.message_en


class SecondPassNeeded(Exception):  # noqa: N818 - a signal, not an error
    """Not an error: a big CSV's rows were read by what its first chunk proved about its decimal marks
    and date order, and the whole file, counted while it was read, proves otherwise.

    Raised by :class:`shared.ingest.clean_table.TableCleaner` (after the last chunk, or as soon as the
    first chunk alone would refuse the file); the clean step discards what it wrote and cleans the file
    again with ``evidence`` (the whole file's; None: count it in a pass beforehand). It never leaves
    the clean step.
    """

    def __init__(self, evidence: object | None) -> None:
        super().__init__("the whole file's evidence differs from its first chunk's: clean it again")
        self.evidence = evidence


class SettingsError(PermanentError):
    """A ``DROPSCORE_*`` setting holds a value that cannot work; says which and why, in Spanish and English."""

    def __init__(self, message_es: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_es = message_es
        self.message_en = message_en

    def message(self, language: str) -> str:
        return self.message_es if language == "es" else self.message_en


class ObjectNameError(BadInputError):
    """A key that would leave its area or that a backend cannot store: permanent, bilingual (shared.object_names)."""


class PiiKeyError(PermanentError):
    """Personal columns without a usable key (DROPSCORE_PII_KEY): configuration, not input. Report and return."""


class ContractError(PermanentError):
    """The data contract is missing, unreadable or inconsistent: what is wrong and where, in Spanish and English."""

    def __init__(self, message_es: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_es = message_es
        self.message_en = message_en

    def message(self, language: str) -> str:
        return self.message_es if language == "es" else self.message_en


class ModelNotFoundError(PermanentError):
    """No registered model (or no version under the requested alias)."""


class ModelIntegrityError(PermanentError):
    """A model artifact does not match the hash recorded at registration: refuse to score."""


class ObjectNotFoundError(PermanentError):
    """The object named by a URI does not exist."""


class ServiceUnavailableError(TransientError):
    """A service the code needs did not answer. The message says which, where and how to start it."""

    def __init__(self, service: str, location: str, how_to_start: str, detail: str = "") -> None:
        text = f"{service} is not reachable at {location}. {how_to_start}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)
        self.service = service
        self.location = location
        self.how_to_start = how_to_start


class ClaimInProgressError(TransientError):
    """Another delivery of the same event holds the claim and is working: retry later (shared.delivery.claims)."""


class AwsWebIdentityError(TransientError):
    """No Google ID token or no STS answer right now: raise, the platform retries (shared.backends.aws_credentials)."""


class RetrainJobStartError(TransientError):
    """The Cloud Run Admin API did not start the retrain execution: raise so Pub/Sub redelivers."""


class RetrainRequestError(PermanentError):
    """The retrain job was started without a request id: nothing to claim."""


class PackagingError(PermanentError):
    """The source tree cannot be packaged as it is (missing entry point, no functions): shared.local.packaging."""


class TerraformOutputError(PermanentError):
    """Terraform's outputs cannot be read or do not describe a dropscore deployment (shared.local.deploy_env)."""

    exit_code = 2  # shared.local.cli_errors.ExitCode.USAGE: what the command line pointed at is not a deployment's outputs

    def __init__(self, message_es: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_es = message_es
        self.message_en = message_en


class UnknownColumnError(PermanentError):
    """A column a person named (the target, the id) is not a column of the file.

    ``role`` says which one ("target", "id"); ``columns`` are the file's, ``close_match`` the one
    it most likely meant (or None), so the caller can word the next step for its reader.
    """

    def __init__(self, column: str, role: str, columns: list[str], close_match: str | None) -> None:
        super().__init__(f"The {role} column '{column}' is not in the file. Columns in the file: {', '.join(columns)}.")
        self.column = column
        self.role = role
        self.columns = columns
        self.close_match = close_match


class UnknownPositiveError(PermanentError):
    """The value named as the positive class is not a value of the target column (``values``: some it has)."""

    def __init__(self, value: str, column: str, values: list[str]) -> None:
        super().__init__(f"'{value}' is not a value of '{column}'. Values found: {', '.join(values)}.")
        self.value = value
        self.column = column
        self.values = values


# ----------------------------------------------------------------------------- vendor errors
#
# The backends translate their vendor's errors at their boundary (``raise ... from exc``). This
# table is the one place that says, for any vendor error that reaches a handler untranslated (a
# BigQuery refusal, an MLflow call outside the registry's translation, DuckDB's lock), whether
# retrying can help. It decides by type and by the vendor's own error code, never by message text.
# A vendor is looked up in ``sys.modules`` only: an error of a library nobody imported cannot occur,
# and a cold start must not import MLflow to classify a storage fault.

PERMANENT = "permanent"
TRANSIENT = "transient"

# HTTP statuses that may pass: timeout, rate limit, and every server-side fault.
_TRANSIENT_HTTP = frozenset({408, 429})

# S3 / STS error codes that may pass (the rest of the 4xx, AccessDenied first, are permanent).
_AWS_TRANSIENT_CODES = frozenset(
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed", "InternalError",
        "ServiceUnavailable", "ConditionalRequestConflict", "RequestLimitExceeded", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "IDPCommunicationError",
    }
)

# MLflow error codes (mlflow.protos.databricks_pb2.ErrorCode) that may pass. INTERNAL_ERROR is what
# MLflow's REST client raises when the tracking server is down or answers 5xx.
_MLFLOW_TRANSIENT_CODES = frozenset(
    {
        "INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "SERVICE_UNDER_MAINTENANCE", "WORKSPACE_TEMPORARILY_UNAVAILABLE",
        "DEADLINE_EXCEEDED", "CANCELLED", "RESOURCE_EXHAUSTED", "ABORTED", "REQUEST_LIMIT_EXCEEDED", "IO_ERROR",
        "COULD_NOT_ACQUIRE_LOCK", "PERMISSION_NOT_PROPAGATED",
    }
)


def _by_http_status(status: object) -> str | None:
    if not isinstance(status, int) or status < 400:
        return None  # no status: nobody can say
    return TRANSIENT if status in _TRANSIENT_HTTP or status >= 500 else PERMANENT


def _aws_client_error(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in _AWS_TRANSIENT_CODES:
        return TRANSIENT
    return _by_http_status(status) or PERMANENT  # AccessDenied, NoSuchBucket, InvalidAccessKeyId...


def _mlflow_error(exc: BaseException) -> str:
    return TRANSIENT if getattr(exc, "error_code", "") in _MLFLOW_TRANSIENT_CODES else PERMANENT


def _google_call_error(exc: BaseException) -> str | None:
    return _by_http_status(getattr(exc, "code", None))


def _google_refresh_error(exc: BaseException) -> str:
    # google-auth marks the refreshes worth retrying (the metadata server hiccuped) itself.
    return TRANSIENT if getattr(exc, "retryable", False) else PERMANENT


def _duckdb_http_error(exc: BaseException) -> str | None:
    return _by_http_status(getattr(exc, "status_code", None))


Rule = str | Callable[[BaseException], "str | None"]

# (module, class, rule): the first class the error is an instance of decides; subclasses come first.
VENDOR_ERRORS: tuple[tuple[str, str, Rule], ...] = (
    # Python and requests: the network, the filesystem.
    ("builtins", "PermissionError", PERMANENT),
    ("builtins", "ConnectionError", TRANSIENT),
    ("builtins", "TimeoutError", TRANSIENT),
    ("requests.exceptions", "HTTPError", lambda exc: _by_http_status(getattr(getattr(exc, "response", None), "status_code", None))),
    ("requests.exceptions", "ConnectionError", TRANSIENT),
    ("requests.exceptions", "Timeout", TRANSIENT),
    # Amazon (S3, STS): by the error code S3 returns.
    ("botocore.exceptions", "ClientError", _aws_client_error),
    ("botocore.exceptions", "ConnectionError", TRANSIENT),  # EndpointConnectionError, connect/read timeouts
    ("botocore.exceptions", "HTTPClientError", TRANSIENT),
    ("botocore.exceptions", "NoCredentialsError", PERMANENT),
    ("botocore.exceptions", "BotoCoreError", PERMANENT),  # no region, invalid parameters: configuration
    # Google (Cloud Storage, BigQuery, Pub/Sub, Cloud Run): by the HTTP status every call error carries.
    ("google.api_core.exceptions", "RetryError", TRANSIENT),  # the client's own retries ran out of time
    ("google.api_core.exceptions", "GoogleAPICallError", _google_call_error),  # 403 Forbidden permanent, 503 transient
    ("google.auth.exceptions", "TransportError", TRANSIENT),
    ("google.auth.exceptions", "RefreshError", _google_refresh_error),
    ("google.auth.exceptions", "GoogleAuthError", PERMANENT),  # no credentials: configuration
    # MLflow: by its error_code.
    ("mlflow.exceptions", "MlflowException", _mlflow_error),
    # DuckDB: a lock another process holds, a write conflict, memory, an interrupted query pass;
    # a catalog, binder or conversion error is the same on every retry.
    ("duckdb", "HTTPException", _duckdb_http_error),
    ("duckdb", "PermissionException", PERMANENT),
    ("duckdb", "IOException", TRANSIENT),
    ("duckdb", "ConnectionException", TRANSIENT),
    ("duckdb", "TransactionException", TRANSIENT),
    ("duckdb", "OutOfMemoryException", TRANSIENT),
    ("duckdb", "InterruptException", TRANSIENT),
    ("duckdb", "FatalException", TRANSIENT),  # the database instance is invalidated: a fresh one reopens it
    ("duckdb", "Error", PERMANENT),
)


def vendor_error_kind(exc: BaseException) -> str | None:
    """PERMANENT or TRANSIENT for a vendor error this table knows; None for anything else."""
    for module_name, class_name, rule in VENDOR_ERRORS:
        module = sys.modules.get(module_name)
        vendor_class = getattr(module, class_name, None) if module is not None else None
        if isinstance(vendor_class, type) and isinstance(exc, vendor_class):
            kind = rule(exc) if callable(rule) else rule
            if kind is not None:
                return kind
            # The family is known but this one carries no status: let a wider rule decide.
    return None


def as_dropscore_error(exc: BaseException) -> DropscoreError | None:
    """``exc`` as one of ours: itself, or a vendor error (or one it was raised from) as a Permanent or
    TransientError; None when nobody knows what it is (a bug, most likely)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DropscoreError):
            return current
        kind = vendor_error_kind(current)
        if kind is not None:
            error = (TransientError if kind == TRANSIENT else PermanentError)(f"{type(current).__name__}: {current}")
            error.__cause__ = current
            return error
        current = current.__cause__  # only what it was explicitly raised from, not what it happened during
    return None
