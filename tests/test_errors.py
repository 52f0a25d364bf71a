"""shared/errors.py is the one home of dropscore's exceptions, and declares only errors that happen."""

from __future__ import annotations

import ast
from pathlib import Path

import shared.errors as errors

SHARED = Path(__file__).resolve().parents[1] / "shared"
ERRORS = SHARED / "errors.py"

# The CLI's failures carry an exit code and a catalogue message: presentation of an error to a
# terminal, built from any of the errors below, not an error a step raises.
PRESENTATION = {"shared/local/cli_errors.py"}


def _exception_classes(tree: ast.AST) -> list[ast.ClassDef]:
    """Classes whose bases name an exception (…Error, …Exception, or another of these classes)."""
    found: list[ast.ClassDef] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base).rpartition(".")[2] for base in node.bases]
            if any(base.endswith(("Error", "Exception")) or base in {"Exception", "BaseException"} for base in bases):
                found.append(node)
    return found


def test_every_exception_of_dropscore_is_declared_in_errors_py() -> None:
    elsewhere = []
    for path in sorted(SHARED.rglob("*.py")):
        relative = path.relative_to(SHARED.parent).as_posix()
        if path == ERRORS or relative in PRESENTATION:
            continue
        for node in _exception_classes(ast.parse(path.read_text(encoding="utf-8"))):
            if node.name.startswith("_"):
                continue  # a module's private signal between two of its own functions, never raised out of it
            elsewhere.append(f"{relative}:{node.lineno} {node.name}")
    assert elsewhere == [], "exceptions declared outside shared/errors.py"


def test_every_declared_error_is_raised_or_built_somewhere() -> None:
    declared = {node.name: node for node in _exception_classes(ast.parse(ERRORS.read_text(encoding="utf-8")))}
    bases = {ast.unparse(base) for node in declared.values() for base in node.bases}
    used: set[str] = set()
    for path in SHARED.rglob("*.py"):
        if path == ERRORS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                used.add(ast.unparse(node.func).rpartition(".")[2])
            elif isinstance(node, ast.ClassDef):
                used.update(ast.unparse(base).rpartition(".")[2] for base in node.bases)
    unused = sorted(name for name in declared if name not in used and name not in bases)
    assert unused == [], "errors declared but never raised: delete them"


def test_the_family_splits_into_permanent_and_transient() -> None:
    """Every error a step can raise says which way the platform must go (shared.handlers reads this)."""
    undecided = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.DropscoreError)
        and value is not errors.DropscoreError
        and not issubclass(value, (errors.PermanentError, errors.TransientError))
    ]
    assert undecided == []
