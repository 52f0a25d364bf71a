"""The terminal side of ``dropscore serve``: print what runs where, follow the router, stop on Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from shared.errors import PermanentError
from shared.local.cli_io import say
from shared.local.event_router import RetryPolicy
from shared.local.stack.local_stack import ENV_FILE, LocalStack, StackOptions
from shared.settings import Settings


class _StopRequested(Exception):
    """Raised from a signal handler: SIGTERM or SIGHUP end the stack like Ctrl-C does."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _follow(log_path: Path, offset: int) -> None:
    """Echo the router's log (one line per delivery, retry or dead letter) until interrupted."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        while True:
            line = handle.readline()
            if line:
                print(line.rstrip("\n"), flush=True)
            else:
                time.sleep(0.3)


def serve(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    options = StackOptions.from_environment(
        storage=args.storage,
        retry=RetryPolicy(max_seconds=args.retry_seconds),
        max_event_age_seconds=args.max_event_age,
    )
    stack = LocalStack(options)
    previous = {signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    quiet = bool(args.json)
    state = None
    try:
        if not quiet:
            say(settings, "cli_serve_starting")
        stack.start()
        state = stack.state()
        if not quiet:
            print()
            print(stack.table())
            print()
            say(settings, "cli_serve_state", folder=stack.folder, env_file=stack.folder / ENV_FILE)
            say(settings, "cli_serve_upload", raw=stack.settings.area_uri("raw"), predictions=stack.settings.area_uri("predictions"))
            say(settings, "cli_serve_ctrl_c")
            sys.stdout.flush()
            _follow(stack.logs / "router.log", stack.router_log_offset)
        else:
            while True:
                time.sleep(1)
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        # Ctrl-C again while stopping must not leave children behind: ignore it until done.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if not quiet:
            say(settings, "cli_serve_stopping")
        stack.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not quiet:
        say(settings, "cli_serve_stopped")
    return {"stopped": True, "storage_uri": state.storage_uri if state else None, "functions": state.functions if state else {}}


def tick(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from shared.local.stack import scheduler

    if args.target is None:
        raise PermanentError("usage: dropscore serve tick drift|retrain")
    es = settings.language == "es"
    if args.target == "drift":
        result = scheduler.tick_drift(settings.home)
        if not args.json:
            response = result["response"]
            if result["status"] == 200:
                say(settings, "cli_tick_drift", reason=response.get("reason_es" if es else "reason_en", response), report=response.get("report"))
            else:
                say(settings, "cli_tick_drift_failed", status=result["status"], response=response)
        return result
    result = scheduler.tick_retrain(settings.home, args.reason, retry=RetryPolicy(max_seconds=args.retry_seconds))
    if not args.json:
        if result["delivered"]:
            say(settings, "cli_tick_retrain_delivered", message_id=result["message_id"], status=result["status"])
        else:
            say(settings, "cli_tick_retrain_dead_letter", status=result["status"], path=result["dead_letter"])
    return result
