"""`dropscore key new`: a fresh key for the keyed hash of personal data (DROPSCORE_PII_KEY).

The key decides every token dropscore writes for a cédula, an e-mail or a phone: the same person
gets the same token only under the same key, and nobody without it can recompute a token from a
guessed cédula (there are only ~10^9 of them, so an unkeyed hash would be reversible). So the key
is random (``secrets``, 32 bytes, URL-safe so it survives shells and env files), printed once, and
never written anywhere by this command: the user puts it where secrets live (a password manager,
Secret Manager in the cloud: infra/secrets.tf).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
from collections.abc import Callable
from typing import Any

from shared.i18n import message
from shared.ingest.pii import MIN_KEY_CHARS
from shared.settings import Settings

KEY_BYTES = 32
VARIABLE = "DROPSCORE_PII_KEY"


def new_key() -> str:
    key = secrets.token_urlsafe(KEY_BYTES)
    assert len(key) >= MIN_KEY_CHARS  # 32 random bytes are 43 characters
    return key


def cmd_key(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    key = new_key()
    export = f"export {VARIABLE}={shlex.quote(key)}"
    if not args.json:
        print(export)
        # Advice on stderr, so that `dropscore key new >> ~/.dropscore-env` stores only the line.
        print(message("cli_key_advice", settings.language), file=sys.stderr)
    return {"variable": VARIABLE, "key": key, "export": export}


def register(command: Callable[..., argparse.ArgumentParser], language: str) -> None:
    """Add `dropscore key new` through shared.local.cli_parser's ``command`` helper."""
    key = command("key", cmd_key, "help_key")
    key.add_argument("action", choices=["new"], help=message("help_key_action", language))
