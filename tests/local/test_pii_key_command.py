"""`dropscore key new` and what `contract infer` tells the user about personal columns (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.ingest.pii import MIN_KEY_CHARS, PiiHasher
from shared.local.cli import main

ROWS = "cedula;correo;monto;compro\n1710034065;a@b.ec;12,5;si\n0912345675;c@d.ec;3,1;no\n1710034065;e@f.ec;4,0;no\n0912345675;g@h.ec;5,5;si\n"


def test_key_new_prints_one_export_line_of_a_usable_random_key(capsys: pytest.CaptureFixture[str]) -> None:
    keys = set()
    for _ in range(2):
        assert main(["key", "new"]) == 0
        captured = capsys.readouterr()
        (line,) = captured.out.splitlines()  # only the line, so `>> env` stores nothing else
        assert line.startswith("export DROPSCORE_PII_KEY=")
        key = line.split("=", 1)[1]
        assert len(key) >= MIN_KEY_CHARS
        PiiHasher(key)  # accepted by the hasher
        assert "Secret Manager" in captured.err and "Guarde" in captured.err  # advice in one language, on stderr
        keys.add(key)
    assert len(keys) == 2


def test_key_new_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "new", "--json", "--lang", "en"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["variable"] == "DROPSCORE_PII_KEY" and len(result["key"]) >= MIN_KEY_CHARS
    assert captured.err == ""


@pytest.mark.parametrize("language, expected", [("es", "el nombre contiene «cedula»"), ("en", "the name contains 'cedula'")])
def test_contract_infer_names_personal_columns_and_how_to_make_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], language: str, expected: str
) -> None:
    monkeypatch.delenv("DROPSCORE_PII_KEY", raising=False)
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    source = tmp_path / "clientes.csv"
    source.write_text(ROWS, encoding="utf-8")
    assert main(["contract", "infer", str(source), "--target", "compro", "-o", str(tmp_path / "c.yaml"), "--lang", language]) == 0
    err = capsys.readouterr().err
    assert "cedula, correo" in err and expected in err
    assert "dropscore key new" in err
    other = "the name contains" if language == "es" else "el nombre contiene"
    assert other not in err  # one language at a time

    assert main(["contract", "infer", str(source), "--target", "compro", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["personal_columns"] == ["cedula", "correo"]
    assert "dropscore key new" not in captured.out


def test_contract_infer_says_nothing_of_a_key_that_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DROPSCORE_PII_KEY", "k" * 32)
    monkeypatch.setenv("DROPSCORE_HOME", str(tmp_path / "home"))
    source = tmp_path / "clientes.csv"
    source.write_text(ROWS, encoding="utf-8")
    assert main(["contract", "infer", str(source), "--target", "compro", "-o", str(tmp_path / "c.yaml")]) == 0
    err = capsys.readouterr().err
    assert "cedula, correo" in err and "dropscore key new" not in err
