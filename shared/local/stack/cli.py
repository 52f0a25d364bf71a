"""The terminal side of ``dropscore serve``: print what runs where, follow the router, stop on Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.errors import PermanentError
from shared.local.event_router import RetryPolicy
from shared.local.stack.local_stack import ENV_FILE, LocalStack, StackOptions
from shared.settings import Settings

Say = Callable[[str, str], None]


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


def serve(args: argparse.Namespace, settings: Settings, *, say: Say) -> dict[str, Any]:
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
            say("Arrancando la nube local (puede tardar un minuto)…", "Starting the local cloud (this can take a minute)…")
        stack.start()
        state = stack.state()
        if not quiet:
            print()
            print(stack.table())
            print()
            env_file = stack.folder / ENV_FILE
            say(
                f"Estado y registros en {stack.folder}. Para usarla desde otra terminal: source {env_file}",
                f"State and logs in {stack.folder}. To use it from another shell: source {env_file}",
            )
            raw = stack.settings.area_uri("raw")
            say(
                f"Suba un CSV a {raw}/incoming/ (o `dropscore drop ARCHIVO.csv`); las predicciones aparecen en {stack.settings.area_uri('predictions')}/.",
                f"Upload a CSV to {raw}/incoming/ (or `dropscore drop FILE.csv`); predictions appear in {stack.settings.area_uri('predictions')}/.",
            )
            say("Ctrl-C lo detiene todo.\n", "Ctrl-C stops everything.\n")
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
            say("\nDeteniendo la nube local…", "\nStopping the local cloud…")
        stack.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not quiet:
        say("Todo detenido.", "Everything stopped.")
    return {"stopped": True, "storage_uri": state.storage_uri if state else None, "functions": state.functions if state else {}}


def tick(args: argparse.Namespace, settings: Settings, *, say: Say) -> dict[str, Any]:
    from shared.local.stack import scheduler

    if args.target is None:
        raise PermanentError("usage: dropscore serve tick drift|retrain")
    if args.target == "drift":
        result = scheduler.tick_drift(settings.home)
        if not args.json:
            response = result["response"]
            if result["status"] == 200:
                say(
                    f"drift: {response.get('reason_es', response)}\n  Informe: {response.get('report')}",
                    f"drift: {response.get('reason_en', response)}\n  Report: {response.get('report')}",
                )
            else:
                say(f"drift respondió {result['status']}: {response}", f"drift answered {result['status']}: {response}")
        return result
    result = scheduler.tick_retrain(settings.home, args.reason, retry=RetryPolicy(max_seconds=args.retry_seconds))
    if not args.json:
        if result["delivered"]:
            say(
                f"retrain: mensaje {result['message_id']} entregado ({result['status']}); vea `dropscore models`.",
                f"retrain: message {result['message_id']} delivered ({result['status']}); see `dropscore models`.",
            )
        else:
            say(
                f"retrain: no se entregó ({result['status']}); carta muerta en {result['dead_letter']}",
                f"retrain: not delivered ({result['status']}); dead letter at {result['dead_letter']}",
            )
    return result
