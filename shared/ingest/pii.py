"""Pseudonymize personal-data columns with a keyed hash (HMAC-SHA256) before they leave the raw area.

Columns the contract marks ``personal: true`` (cédula, names, phone, e-mail) are replaced
by a token: ``HMAC-SHA256(key, normalized value)``, the first 128 bits in hex. The same key
and value always give the same token, so an id column that is personal (a cédula as the
id is common) still joins labels to predictions; without the key nobody can go back from
a token to the person, nor check a guessed cédula against it (a plain hash could be
reversed by trying all ~10^9 cédulas).

The key comes from ``DROPSCORE_PII_KEY`` (in the cloud, from Secret Manager). It is never
logged, printed or written anywhere: :class:`PiiHasher` does not show it in its repr and
error messages never include it. Without a key, personal columns are refused (a file-level
report), never stored in the clear. See docs/data-protection.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import numpy as np
import pandas as pd

from shared.errors import PiiKeyError

TOKEN_HEX_CHARS = 32  # 128 bits: collisions are out of reach for any file people send
MIN_KEY_CHARS = 16
# Tokens of version 1; a new derivation would change the prefix so stored tokens are never mixed.
_DOMAIN = b"dropscore-pii-v1\x00"
_SPACES = re.compile(r"\s+")


def normalize_value(value: str, column_type: str) -> str:
    """The form that is hashed: equal people give equal tokens however the cell was typed.

    cédula / RUC are already normalized by validation (digits only, leading zero restored);
    other text is Unicode-normalized, trimmed, with single spaces and case-folded, so
    ``Ana  Pérez`` and ``ana pérez`` are the same person and ``A@X.EC`` the same e-mail.
    """
    if column_type in ("cedula", "ruc"):
        return value.strip()
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


class PiiHasher:
    def __init__(self, key: str | bytes) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw.strip()) < MIN_KEY_CHARS:
            raise PiiKeyError(
                f"DROPSCORE_PII_KEY is too short: use at least {MIN_KEY_CHARS} random characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
        # The keyed state after the key and the domain prefix; each value continues a copy of it.
        self._prefixed = hmac.new(raw, _DOMAIN, hashlib.sha256)

    def __repr__(self) -> str:  # never show the key
        return "PiiHasher(key=<hidden>)"

    def token(self, value: str, column_type: str = "text") -> str:
        mac = self._prefixed.copy()
        mac.update(normalize_value(value, column_type).encode("utf-8"))
        return mac.hexdigest()[:TOKEN_HEX_CHARS]

    def tokens(self, values: pd.Series, column_type: str = "text") -> pd.Series:
        """Tokens for a column; missing stays missing (a token of "nothing" would look like a value)."""
        raw = values.astype("string").to_numpy(dtype=object, na_value=None)
        cache: dict[str, str] = {}
        out = np.empty(len(raw), dtype=object)
        for position, value in enumerate(raw):
            if value is None:
                out[position] = None
                continue
            found = cache.get(value)
            if found is None:
                found = cache[value] = self.token(value, column_type)
            out[position] = found
        return pd.Series(out, index=values.index, dtype="string")


def hasher_for(key: str | None) -> PiiHasher | None:
    return PiiHasher(key) if key else None
