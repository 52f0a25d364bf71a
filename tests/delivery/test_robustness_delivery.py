"""At-least-once delivery, exactly-once effects: duplicates, concurrency, crashed runs and storage faults.

Each test runs against local storage (folders) and against S3 (moto in server mode behind
boto3). The same finalize event is delivered 2-5 times, also at once from several threads;
a run dies holding its claim; storage fails in the middle of writing outputs. Every time
the outcome is one set of outputs, no duplicate warehouse rows, and no half-written object.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from shared import handlers
from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery import claims
from shared.delivery.lineage import clean_uri_of
from shared.delivery.locations import event_bucket_and_name
from shared.errors import ClaimInProgressError, TransientError
from shared.object_names import TEMP_PREFIX
from shared.settings import Settings, load_settings
from tests.conftest import MONTH_ROWS, SyntheticFiles
from tests.conftest_services import moto_server, s3_bucket_uri  # noqa: F401  (fixtures)
from tests.robustness_helpers import MovableClock, storage_event


@pytest.fixture(params=["file", "s3"])
def backend(request: pytest.FixtureRequest, champion_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A home with a champion; buckets as folders, or on S3 (moto)."""
    home = tmp_path / "home"
    shutil.copytree(champion_template, home)
    monkeypatch.setenv("DROPSCORE_HOME", str(home))
    if request.param == "s3":
        bucket_uri = request.getfixturevalue("s3_bucket_uri")
        monkeypatch.setenv("DROPSCORE_STORAGE", f"{bucket_uri}/delivery")
    services.reset()
    yield load_settings()
    services.reset()


