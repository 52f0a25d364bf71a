"""One message catalogue: every sentence a business user reads lives in shared/i18n/, in both languages."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from shared.i18n import CATALOGUES, MESSAGES, _merged

SHARED = Path(__file__).resolve().parents[1] / "shared"

# A string literal reads as Spanish prose when it carries Spanish letters or punctuation, or one of
# the words every Spanish sentence of ours uses. Docstrings are for developers and do not count.
SPANISH = re.compile(r"[áéíóúñÁÉÍÓÚÑ¿¡]|\b(el|los|las|del|una|archivo|fila|filas|columna|modelo|para|está|según)\b")

# Modules whose Spanish literals are data, not sentences to a reader (each with the reason).
DATA_NOT_SENTENCES: dict[str, str] = {
    "shared.local.survey_vocabulary": "the demo survey's own answers (provinces like «Manabí»), not messages",
    "shared.local.synthetic": "the demo's planted bad value «mil dólares» (sales written in words), a cell, not a message",
    "shared.ingest.vocabulary": "words matched in what people write (header words that name personal data, "
    "«sí» as a positive class or a YAML true, «sin dato» as a missing value), never shown",
}



def _module(path: Path) -> str:
    parts = path.relative_to(SHARED.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def spanish_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings and SPANISH.search(node.value)
    ]


def modules_outside_the_catalogue() -> dict[str, Path]:
    return {_module(path): path for path in sorted(SHARED.rglob("*.py")) if "i18n" not in path.relative_to(SHARED).parts}


@pytest.mark.parametrize("module", sorted(modules_outside_the_catalogue()))
def test_sentences_live_in_the_catalogue(module: str) -> None:
    found = spanish_literals(modules_outside_the_catalogue()[module])
    if module in DATA_NOT_SENTENCES:
        return
    assert found == [], f"{module} writes sentences of its own; put them in shared/i18n/"


def test_the_detector_sees_spanish_and_not_english(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docstring: el archivo."""\nA = "La fila está vacía."\nB = "The row is empty."\nC = f"{x} filas"\n', encoding="utf-8")
    assert spanish_literals(sample) == ["La fila está vacía.", " filas"]


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for code, (spanish, english) in MESSAGES.items():
        assert spanish and english, code
        assert spanish != english, f"{code}: the Spanish text is the English one"
        # reason_es / reason_en style placeholders carry the language in their name
        assert {f.removesuffix("_es") for f in fields(spanish)} == {f.removesuffix("_en") for f in fields(english)}, code


def test_a_code_lives_in_one_catalogue_only() -> None:
    assert sum(len(catalogue) for catalogue in CATALOGUES.values()) == len(MESSAGES)
    with pytest.raises(RuntimeError, match="defined twice"):
        _merged({"a": {"x": ("uno", "one")}, "b": {"x": ("dos", "two")}})
