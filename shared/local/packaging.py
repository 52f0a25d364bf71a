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
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.errors import PackagingError
from shared.model.code_archive import shared_package_files, write_deterministic_zip

ENTRY_POINT_FILE = "main.py"
REQUIREMENTS_FILE = "requirements.txt"

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
