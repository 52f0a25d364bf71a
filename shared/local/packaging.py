"""Build one deployable zip per Cloud Function: ``python -m shared.local.packaging --out dist/functions``.

Each ``functions/<name>/`` folder becomes ``<out>/<name>.zip`` holding exactly:

- ``main.py`` (the thin entry point, at the zip root where Cloud Functions looks for it);
- the ``shared`` package but ``shared/local/`` (the CLI, demo and local stack): every ``.py`` file, ``shared/backends/warehouse/schemas/*.json`` and ``shared/templates/*``,
  without ``__pycache__`` or tests;
- the repository's ``requirements.txt``, which the function build installs.

The zips are deterministic (sorted entries, fixed timestamps and permissions), so their sha256
changes only when the code does. Terraform names the uploaded object after that hash, which is
what makes a code change, and only a code change, redeploy a function.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.errors import PackagingError

# The earliest timestamp a zip entry can carry; any fixed value works, this one is conventional.
FIXED_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
COMPRESSION_LEVEL = 9

ENTRY_POINT_FILE = "main.py"
REQUIREMENTS_FILE = "requirements.txt"
SHARED_PACKAGE = "shared"
LOCAL_TOOLING = "local"  # shared/local/: tooling for one machine, never shipped
WAREHOUSE_SCHEMAS = ("backends", "warehouse", "schemas")  # the table definitions the warehouse reads at run time

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PackagedFunction:
    name: str
    zip_path: Path
    sha256: str


def function_folders(repo_root: Path) -> list[Path]:
    """The folders under functions/ that are functions (hidden and cache folders are not)."""
    functions_dir = repo_root / "functions"
    if not functions_dir.is_dir():
        raise PackagingError(f"{functions_dir} is not a folder")
    return sorted(
        folder
        for folder in functions_dir.iterdir()
        if folder.is_dir() and not folder.name.startswith((".", "_"))
    )


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


def archive_members(repo_root: Path, function_dir: Path) -> list[tuple[str, Path]]:
    """Everything one function's zip holds, sorted by archive name."""
    main_file = function_dir / ENTRY_POINT_FILE
    if not main_file.is_file():
        raise PackagingError(f"functions/{function_dir.name}/{ENTRY_POINT_FILE} missing")
    requirements = repo_root / REQUIREMENTS_FILE
    if not requirements.is_file():
        raise PackagingError(f"{REQUIREMENTS_FILE} missing at the repository root")
    members = [(ENTRY_POINT_FILE, main_file), (REQUIREMENTS_FILE, requirements)]
    members.extend(shared_package_files(repo_root))
    return sorted(members)


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


def build_function_zip(repo_root: Path, function_dir: Path, out_dir: Path) -> PackagedFunction:
    members = archive_members(repo_root, function_dir)
    zip_path = out_dir / f"{function_dir.name}.zip"
    digest = write_deterministic_zip(members, zip_path)
    return PackagedFunction(name=function_dir.name, zip_path=zip_path, sha256=digest)


def build_all(repo_root: Path, out_dir: Path) -> list[PackagedFunction]:
    folders = function_folders(repo_root)
    if not folders:
        raise PackagingError(f"no function folders under {repo_root / 'functions'}")
    # Check every entry point before writing anything, so a failure leaves no half-built set.
    for folder in folders:
        archive_members(repo_root, folder)
    return [build_function_zip(repo_root, folder, out_dir) for folder in folders]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.local.packaging",
        description="Build one deterministic zip per functions/<name>/ folder for Cloud Functions.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("dist/functions"), help="output folder (default: dist/functions)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=REPOSITORY_ROOT,
        help="repository root holding functions/, shared/, requirements.txt",
    )
    arguments = parser.parse_args(argv)
    try:
        packaged = build_all(arguments.root.resolve(), arguments.out)
    except PackagingError as exc:
        print(f"packaging failed: {exc}", file=sys.stderr)
        return 1
    for function in packaged:
        print(f"{function.zip_path} sha256={function.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
