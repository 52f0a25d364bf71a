"""Where each output of a dropped file lives, derived from the raw object's full name.

A file ``incoming/2026-01/ventas.csv`` in the raw area gives:
- clean rows     clean/incoming/2026-01/ventas.csv.parquet   (the score trigger listens here)
- manifest       clean/manifests/incoming/2026-01/ventas.csv.json
- quarantine     quarantine/incoming/2026-01/ventas.csv.quarantine.csv
- file report    quarantine/incoming/2026-01/ventas.csv.report.json (+ .report.txt for people)
- predictions    predictions/2026-01/ventas.csv.predictions.csv

Outputs are named after the whole name, extension and case kept: ``ventas.csv``, ``ventas.CSV``
and ``ventas.txt`` are three objects and get three sets of outputs (they used to share one,
keyed on the name without its extension, and each drop silently replaced the others'). Each
output name is the stem plus a fixed suffix, so different names never give the same output.

Folder stores (the embedded default) may live on a case-insensitive filesystem (macOS and
Windows folders by default), where ``ventas.csv.predictions.csv`` and
``ventas.CSV.predictions.csv`` are one file, and so are the NFC and NFD spellings of
``producción``. There, a name that is not already in its folded form (lower case, NFC) gets a
short tag, a hash of its exact spelling: ``ventas.CSV~3f2a9c81d0.predictions.csv``. Two names
that fold alike then differ by their tags, while the commonest names (lower case) keep plain
outputs; a folded name that already ends like a tag is tagged too, so no name can forge
another's outputs. Cloud buckets are case-sensitive, so names there are never tagged.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

from shared.settings import Settings

KINDS = ("incoming", "labels", "training")
CASE_TAG_HEX = 10
_CASE_TAG = re.compile(rf"~[0-9a-f]{{{CASE_TAG_HEX}}}$")


def folded(name: str) -> str:
    """The spelling a case- and normalization-insensitive filesystem treats ``name`` as."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def output_stem(relative: str, *, case_tag: bool) -> str:
    """What the outputs of the object ``<kind>/<relative>`` are named after (see the module docstring)."""
    if case_tag and (folded(relative) != relative or _CASE_TAG.search(relative)):
        digest = hashlib.sha256(relative.encode("utf-8", "surrogatepass")).hexdigest()[:CASE_TAG_HEX]
        return f"{relative}~{digest}"
    return relative


@dataclass(frozen=True)
class DroppedFile:
    kind: str          # incoming | labels | training
    relative: str      # the stem of every output: the key below the kind folder, whole ("2026-01/ventas.csv")

    @classmethod
    def from_raw_key(cls, key: str, *, case_tag: bool = False) -> DroppedFile | None:
        """The dropped file a raw key names (None: not under a kind folder, or a folder placeholder).
        ``case_tag``: the outputs live on a folder store that may ignore case (see the module docstring)."""
        parts = key.split("/")
        # A key ending in "/" is a folder placeholder (the GCS console's "create folder"), not a file.
        if len(parts) < 2 or parts[0] not in KINDS or key.endswith("/"):
            return None
        return cls(parts[0], output_stem("/".join(parts[1:]), case_tag=case_tag))

    @classmethod
    def from_clean_key(cls, key: str) -> DroppedFile | None:
        parts = key.split("/")
        if len(parts) < 2 or parts[0] not in KINDS or not key.endswith(".parquet"):
            return None
        return cls(parts[0], "/".join(parts[1:])[: -len(".parquet")])

    def clean_key(self) -> str:
        return f"{self.kind}/{self.relative}.parquet"

    def manifest_key(self) -> str:
        return f"manifests/{self.kind}/{self.relative}.json"

    def quarantine_key(self) -> str:
        return f"{self.kind}/{self.relative}.quarantine.csv"

    def report_key(self, extension: str = "json") -> str:
        return f"{self.kind}/{self.relative}.report.{extension}"

    def predictions_key(self) -> str:
        return f"{self.relative}.predictions.csv"

    @property
    def name(self) -> str:
        """The file's name without folder, extension or case tag ("ventas"): what generated ids start with."""
        return PurePosixPath(_CASE_TAG.sub("", self.relative)).stem


def dropped_file(settings: Settings, raw_key: str) -> DroppedFile | None:
    """The dropped file of a raw key, named for this deployment's store (folder stores tag case)."""
    return DroppedFile.from_raw_key(raw_key, case_tag=settings.area_uri("raw").startswith("file://"))


def locate(settings: Settings, uri: str) -> tuple[str, str] | None:
    """(area, key) of an object URI inside one of the configured areas, or None."""
    for area, root in settings.area_uris.items():
        if uri.startswith(root + "/"):
            key = uri[len(root) + 1 :]
            # Keys are percent-escaped into file:// URIs (Settings.object_uri): give back the key itself.
            return area, unquote(key) if root.startswith("file://") else key
    return None


def object_uri_from_event(settings: Settings, bucket: str, name: str) -> str:
    """The URI of the object a storage event names.

    Cloud events carry (bucket, name). Locally the "bucket" is the area name, so map it to
    the area's folder; on GCS and S3 the bucket is real.
    """
    if settings.storage_uri.startswith(("s3://", "gs://")):
        from shared.object_names import check_key

        # ".." is a legal object name there, but no output of ours may be derived from one.
        return f"{settings.storage_uri[:2]}://{bucket}/{check_key(name, local=False)}"
    if bucket in settings.area_uris:
        return settings.object_uri(bucket, name)
    from shared.object_names import check_component, encode_for_uri, local_path, split_uri

    # A folder of the local store that is not an area: the same checks as inside an area.
    root = split_uri(settings.storage_uri)[2]
    local_path(local_path(root, check_component(bucket, local=True)), name)
    return f"{settings.storage_uri.rstrip('/')}/{encode_for_uri(bucket)}/{encode_for_uri(name)}"


def event_bucket_and_name(settings: Settings, uri: str) -> tuple[str, str]:
    """Inverse of :func:`object_uri_from_event`: what a storage event for ``uri`` would carry."""
    if uri.startswith(("gs://", "s3://")):
        bucket, _, name = uri.split("://", 1)[1].partition("/")
        return bucket, name
    found = locate(settings, uri)
    if found is None:
        raise ValueError(f"{uri} is not inside a configured area")
    return found