class WorkCounter:
    """Counts how often the real work (not the claim bookkeeping) runs, optionally slowing it down."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, delay: float = 0.0) -> None:
        self.calls: Counter[str] = Counter()
        import shared.steps.clean as cleaning
        import shared.steps.score as batch_scoring

        real_clean, real_score = cleaning.clean_file, batch_scoring.score_batch

        def clean_file(*args: Any, **kwargs: Any):
            self.calls["clean"] += 1
            time.sleep(delay)
            return real_clean(*args, **kwargs)

        def score_batch(*args: Any, **kwargs: Any):
            self.calls["score_batch"] += 1
            time.sleep(delay)
            return real_score(*args, **kwargs)

        monkeypatch.setattr(cleaning, "clean_file", clean_file)
        monkeypatch.setattr(batch_scoring, "score_batch", score_batch)


def _upload(settings: Settings, source: Path, name: str = "mes_1.csv") -> tuple[str, dict[str, Any]]:
    uri = settings.object_uri("raw", f"incoming/{name}")
    store = get_store(uri)
    store.upload_file(uri, source, "text/csv")
    bucket, key = event_bucket_and_name(settings, uri)
    return uri, storage_event(bucket, key, store.stat(uri).generation)


def _score_event(settings: Settings, clean_uri: str) -> dict[str, Any]:
    bucket, key = event_bucket_and_name(settings, clean_uri)
    return storage_event(bucket, key, get_store(clean_uri).stat(clean_uri).generation)


def _deliver_until_done(handler: Callable[[dict], dict | None], event: dict, attempts: int = 200) -> dict:
    """What the platform does: redeliver while the handler raises a transient error."""
    for _ in range(attempts):
        try:
            result = handler(event)
            assert result is not None
            return result
        except ClaimInProgressError:
            time.sleep(0.05)
    raise AssertionError("the claim never finished")


def _objects(settings: Settings) -> dict[str, str]:
    """Every output of dropped files (not the champion's training data): URI -> generation."""
    found = {}
    for area in ("clean", "quarantine", "predictions"):
        for info in get_store(settings.area_uri(area)).list(settings.area_uri(area)):
            if "/claims/" not in info.uri and "/training/" not in info.uri:
                found[info.uri] = info.generation
    return found


def _warehouse_rows(settings: Settings, clean_uri: str) -> int:
    predictions = services.warehouse(settings).read("predictions")
    return int((predictions["batch_key"].map(clean_uri_of) == clean_uri).sum())


def test_s3_conditional_put_is_create_only(s3_bucket_uri: str) -> None:  # noqa: F811
    store = get_store(f"{s3_bucket_uri}/claim.json")
    assert store.create_if_absent(f"{s3_bucket_uri}/claim.json", b"first") is True
    assert store.create_if_absent(f"{s3_bucket_uri}/claim.json", b"second") is False
    assert store.read_bytes(f"{s3_bucket_uri}/claim.json") == b"first"


@pytest.mark.parametrize("deliveries", [2, 5])
def test_the_same_event_delivered_again_and_again_does_the_work_once(
    backend: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, deliveries: int
) -> None:
    work = WorkCounter(monkeypatch)
    _, event = _upload(backend, synthetic_files.months[1])
    cleaned = [handlers.handle_clean_event(event) for _ in range(deliveries)]
    assert [c["status"] for c in cleaned] == ["clean"] + ["duplicate"] * (deliveries - 1)
    assert all(c["rows_clean"] == cleaned[0]["rows_clean"] and c["clean_uri"] == cleaned[0]["clean_uri"] for c in cleaned)
    after_clean = _objects(backend)

    score_event = _score_event(backend, cleaned[0]["clean_uri"])
    scored = [handlers.handle_score_event(score_event) for _ in range(deliveries)]
    assert [s["status"] for s in scored] == ["scored"] + ["duplicate"] * (deliveries - 1)
    assert work.calls["clean"] == 1
    assert work.calls["score_batch"] == 1  # 600 rows: one Parquet batch, scored once
    assert _warehouse_rows(backend, cleaned[0]["clean_uri"]) == scored[0]["rows_scored"] == cleaned[0]["rows_clean"]
    outputs = _objects(backend)
    assert {uri: gen for uri, gen in outputs.items() if uri in after_clean} == after_clean, "duplicates rewrote nothing"
    assert sum(1 for uri in outputs if uri.endswith(".predictions.csv")) == 1


def test_concurrent_deliveries_do_the_work_once(backend: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    work = WorkCounter(monkeypatch, delay=0.3)
    _, event = _upload(backend, synthetic_files.months[2], "mes_2.csv")
    start = threading.Barrier(5)

    def deliver(handler, event):
        start.wait()
        try:
            return handler(event)
        except ClaimInProgressError:
            return "in progress"

    with ThreadPoolExecutor(5) as pool:
        first = list(pool.map(lambda _: deliver(handlers.handle_clean_event, event), range(5)))
    statuses = Counter(r if isinstance(r, str) else r["status"] for r in first)
    assert statuses["clean"] == 1 and statuses["clean"] + statuses["duplicate"] + statuses["in progress"] == 5
    retried = [_deliver_until_done(handlers.handle_clean_event, event) for r in first if r == "in progress"]
    assert all(r["status"] == "duplicate" for r in retried)
    clean_uri = next(r for r in first if not isinstance(r, str) and r["status"] == "clean")["clean_uri"]

    score_event = _score_event(backend, clean_uri)
    start = threading.Barrier(4)
    with ThreadPoolExecutor(4) as pool:
        scored = list(pool.map(lambda _: deliver(handlers.handle_score_event, score_event), range(4)))
    for result in scored:
        if result == "in progress":
            assert _deliver_until_done(handlers.handle_score_event, score_event)["status"] == "duplicate"
    assert sum(1 for r in scored if not isinstance(r, str) and r["status"] == "scored") == 1
    assert work.calls == Counter({"clean": 1, "score_batch": 1})
    assert _warehouse_rows(backend, clean_uri) == MONTH_ROWS


def test_a_crashed_run_leaves_a_claim_that_expires(backend: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.steps.clean as cleaning

    _, event = _upload(backend, synthetic_files.months[3], "mes_3.csv")
    real = cleaning.clean_file

    def killed(*args: Any, **kwargs: Any):
        raise KeyboardInterrupt("instance killed mid-run")  # stands for SIGKILL / timeout: no cleanup runs

    monkeypatch.setattr(cleaning, "clean_file", killed)
    monkeypatch.setattr(claims.Claim, "release", lambda self, reason: None)  # a killed process says nothing
    clock = MovableClock()
    monkeypatch.setattr(claims, "utc_now", clock)
    with pytest.raises(KeyboardInterrupt):
        handlers.handle_clean_event(event)
    monkeypatch.setattr(cleaning, "clean_file", real)

    clock.advance(claims.DEFAULT_TTL_SECONDS - 1)  # a retry while the run could still be alive waits
    with pytest.raises(ClaimInProgressError):
        handlers.handle_clean_event(event)
    clock.advance(2)  # ... until the claim expires
    result = handlers.handle_clean_event(event)
    assert result["status"] == "clean" and result["rows_in"] == MONTH_ROWS
    assert handlers.handle_clean_event(event)["status"] == "duplicate"
    attempts = [info.uri for info in get_store(backend.area_uri("reports")).list(backend.area_uri("reports")) if "/attempt-" in info.uri]
    assert len(attempts) == 2, "the retry took over with a second attempt"


def test_a_failed_run_releases_its_claim_and_the_retry_runs_at_once(backend: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.steps.clean as cleaning

    _, event = _upload(backend, synthetic_files.months[1])
    real = cleaning.clean_file
    monkeypatch.setattr(cleaning, "clean_file", lambda *a, **k: (_ for _ in ()).throw(TransientError("storage 503")))
    with pytest.raises(TransientError):
        handlers.handle_clean_event(event)
    monkeypatch.setattr(cleaning, "clean_file", real)
    assert handlers.handle_clean_event(event)["status"] == "clean"


# ------------------------------------------------------------------------------- fault injection


class FlakyStores:
    """Wraps every store so that one chosen write fails once with a transient fault (a 503, a reset)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fails_on: str) -> None:
        self.fails_on = fails_on
        self.failed = False
        real_store = services.store

        outer = self

        class Flaky:
            def __init__(self, store):
                self._store = store

            def __getattr__(self, name):
                return getattr(self._store, name)

            def _maybe_fail(self, uri: str) -> None:
                if not outer.failed and uri.endswith(outer.fails_on):
                    outer.failed = True
                    raise TransientError(f"injected: connection reset while writing {uri}")

            def write_bytes(self, uri, data, content_type="application/octet-stream"):
                self._maybe_fail(uri)
                return self._store.write_bytes(uri, data, content_type)

            def upload_file(self, uri, local_path, content_type="application/octet-stream"):
                self._maybe_fail(uri)
                return self._store.upload_file(uri, local_path, content_type)

            @contextlib.contextmanager
            def open_write(self, uri, content_type="application/octet-stream"):
                with self._store.open_write(uri, content_type) as stream:
                    if not outer.failed and uri.endswith(outer.fails_on):
                        stream.write(b"the first rows")  # the connection drops with the object half sent
                    self._maybe_fail(uri)
                    yield stream

        monkeypatch.setattr(services, "store", lambda uri: Flaky(real_store(uri)))


@pytest.mark.parametrize(
    ("fails_on", "step"),
    [
        (".quarantine.csv", "clean"),   # the first output of clean
        ("mes_2.csv.json", "clean"),    # the manifest, after the quarantine file
        ("mes_2.csv.parquet", "clean"), # the clean rows, last (the score trigger)
        (".predictions.csv", "score"),  # the predictions, before the warehouse
    ],
)
def test_storage_fails_while_writing_outputs_and_the_retry_completes(
    backend: Settings, synthetic_files: SyntheticFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fails_on: str, step: str
) -> None:
    import pandas as pd

    frame = pd.read_csv(synthetic_files.months[2], sep=";", dtype=str, encoding="cp1252", keep_default_na=False)
    frame.loc[0, "ventas_mensuales"] = "mucho"  # so there is a quarantine file to write
    source = tmp_path / "mes_2.csv"
    frame.to_csv(source, sep=";", index=False, encoding="cp1252")
    _, event = _upload(backend, source, "mes_2.csv")
    flaky = FlakyStores(monkeypatch, fails_on)

    if step == "clean":
        with pytest.raises(TransientError):
            handlers.handle_clean_event(event)  # raised: the platform retries
        assert flaky.failed
        visible = _objects(backend)
        assert not any(uri.endswith(".parquet") for uri in visible), "no clean batch (and so no scoring) before the retry"
        assert not any(uri.endswith(".predictions.csv") for uri in visible)
    cleaned = handlers.handle_clean_event(event)  # the retry
    assert cleaned["status"] == "clean" and cleaned["rows_quarantined"] == 1 and cleaned["rows_clean"] == MONTH_ROWS - 1
    score_event = _score_event(backend, cleaned["clean_uri"])
    if step == "score":
        with pytest.raises(TransientError):
            handlers.handle_score_event(score_event)
        assert _warehouse_rows(backend, cleaned["clean_uri"]) == 0
        assert not any(uri.endswith(".predictions.csv") for uri in _objects(backend))
    scored = handlers.handle_score_event(score_event)
    assert scored["status"] == "scored" and flaky.failed

    outputs = _objects(backend)
    names = sorted(uri.rsplit("/", 1)[-1] for uri in outputs)
    assert names == ["mes_2.csv.json", "mes_2.csv.parquet", "mes_2.csv.predictions.csv", "mes_2.csv.quarantine.csv"], names
    for uri in outputs:  # every object whole: readable to the end
        data = get_store(uri).read_bytes(uri)
        if uri.endswith(".json"):
            manifest = json.loads(data)
            assert manifest["rows_in"] == manifest["rows_clean"] + manifest["rows_quarantined"] == MONTH_ROWS
        if uri.endswith(".csv"):
            assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    predictions = get_store(scored["output"]).read_bytes(scored["output"]).decode("utf-8-sig").splitlines()
    assert len(predictions) == MONTH_ROWS  # header + 599 rows, once
    assert _warehouse_rows(backend, cleaned["clean_uri"]) == MONTH_ROWS - 1
    if backend.embedded:
        leftovers = [p for p in Path(backend.home, "buckets").rglob(f"{TEMP_PREFIX}*")]
        assert not leftovers, leftovers


def test_a_failed_local_write_leaves_the_previous_object_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storage dies in the middle of copying an output: readers still see the old object, whole."""
    import shared.backends.storage.local as storage

    target = (tmp_path / "out.csv").as_uri()
    store = get_store(target)
    store.write_bytes(target, b"old complete content\r\n")
    source = tmp_path / "new.csv"
    source.write_bytes(b"x" * (4 * 1024 * 1024))

    def broken_copy(source_handle, target_handle, length=0):
        target_handle.write(source_handle.read(1024))
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(storage.shutil, "copyfileobj", broken_copy)
    with pytest.raises(TransientError):
        store.upload_file(target, source)
    assert store.read_bytes(target) == b"old complete content\r\n"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_an_event_for_an_object_deleted_since_is_answered_not_retried(backend: Settings, synthetic_files: SyntheticFiles) -> None:
    uri, event = _upload(backend, synthetic_files.months[1], "borrado.csv")
    get_store(uri).delete(uri)
    assert handlers.handle_clean_event(event)["status"] == "ignored"  # a 2xx: the platform does not retry
    gone = backend.object_uri("clean", "incoming/borrado.csv.parquet")
    bucket, key = event_bucket_and_name(backend, gone)
    assert handlers.handle_score_event(storage_event(bucket, key, "1"))["status"] == "ignored"
