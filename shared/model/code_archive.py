"""The ``shared`` package as one deterministic zip: what a function zip ships of it, and what a
registered model carries as its code (``code/shared.zip``, shared/model/pyfunc_saving.py).

Deterministic (sorted entries, fixed timestamps and permissions), so the zip's sha256 changes only
when the code does. ``shared/local/`` (the CLI, demo and local stack) is left out: a deployed
function and a registered model never import it. shared/local/packaging.py builds the function
zips with these two functions.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from shared.errors import PackagingError

# The earliest timestamp a zip entry can carry; any fixed value works, this one is conventional.
FIXED_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
COMPRESSION_LEVEL = 9

SHARED_PACKAGE = "shared"
LOCAL_TOOLING = "local"  # shared/local/: tooling for one machine, never shipped
WAREHOUSE_SCHEMAS = ("backends", "warehouse", "schemas")  # the table definitions the warehouse reads at run time


def _is_test_path(relative: Path) -> bool:
    parts = relative.parts
    if any(part in ("tests", "test") for part in parts[:-1]):
        return True
    file_name = parts[-1]
    return file_name == "conftest.py" or file_name.startswith("test_") or file_name.endswith("_test.py")


def shared_package_files(repo_root: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, source path) of every file of the shared package that ships."""
    shared_dir = repo_root / SHARED_PACKAGE
    if not shared_dir.is_dir():
        raise PackagingError(f"{shared_dir} is not a folder")
    for path in sorted(shared_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(shared_dir)
        if "__pycache__" in relative.parts or _is_test_path(relative):
            continue
        top = relative.parts[0]
        if top == LOCAL_TOOLING:
            continue  # the CLI, demo and local stack: a deployed function never imports them
        ships = (
            (path.suffix == ".py")
            or (relative.parts[:-1] == WAREHOUSE_SCHEMAS and path.suffix == ".json")
            or (top == "templates" and len(relative.parts) >= 2)
        )
        if ships:
            yield f"{SHARED_PACKAGE}/{relative.as_posix()}", path


def write_deterministic_zip(members: Sequence[tuple[str, Path]], zip_path: Path) -> str:
    """Write the zip and return its sha256 (hex). Same members and bytes give the same zip."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    temporary_path = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary_path, "w") as archive:
        for archive_name, source in members:
            info = zipfile.ZipInfo(archive_name, date_time=FIXED_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below are honoured
            info.external_attr = (0o100000 | FILE_MODE) << 16
            archive.writestr(info, source.read_bytes(), compresslevel=COMPRESSION_LEVEL)
    temporary_path.replace(zip_path)
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()
