"""Where each output of a dropped file lives, derived from the raw object's key.

A file ``incoming/2026-01/ventas.csv`` in the raw area gives:
- clean rows     clean/incoming/2026-01/ventas.parquet   (the score trigger listens here)
- manifest       clean/manifests/incoming/2026-01/ventas.json
- quarantine     quarantine/incoming/2026-01/ventas.quarantine.csv
- file report    quarantine/incoming/2026-01/ventas.report.json (+ .report.txt for people)
- predictions    predictions/2026-01/ventas.predictions.csv
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from shared.settings import Settings

KINDS = ("incoming", "labels", "training")


@dataclass(frozen=True)
class DroppedFile:
    kind: str          # incoming | labels | training
    relative: str      # the key below the kind folder, without extension: "2026-01/ventas"

    @classmethod
    def from_raw_key(cls, key: str) -> DroppedFile | None:
        parts = PurePosixPath(key).parts
        # A key ending in "/" is a folder placeholder (the GCS console's "create folder"), not a file.
        if len(parts) < 2 or parts[0] not in KINDS or key.endswith("/"):
            return None
        return cls(parts[0], str(PurePosixPath(*parts[1:]).with_suffix("")))

    @classmethod
    def from_clean_key(cls, key: str) -> DroppedFile | None:
        parts = PurePosixPath(key).parts
        if len(parts) < 2 or parts[0] not in KINDS or not key.endswith(".parquet"):
            return None
        return cls(parts[0], str(PurePosixPath(*parts[1:]).with_suffix("")))

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
        return PurePosixPath(self.relative).name


def locate(settings: Settings, uri: str) -> tuple[str, str] | None:
    """(area, key) of an object URI inside one of the configured areas, or None."""
    for area, root in settings.area_uris.items():
        if uri.startswith(root + "/"):
            return area, uri[len(root) + 1 :]
    return None


def object_uri_from_event(settings: Settings, bucket: str, name: str) -> str:
    """The URI of the object a storage event names.

    Cloud events carry (bucket, name). Locally the "bucket" is the area name, so map it to
    the area's folder; on GCS and S3 the bucket is real.
    """
    if settings.storage_uri.startswith("s3://"):
        return f"s3://{bucket}/{name}"
    if settings.storage_uri.startswith("gs://"):
        return f"gs://{bucket}/{name}"
    if bucket in settings.area_uris:
        return settings.object_uri(bucket, name)
    return f"{settings.storage_uri.rstrip('/')}/{bucket}/{name}"


def event_bucket_and_name(settings: Settings, uri: str) -> tuple[str, str]:
    """Inverse of :func:`object_uri_from_event`: what a storage event for ``uri`` would carry."""
    if uri.startswith(("gs://", "s3://")):
        bucket, _, name = uri.split("://", 1)[1].partition("/")
        return bucket, name
    found = locate(settings, uri)
    if found is None:
        raise ValueError(f"{uri} is not inside a configured area")
    return found
