"""Storage URIs as text (shared.object_names.split_uri): what settings and every backend parse."""

from __future__ import annotations

import pytest

from shared.object_names import split_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gs://dropscore-raw/incoming/a.csv", ("gs", "dropscore-raw", "incoming/a.csv")),
        ("s3://bucket/pre/fix/", ("s3", "bucket", "pre/fix/")),
        ("s3://bucket", ("s3", "bucket", "")),
        ("GS://bucket/k", ("gs", "bucket", "k")),
        ("gs://bucket/report #1?.csv", ("gs", "bucket", "report #1?.csv")),  # keys are verbatim
        ("file:///srv/data/my%20bucket/a.csv", ("file", "", "/srv/data/my bucket/a.csv")),
        ("file://localhost/srv/a.csv", ("file", "", "/srv/a.csv")),
        ("file:///srv/data/", ("file", "", "/srv/data")),
        ("/srv/data/a.csv", ("file", "", "/srv/data/a.csv")),
    ],
)
def test_split_uri(uri: str, expected: tuple[str, str, str]) -> None:
    assert split_uri(uri) == expected
