"""claims.once: the work under a claim runs once per key, whatever order and number of deliveries.

The clock is moved by hand (:class:`tests.robustness_helpers.MovableClock`): expiry is asserted as
behaviour at a given time, never by sleeping.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.backends import services
from shared.backends.storage import get_store
from shared.delivery import claims
from shared.delivery.claims import Claim, ClaimKey, Claims
from shared.errors import ClaimInProgressError
from shared.settings import Settings
from tests.robustness_helpers import MovableClock

KEY = ClaimKey("clean", "raw", "incoming/ventas.csv", "1700000000000001")


@dataclass
class Outcome:
    status: str
    rows: int = 0


def _attempts(home: Settings) -> list[str]:
    reports = home.area_uri("reports")
    return sorted(info.uri.rsplit("/", 1)[-1] for info in get_store(reports).list(reports) if "/attempt-" in info.uri)


def test_acquire_returns_a_claim_either_way(home: Settings) -> None:
    first = Claims(home, KEY).acquire()
    assert isinstance(first, Claim) and first.done is None and first.attempt == 1
    first.finish(asdict(Outcome("clean", 7)))
    again = Claims(home, KEY).acquire()
    assert isinstance(again, Claim) and again.done is not None
    assert again.record() == {"status": "clean", "rows": 7}
    assert again.replay(Outcome) == Outcome("clean", 7)
    with pytest.raises(RuntimeError):  # a duplicate has nothing to finish
        again.finish({"status": "other"})


def test_once_does_the_work_once_and_a_duplicate_finds_the_record(home: Settings) -> None:
    done: list[int] = []
    for delivery in range(3):
        with claims.once(home, KEY) as claim:
            if claim.done is None:
                done.append(delivery)
                claim.finish({"status": "clean", "rows": 3})
            else:
                assert claim.replay(Outcome) == Outcome("clean", 3)
    assert done == [0]
    assert _attempts(home) == ["attempt-0001.json"]


def test_a_live_claim_makes_a_retry_wait_until_it_expires(home: Settings) -> None:
    clock = MovableClock()
    crashed = Claims(home, KEY, clock=clock).acquire()  # the run is killed: it neither finishes nor releases
    assert crashed.done is None
    clock.advance(claims.DEFAULT_TTL_SECONDS - 1)
    with pytest.raises(ClaimInProgressError), claims.once(home, KEY, clock=clock):
        pytest.fail("the work must not run while another delivery may still be doing it")
    clock.advance(2)
    with claims.once(home, KEY, clock=clock) as claim:
        assert claim.done is None and claim.attempt == 2  # taken over with the next attempt
        claim.finish({"status": "clean"})
    assert _attempts(home) == ["attempt-0001.json", "attempt-0002.json"]


def test_the_ttl_is_the_claims_own(home: Settings) -> None:
    clock = MovableClock()
    Claims(home, KEY, ttl_seconds=30, clock=clock).acquire()
    clock.advance(29)
    with pytest.raises(ClaimInProgressError):
        Claims(home, KEY, ttl_seconds=30, clock=clock).acquire()
    clock.advance(2)
    assert Claims(home, KEY, ttl_seconds=30, clock=clock).acquire().attempt == 2


def test_an_exception_in_the_block_releases_the_claim_and_the_retry_runs_at_once(home: Settings) -> None:
    clock = MovableClock()
    with pytest.raises(OSError), claims.once(home, KEY, clock=clock) as claim:
        assert claim.done is None
        raise OSError("storage 503")
    with claims.once(home, KEY, clock=clock) as retry:  # no expiry waited for: the clock did not move
        assert retry.done is None and retry.attempt == 2
        retry.finish({"status": "clean"})


def test_a_block_that_ends_without_a_result_releases_the_claim(home: Settings) -> None:
    clock = MovableClock()
    with claims.once(home, KEY, clock=clock):
        pass  # forgot to finish: nothing must wait ten minutes for that
    with claims.once(home, KEY, clock=clock) as retry:
        assert retry.done is None and retry.attempt == 2
        retry.finish({"status": "clean"})


def test_take_over_lets_a_known_dead_holder_go(home: Settings) -> None:
    Claims(home, KEY).acquire(extra={"execution": "ex-1", "task_attempt": 0})
    with claims.once(home, KEY, take_over=lambda body: body.get("execution") == "ex-1", extra={"execution": "ex-1", "task_attempt": 1}) as claim:
        assert claim.attempt == 2 and claim.body["task_attempt"] == 1
        claim.finish({"status": "trained"})


def test_concurrent_deliveries_run_the_work_once(home: Settings) -> None:
    start = threading.Barrier(6)
    ran: list[int] = []

    def deliver(index: int) -> str:
        start.wait()
        try:
            with claims.once(home, KEY) as claim:
                if claim.done is not None:
                    return "duplicate"
                ran.append(index)
                claim.finish({"status": "clean"})
                return "worked"
        except ClaimInProgressError:
            return "in progress"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(deliver, range(6)))
    assert outcomes.count("worked") == 1 and len(ran) == 1
    assert set(outcomes) <= {"worked", "duplicate", "in progress"}
    with claims.once(home, KEY) as claim:  # afterwards every delivery is a duplicate
        assert claim.done is not None


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["deliver", "crash", "fail", "wait"]), min_size=1, max_size=8))
def test_any_history_of_deliveries_finishes_the_work_at_most_once(home: Settings, history: list[str]) -> None:
    """Deliveries that work, crash (hold the claim), fail (release it) or arrive later, in any order."""
    key = ClaimKey("score", "clean", f"incoming/{len(history)}-{'-'.join(history)}.parquet", "g1")
    clock = MovableClock()
    finished = 0
    for step in history:
        if step == "wait":
            clock.advance(claims.DEFAULT_TTL_SECONDS + 1)
            continue
        try:
            if step == "crash":
                claim = Claims(home, key, clock=clock).acquire()  # dies holding it: no finish, no release
                continue
            with claims.once(home, key, clock=clock) as claim:
                if claim.done is not None:
                    continue
                if step == "fail":
                    raise OSError("transient")
                finished += 1
                claim.finish({"status": "scored"})
        except (ClaimInProgressError, OSError):
            continue
    assert finished <= 1
    if "deliver" in history and finished == 0:
        # Only a live claim (a crash not yet expired) may have kept the deliveries from working.
        assert "crash" in history
    services.reset()


def test_the_steps_that_claim_declare_the_generation_they_are_called_with() -> None:
    """The claim is in the step's body, not in a decorator that adds keyword arguments unseen."""
    import inspect

    from shared.steps.clean import clean_object
    from shared.steps.score import score_object

    for step in (clean_object, score_object):
        parameters = inspect.signature(step).parameters
        assert list(parameters)[:2] == ["settings", "source_uri" if step is clean_object else "clean_uri"]
        assert parameters["generation"].kind is inspect.Parameter.KEYWORD_ONLY
        assert "claims.once(" in inspect.getsource(step)
