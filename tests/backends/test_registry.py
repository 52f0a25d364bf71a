"""MLflow's failures become dropscore's errors by type and error code, never by the words of a message.

The servers here are real HTTP servers on loopback answering the MLflow client's real requests the
way a broken or busy server does; the MLflow client builds its exceptions from their answers.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import INVALID_STATE

from shared.backends.registry import CHAMPION, MlflowRegistry, translate
from shared.errors import ModelNotFoundError, ServiceUnavailableError


@contextmanager
def answering(status: int, body: str, content_type: str = "application/json") -> Iterator[str]:
    """A server that answers every request with ``status`` and ``body``; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_http_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # One attempt per request: what the client does after its retries is the same, minus the waiting.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")


def _error(code: str, message: str) -> str:
    return json.dumps({"error_code": code, "message": message})


def test_an_unset_alias_is_no_version_whatever_the_server_calls_it() -> None:
    # The sqlalchemy store behind `mlflow server` answers INVALID_PARAMETER_VALUE, others RESOURCE_DOES_NOT_EXIST.
    for code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
        with answering(400 if code == "INVALID_PARAMETER_VALUE" else 404, _error(code, "alias ausente")) as url:
            assert MlflowRegistry(url, "m").version_of(CHAMPION) is None


def test_a_refusal_that_mentions_not_found_is_not_a_missing_model() -> None:
    """The words "not found" in a refusal do not make "there is no champion": the server's error goes up as
    it is, where matching the message text took it for a registry without a champion."""
    with answering(403, _error("PERMISSION_DENIED", "access token not found for this user")) as url:
        registry = MlflowRegistry(url, "m")
        with pytest.raises(MlflowException) as caught:
            registry.version_of(CHAMPION)
        assert caught.value.error_code == "PERMISSION_DENIED"
        with pytest.raises(MlflowException) as caught:
            registry.tags_of("1")
        assert caught.value.error_code == "PERMISSION_DENIED"


def test_a_url_that_is_not_an_mlflow_server_is_not_no_champion() -> None:
    """A wrong URL (a proxy's HTML "404 Not Found" page) is not "there is no champion yet"."""
    with answering(404, "<html><body><h1>404 Not Found</h1></body></html>", "text/html") as url:
        with pytest.raises(MlflowException) as caught:
            MlflowRegistry(url, "m").version_of(CHAMPION)
    assert caught.value.error_code == "ENDPOINT_NOT_FOUND"


def test_a_missing_version_is_model_not_found() -> None:
    with answering(404, _error("RESOURCE_DOES_NOT_EXIST", "sin versión")) as url:
        with pytest.raises(ModelNotFoundError):
            MlflowRegistry(url, "m").tags_of("7")


@pytest.mark.parametrize("status, code", [(503, "TEMPORARILY_UNAVAILABLE"), (429, "REQUEST_LIMIT_EXCEEDED")])
def test_a_busy_server_is_a_transient_fault(status: int, code: str) -> None:
    with answering(status, _error(code, "busy")) as url:
        with pytest.raises(ServiceUnavailableError, match=f"MLflow tracking server is not reachable at {url}"):
            MlflowRegistry(url, "m").version_of(CHAMPION)


def test_a_server_that_is_not_there_is_a_transient_fault() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listening: connections are refused
        with pytest.raises(ServiceUnavailableError, match="dropscore serve") as caught:
            MlflowRegistry(url, "m").versions()
    assert caught.value.location == url


@settings(max_examples=60, deadline=None)
@given(message=st.text(max_size=80))
def test_the_words_of_a_message_never_decide_the_error(message: str) -> None:
    assert translate(MlflowException(message), "read alias champion", "http://mlflow") is None
    assert translate(MlflowException(message, error_code=INVALID_STATE), "read", "http://mlflow") is None
    assert isinstance(translate(RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message}), "read", "u"), ModelNotFoundError)
    assert isinstance(translate(RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": message}), "read", "u"), ServiceUnavailableError)


@pytest.mark.parametrize(
    "cause",
    [requests.exceptions.ConnectionError("refused"), requests.exceptions.ReadTimeout("slow"), requests.exceptions.RetryError("503 x3"), socket.gaierror(-2, "unknown host")],
    ids=["refused", "timeout", "retries-exhausted", "dns"],
)
def test_transport_failures_under_mlflows_exception_are_transient(cause: Exception) -> None:
    try:
        try:
            raise cause
        except Exception as exc:  # as mlflow.utils.rest_utils does: a new exception, the old one its context
            raise MlflowException(f"API request failed with exception {exc}")  # noqa: B904
    except MlflowException as raised:
        translated = translate(raised, "list model versions", "http://mlflow:5000")
    assert isinstance(translated, ServiceUnavailableError) and "while trying to list model versions" in str(translated)
