"""shared/errors.py is the one home of dropscore's exceptions, and declares only errors that happen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shared.errors as errors

SHARED = Path(__file__).resolve().parents[1] / "shared"
ERRORS = SHARED / "errors.py"

# The CLI's failures carry an exit code and a catalogue message: presentation of an error to a
# terminal, built from any of the errors below, not an error a step raises.
PRESENTATION = {"shared/local/cli_errors.py"}


def _exception_classes(tree: ast.AST) -> list[ast.ClassDef]:
    """Classes whose bases name an exception (…Error, …Exception, or another of these classes)."""
    found: list[ast.ClassDef] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base).rpartition(".")[2] for base in node.bases]
            if any(base.endswith(("Error", "Exception")) or base in {"Exception", "BaseException"} for base in bases):
                found.append(node)
    return found


def test_every_exception_of_dropscore_is_declared_in_errors_py() -> None:
    elsewhere = []
    for path in sorted(SHARED.rglob("*.py")):
        relative = path.relative_to(SHARED.parent).as_posix()
        if path == ERRORS or relative in PRESENTATION:
            continue
        for node in _exception_classes(ast.parse(path.read_text(encoding="utf-8"))):
            if node.name.startswith("_"):
                continue  # a module's private signal between two of its own functions, never raised out of it
            elsewhere.append(f"{relative}:{node.lineno} {node.name}")
    assert elsewhere == [], "exceptions declared outside shared/errors.py"


def test_every_declared_error_is_raised_or_built_somewhere() -> None:
    declared = {node.name: node for node in _exception_classes(ast.parse(ERRORS.read_text(encoding="utf-8")))}
    bases = {ast.unparse(base) for node in declared.values() for base in node.bases}
    used: set[str] = set()
    for path in SHARED.rglob("*.py"):
        if path == ERRORS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                used.add(ast.unparse(node.func).rpartition(".")[2])
            elif isinstance(node, ast.ClassDef):
                used.update(ast.unparse(base).rpartition(".")[2] for base in node.bases)
    unused = sorted(name for name in declared if name not in used and name not in bases)
    assert unused == [], "errors declared but never raised: delete them"


def test_the_family_splits_into_permanent_and_transient() -> None:
    """Every error a step can raise says which way the platform must go (shared.handlers reads this)."""
    undecided = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.DropscoreError)
        and value is not errors.DropscoreError
        and not issubclass(value, (errors.PermanentError, errors.TransientError))
    ]
    assert undecided == []


def _client_error(code: str, status: int):  # noqa: ANN202 - botocore ClientError
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


def _mlflow(code: int):  # noqa: ANN202 - MlflowException
    from mlflow.exceptions import MlflowException

    return MlflowException("registry said no", error_code=code)


def _vendor_cases() -> list:
    import botocore.exceptions as boto
    import duckdb
    import google.api_core.exceptions as google
    import google.auth.exceptions as google_auth
    import requests
    from mlflow.protos import databricks_pb2 as mlflow_codes

    return [
        pytest.param(_client_error("AccessDenied", 403), errors.PERMANENT, id="s3-access-denied"),
        pytest.param(_client_error("NoSuchBucket", 404), errors.PERMANENT, id="s3-no-such-bucket"),
        pytest.param(_client_error("SlowDown", 503), errors.TRANSIENT, id="s3-slow-down"),
        pytest.param(_client_error("Unknown5xx", 502), errors.TRANSIENT, id="s3-any-5xx"),
        pytest.param(boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), errors.TRANSIENT, id="s3-endpoint-down"),
        pytest.param(boto.NoCredentialsError(), errors.PERMANENT, id="aws-no-credentials"),
        pytest.param(google.Forbidden("403 Access Denied"), errors.PERMANENT, id="google-403"),
        pytest.param(google.NotFound("404 table"), errors.PERMANENT, id="google-404"),
        pytest.param(google.ServiceUnavailable("503"), errors.TRANSIENT, id="google-503"),
        pytest.param(google.TooManyRequests("429"), errors.TRANSIENT, id="google-429"),
        pytest.param(google.RetryError("deadline", cause=None), errors.TRANSIENT, id="google-retries-ran-out"),
        pytest.param(google_auth.TransportError("metadata server"), errors.TRANSIENT, id="google-auth-transport"),
        pytest.param(google_auth.DefaultCredentialsError("no credentials"), errors.PERMANENT, id="google-no-credentials"),
        pytest.param(_mlflow(mlflow_codes.PERMISSION_DENIED), errors.PERMANENT, id="mlflow-permission-denied"),
        pytest.param(_mlflow(mlflow_codes.RESOURCE_DOES_NOT_EXIST), errors.PERMANENT, id="mlflow-not-found"),
        pytest.param(_mlflow(mlflow_codes.TEMPORARILY_UNAVAILABLE), errors.TRANSIENT, id="mlflow-unavailable"),
        pytest.param(_mlflow(mlflow_codes.INTERNAL_ERROR), errors.TRANSIENT, id="mlflow-server-5xx-or-down"),
        pytest.param(duckdb.IOException("Could not set lock on file"), errors.TRANSIENT, id="duckdb-lock"),
        pytest.param(duckdb.TransactionException("write-write conflict"), errors.TRANSIENT, id="duckdb-conflict"),
        pytest.param(duckdb.CatalogException("Table predictions does not exist"), errors.PERMANENT, id="duckdb-catalog"),
        pytest.param(duckdb.PermissionException("read-only"), errors.PERMANENT, id="duckdb-permission"),
        pytest.param(requests.ConnectionError("refused"), errors.TRANSIENT, id="requests-connection"),
        pytest.param(ConnectionResetError("reset"), errors.TRANSIENT, id="connection-reset"),
        pytest.param(PermissionError("denied"), errors.PERMANENT, id="local-permission"),
        pytest.param(KeyError("a bug"), None, id="a-bug-is-nobodys-to-classify"),
    ]


@pytest.mark.parametrize(("exc", "kind"), _vendor_cases())
def test_vendor_errors_are_classified_by_type_and_code(exc: BaseException, kind: str | None) -> None:
    assert errors.vendor_error_kind(exc) == kind
    mapped = errors.as_dropscore_error(exc)
    expected = {errors.PERMANENT: errors.PermanentError, errors.TRANSIENT: errors.TransientError}.get(kind or "")
    assert (mapped is None) if expected is None else (type(mapped) is expected and mapped.__cause__ is exc)


def test_our_own_errors_and_what_they_were_raised_from() -> None:
    own = errors.ModelIntegrityError("model.lgb")
    assert errors.as_dropscore_error(own) is own
    try:
        try:
            raise _client_error("AccessDenied", 403)
        except Exception as vendor:
            raise RuntimeError("writing the clean rows failed") from vendor
    except RuntimeError as wrapped:
        assert isinstance(errors.as_dropscore_error(wrapped), errors.PermanentError)
    # What it happened *during* (an implicit context) is not what it is: a bug while handling a fault stays a bug.
    try:
        try:
            raise _client_error("SlowDown", 503)
        except Exception:
            raise KeyError("bug in the except clause")  # noqa: B904 - the point of the test
    except KeyError as bug:
        assert errors.as_dropscore_error(bug) is None
