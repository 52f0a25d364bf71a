"""shared.local.packaging: one deterministic zip per function folder, with exactly what the function needs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shared.errors import PackagingError
from shared.local import packaging

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    """A small repository with everything that must ship and everything that must not."""
    root = tmp_path / "repo"
    write(root / "requirements.txt", "pandas==3.1.1\n")
    write(root / "README.md", "not shipped\n")
    write(root / "tests" / "test_something.py", "def test_x(): pass\n")
    for name in ("clean", "drift"):
        write(root / "functions" / name / "main.py", f"def {name}(event):\n    return None\n")
        write(root / "functions" / name / "notes.txt", "not shipped\n")
        write(root / "functions" / name / "__pycache__" / "main.cpython-311.pyc", "bytecode")
    write(root / "functions" / "__pycache__" / "stale.pyc", "bytecode")
    write(root / "shared" / "__init__.py", "")
    write(root / "shared" / "settings.py", "X = 1\n")
    write(root / "shared" / "backends" / "__init__.py", "")
    write(root / "shared" / "backends" / "gcs.py", "Y = 2\n")
    write(root / "shared" / "backends" / "warehouse" / "schemas" / "predictions.json", "[]\n")
    write(root / "shared" / "backends" / "warehouse" / "schemas" / "README.md", "not shipped\n")
    write(root / "shared" / "templates" / "report.html.j2", "<html></html>\n")
    write(root / "shared" / "templates" / "es" / "alert.txt", "alerta\n")
    write(root / "shared" / "notes.md", "not shipped\n")
    write(root / "shared" / "__pycache__" / "settings.cpython-311.pyc", "bytecode")
    write(root / "shared" / "backends" / "__pycache__" / "gcs.cpython-311.pyc", "bytecode")
    write(root / "shared" / "tests" / "test_settings.py", "def test_y(): pass\n")
    write(root / "shared" / "test_helpers.py", "def test_z(): pass\n")
    write(root / "shared" / "conftest.py", "")
    return root


EXPECTED_ENTRIES = [
    "main.py",
    "requirements.txt",
    "shared/__init__.py",
    "shared/backends/__init__.py",
    "shared/backends/gcs.py",
    "shared/backends/warehouse/schemas/predictions.json",
    "shared/settings.py",
    "shared/templates/es/alert.txt",
    "shared/templates/report.html.j2",
]


def test_each_function_zip_holds_exactly_main_shared_and_requirements(
    source_tree: Path, tmp_path: Path
) -> None:
    packaged = packaging.build_all(source_tree, tmp_path / "out")

    assert [function.name for function in packaged] == ["clean", "drift"]
    for function in packaged:
        with zipfile.ZipFile(function.zip_path) as archive:
            assert archive.namelist() == EXPECTED_ENTRIES
            assert archive.read("main.py").decode() == f"def {function.name}(event):\n    return None\n"
            assert archive.read("requirements.txt") == (source_tree / "requirements.txt").read_bytes()
            assert archive.read("shared/backends/gcs.py") == b"Y = 2\n"
            assert archive.testzip() is None


def test_zip_entries_have_fixed_timestamps_and_permissions(source_tree: Path, tmp_path: Path) -> None:
    packaged = packaging.build_all(source_tree, tmp_path / "out")

    with zipfile.ZipFile(packaged[0].zip_path) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert (info.external_attr >> 16) & 0o777 == 0o644
            assert info.compress_type == zipfile.ZIP_DEFLATED


def test_building_twice_gives_identical_bytes(source_tree: Path, tmp_path: Path) -> None:
    first = packaging.build_all(source_tree, tmp_path / "first")
    # Touch every file: modification times must not leak into the zip.
    for path in source_tree.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
    second = packaging.build_all(source_tree, tmp_path / "second")

    for one, other in zip(first, second, strict=True):
        assert one.zip_path.read_bytes() == other.zip_path.read_bytes()
        assert one.sha256 == other.sha256 == hashlib.sha256(one.zip_path.read_bytes()).hexdigest()


def test_a_code_change_changes_the_hash_of_every_zip(source_tree: Path, tmp_path: Path) -> None:
    before = {function.name: function.sha256 for function in packaging.build_all(source_tree, tmp_path / "a")}
    write(source_tree / "shared" / "settings.py", "X = 2\n")
    after = {function.name: function.sha256 for function in packaging.build_all(source_tree, tmp_path / "b")}

    assert before.keys() == after.keys()
    assert all(before[name] != after[name] for name in before)


def test_a_function_change_changes_only_its_own_zip(source_tree: Path, tmp_path: Path) -> None:
    before = {function.name: function.sha256 for function in packaging.build_all(source_tree, tmp_path / "a")}
    write(source_tree / "functions" / "clean" / "main.py", "def clean(event):\n    return 1\n")
    write(source_tree / "functions" / "drift" / "notes.txt", "changed, but not shipped\n")
    after = {function.name: function.sha256 for function in packaging.build_all(source_tree, tmp_path / "b")}

    assert before["clean"] != after["clean"]
    assert before["drift"] == after["drift"]


def test_a_folder_without_main_py_fails_clearly_and_writes_nothing(source_tree: Path, tmp_path: Path) -> None:
    (source_tree / "functions" / "score").mkdir()
    out_dir = tmp_path / "out"

    with pytest.raises(PackagingError, match=r"functions/score/main\.py missing"):
        packaging.build_all(source_tree, out_dir)
    assert not out_dir.exists()


def test_cli_prints_each_zip_path_and_its_sha256(source_tree: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "dist" / "functions"
    result = subprocess.run(
        [sys.executable, "-m", "shared.local.packaging", "--out", str(out_dir), "--root", str(source_tree)],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, ["clean", "drift"], strict=True):
        zip_path_text, digest_field = line.split(" sha256=")
        zip_path = Path(zip_path_text)
        assert zip_path == out_dir / f"{name}.zip"
        assert digest_field == hashlib.sha256(zip_path.read_bytes()).hexdigest()


def test_cli_reports_a_missing_entry_point_on_stderr(source_tree: Path, tmp_path: Path) -> None:
    (source_tree / "functions" / "drift" / "main.py").unlink()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.local.packaging",
            "--out",
            str(tmp_path / "out"),
            "--root",
            str(source_tree),
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "functions/drift/main.py missing" in result.stderr
    assert result.stdout == ""
