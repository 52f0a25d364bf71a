"""How column names are compared: the spelling people type is not the spelling the contract holds.

A header written "Región", "  REGION " or "region" names the same column. The contract, the
header matching of CSVs and workbooks, the personal-data detector (name words) and the command
line's ``--target``/``--id`` all compare names through :func:`normalize_name`, so a name means
the same column everywhere. It lives on its own because each of those needs it and none of them
may import the others for it (the detector is used by contract inference).
"""

from __future__ import annotations

import re
import unicodedata


def normalize_name(name: str) -> str:
    """Case-, accent- and spacing-insensitive form of a column name, used to match headers."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", without_accents.strip().lower()).strip("_")
