"""One base error and flat subclasses.

The split that matters to the platform: :class:`TransientError` means "raise, the
platform retries"; :class:`PermanentError` means "report it and return". Backends
translate vendor errors at their boundary with ``raise ... from exc``.
"""

from __future__ import annotations


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
