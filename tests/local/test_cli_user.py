"""The `dropscore` command driven as a person (and a script) drives it: a real subprocess each time.

Every run is checked for the same promises: no Python traceback, the documented exit code
(shared.local.cli_errors.ExitCode), with --json exactly one JSON object on stdout (errors too, with a
stable ``code`` and both languages), and the words on the terminal in one language only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.local.cli_errors import ExitCode
from tests.local.test_cli import _churn_frame

SCRIPT = Path(sys.executable).with_name("dropscore")

# Words that only one of the two languages uses in our messages (and argparse's).
ENGLISH_ONLY = re.compile(r"\b(the|is not|does not|required|arguments|usage|Did you mean|file|rows|champion|exists|not promoted)\b")
SPANISH_ONLY = re.compile(r"«|¿|\b(el|la|los|las|archivo|filas|campeón|existe|uso|no se promovió)\b")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"--json must print exactly one line on stdout, got {self.stdout[:800]!r}"
        value = json.loads(lines[0])
        assert isinstance(value, dict)
        return value


def dropscore(home: Path, *argv: str, cwd: Path | None = None) -> Run:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DROPSCORE_", "MLFLOW_"))}
    environment["DROPSCORE_HOME"] = str(home)
    result = subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, timeout=300, env=environment, cwd=cwd or home.parent)
    run = Run(result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in run.text, run.text
    return run


def in_a_terminal(home: Path, *argv: str) -> tuple[Run, str]:
    """Run with stderr on a pseudo-terminal (what a person sees) and stdout on a pipe (what a script reads)."""
    import fcntl
    import pty
    import struct
    import termios

    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DROPSCORE_", "MLFLOW_"))}
    environment["DROPSCORE_HOME"] = str(home)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen([str(SCRIPT), *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, env=environment, cwd=home.parent)
    os.close(terminal)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        seen += chunk
    stdout = process.stdout.read().decode("utf-8") if process.stdout else ""
    process.wait(timeout=300)
    os.close(controller)
    text = seen.decode("utf-8", "replace").replace("\r", "\n")
    assert "Traceback" not in text
    return Run(process.returncode, stdout, text), text


def assert_language(text: str, language: str) -> None:
    # paths, file names and option names are not words of either language
    words = re.sub(r"(\S*[/\\]\S*|\S+\.(csv|yaml|json|html)\b|--[\w-]+|'[^']*'|«[^»]*»|\{[^}]*\})", " ", text)
    if language == "es":
        found = ENGLISH_ONLY.findall(words)
        assert not found, f"English words {found} in a Spanish message: {text}"
    else:
        found = SPANISH_ONLY.findall(text.replace("«", "").replace("»", "") if False else words)
        assert not found, f"Spanish words {found} in an English message: {text}"


def assert_json_error(run: Run, code: str, exit_code: ExitCode, language: str) -> dict:
    assert run.code == exit_code, run.text
    error = run.json()
    assert error["status"] == "error" and error["code"] == code and error["exit_code"] == exit_code
    assert error["message"] == error[f"message_{language}"]
    assert error["message_es"] != error["message_en"]
    assert_language(error["message_es"], "es")
    assert_language(error["message_en"], "en")
    return error


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli_user")
    _churn_frame(1500, seed=1).to_csv(folder / "train.csv", index=False)
    new = _churn_frame(300, seed=2).drop(columns=["Churn"])
    new.loc[4, "Monthly Charges"] = -5  # one row below the contract's minimum: quarantined
    new.to_csv(folder / "new.csv", index=False)
    clean = _churn_frame(200, seed=3).drop(columns=["Churn"])
    clean.to_csv(folder / "clean.csv", index=False)
    (folder / "header_only.csv").write_text("Tenure Months,Contract,Monthly Charges,Tech Support,Start Date\n", encoding="utf-8")
    return folder


def test_user_errors_are_one_sentence_in_one_language_with_the_documented_code(files: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cases = [
        (["score", str(files / "missing.csv"), "-o", str(tmp_path / "o.csv")], "input_not_found", ExitCode.USAGE),
        (["drop", str(files / "missing.csv")], "input_not_found", ExitCode.USAGE),
        (["train", str(files / "train.csv"), "--contract", str(files / "missing.yaml")], "input_not_found", ExitCode.USAGE),
        (["contract", "infer", str(files / "missing.csv"), "--target", "Churn"], "input_not_found", ExitCode.USAGE),
        (["contract", "infer", str(files / "train.csv"), "--target", "Churned"], "unknown_column", ExitCode.USAGE),
        (["contract", "infer", str(files / "train.csv"), "--target", "Churn", "--positive", "Si"], "unknown_positive", ExitCode.USAGE),
        (["score", str(files / "new.csv"), "--ouput", "x.csv"], "usage", ExitCode.USAGE),
        (["scor", str(files / "new.csv")], "usage", ExitCode.USAGE),
        (["promote", "version-one"], "bad_version", ExitCode.USAGE),
        (["score", str(files / "new.csv"), "-o", str(tmp_path / "o.csv")], "no_champion", ExitCode.NOT_READY),
        (["rollback"], "no_previous", ExitCode.NOT_READY),
        (["train", str(files / "train.csv")], "no_contract_no_champion", ExitCode.NOT_READY),
    ]
    for index, (argv, code, exit_code) in enumerate(cases):
        language = ("es", "en")[index % 2]
        # --json: one object holding both languages (checked by assert_json_error)
        error = assert_json_error(dropscore(home, *argv, "--lang", language, "--json"), code, exit_code, language)
        # the terminal: one line on stderr, in the chosen language (the other one every other case)
        other = "en" if language == "es" else "es"
        shown = dropscore(home, *argv, "--lang", other)
        assert shown.code == exit_code and shown.stdout == "", (argv, shown.text)
        message = shown.stderr.strip()
        assert message.startswith("error: "), message
        assert_language(message.removeprefix("error: "), other)
        assert error[f"message_{other}"].splitlines()[0] in message
    typo = dropscore(home, "score", str(files / "new.csv"), "--ouput", "x.csv").stderr
    assert "¿Quiso decir «--output»?" in typo and "uso: dropscore score" in typo
    command = dropscore(home, "scor", "--lang", "en").stderr
    assert "Did you mean 'score'?" in command and "usage: dropscore" in command
    debug = subprocess.run([str(SCRIPT), "score", str(files / "missing.csv"), "-o", "x.csv", "--debug"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "DROPSCORE_HOME": str(home)})  # fmt: skip
    assert debug.returncode == ExitCode.USAGE and "Traceback" in debug.stderr, "--debug shows the traceback"


@pytest.mark.parametrize("language", ["es", "en"])
def test_help_speaks_the_language_and_documents_every_exit_code(tmp_path: Path, language: str) -> None:
    for argv in ([], ["score"], ["contract", "infer"], ["promote"]):
        shown = dropscore(tmp_path / "home", *argv, "--help", "--lang", language)
        assert shown.code == 0
        assert ("uso: dropscore" if language == "es" else "usage: dropscore") in shown.stdout
        assert ("Códigos de salida" if language == "es" else "Exit codes") in shown.stdout
        for code in ExitCode:
            assert re.search(rf"^\s+{int(code)}\s+\S", shown.stdout, re.MULTILINE), f"exit code {int(code)} undocumented"
        if language == "es":
            assert "show this help" not in shown.stdout and "muestra esta ayuda" in shown.stdout
            assert "positional arguments" not in shown.stdout


def test_a_model_that_failed_its_gates_then_every_file_outcome(files: Path, tmp_path: Path) -> None:
    """One home, the story a new user lives: v1 fails its gates, is explained, promoted by hand, then files."""
    home = tmp_path / "home"
    contract = tmp_path / "contract.yaml"
    assert dropscore(home, "contract", "infer", str(files / "train.csv"), "--target", "Churn", "-o", str(contract)).code == 0
    strict = tmp_path / "strict.yaml"
    strict.write_text(re.sub(r"roc_auc: [0-9.]+", "roc_auc: 0.995", contract.read_text(encoding="utf-8")), encoding="utf-8")

    # on a terminal: progress on stderr (in Spanish), still exactly one JSON object on stdout
    trained, terminal = in_a_terminal(home, "train", str(files / "train.csv"), "--contract", str(strict), "--time-budget", "2", "--json")
    assert trained.code == ExitCode.OK and trained.json()["promoted"] is False
    for label in ("Leyendo y validando filas", "Probando configuraciones del modelo", "Registrando el modelo en MLflow"):
        assert label in terminal, f"no '{label}' progress on the terminal: {terminal[-800:]!r}"
    assert "INFO" not in terminal and "Warning" not in terminal and "Downloading artifacts" not in terminal, f"library noise: {terminal[-800:]}"
    assert_language(re.sub(r"\S*\d\S*|[|█▏▎▍▌▋▊▉…\[\]]", " ", terminal), "es")

    # scoring before any champion says v1 exists, why it was not promoted and how to promote it
    for language in ("es", "en"):
        refused = dropscore(home, "score", str(files / "new.csv"), "-o", str(tmp_path / "p.csv"), "--lang", language, "--json")
        error = assert_json_error(refused, "not_promoted", ExitCode.NOT_READY, language)
        assert "v1" in error["message"] and "dropscore promote 1 --force" in error["message"]
        assert ("ROC-AUC 0,9" if language == "es" else "ROC-AUC 0.9") in error["message"], "the failed gate, in the reader's numbers"

    gates = dropscore(home, "promote", "v1")
    assert gates.code == ExitCode.NOT_READY and "--force" in gates.stderr
    forced = dropscore(home, "promote", "v1", "--force")
    assert forced.code == ExitCode.OK and "None" not in forced.text
    assert forced.stdout.strip() == "v1 es ahora el campeón (no había uno antes)."

    events_before = _model_events(home)
    again = dropscore(home, "promote", "1", "--json")
    assert again.code == ExitCode.OK and again.json()["unchanged"] is True and again.json()["promoted"] is False
    assert _model_events(home) == events_before, "a no-op promote records no event (it would re-arm the rollback watch)"
    assert "ya es el campeón" in dropscore(home, "promote", "v1").stdout

    # files: all good (0), some rows quarantined (3), rejected (4)
    clean = dropscore(home, "score", str(files / "clean.csv"), "-o", str(tmp_path / "clean.predictions.csv"), "--json")
    assert clean.code == ExitCode.OK and clean.json()["rows_quarantined"] == 0
    partial = dropscore(home, "score", str(files / "new.csv"), "-o", str(tmp_path / "new.predictions.csv"), "--json")
    assert partial.code == ExitCode.ROWS_QUARANTINED and partial.json()["rows_quarantined"] == 1
    quarantine = Path(partial.json()["quarantine"]).read_text(encoding="utf-8-sig")
    assert "El valor -5.0 de «Monthly Charges» es menor que el mínimo permitido (0)." in quarantine
    assert ",'" not in quarantine and ";'" not in quarantine, "no formula-guard apostrophe before a sentence"
    shown = dropscore(home, "drop", str(files / "new.csv"))
    assert shown.code == ExitCode.ROWS_QUARANTINED
    assert "Puntuando" not in shown.stderr and "%|" not in shown.stderr, "no progress bars into a pipe"
    _, english_terminal = in_a_terminal(home, "report", "--lang", "en")
    assert "Building the dashboard" in english_terminal and "Construyendo" not in english_terminal
    assert shown.stdout.splitlines()[0] == "Filas: 300 recibidas, 299 puntuadas, 1 en cuarentena."

    rejected = dropscore(home, "score", str(files / "header_only.csv"), "-o", str(tmp_path / "h.csv"), "--json")
    assert rejected.code == ExitCode.FILE_REJECTED
    body = rejected.json()
    assert body["status"] == "rejected" and body["code"] == "no_rows" and body["message_es"] and body["message_en"]
    report = Path(body["quarantine"]).read_text(encoding="utf-8")
    assert "dropscore-direct-" not in report, "the report names the user's file, not a deleted scratch folder"
    assert json.loads(report)["source_uri"] == str((files / "header_only.csv").resolve())
    assert dropscore(home, "drop", str(files / "header_only.csv"), "--lang", "en").code == ExitCode.FILE_REJECTED

    labels = tmp_path / "labels.csv"
    labels.write_text("row_id,Churn\nclean-2,Yes\nclean-3,No\n", encoding="utf-8")
    for language, words in (("es", "guardadas como resultados reales (etiquetas)"), ("en", "kept as real outcomes (labels)")):
        dropped = dropscore(home, "drop", str(labels), "--kind", "labels", "--lang", language)
        assert dropped.code == ExitCode.OK and words in dropped.stdout, dropped.text
        assert "predic" not in dropped.stdout.lower()
        assert_language(re.sub(r"file://\S+", "", dropped.stdout), language)


def _model_events(home: Path) -> int:
    from shared.backends import services
    from shared.settings import load_settings

    settings = load_settings({"DROPSCORE_HOME": str(home)})
    try:
        return len(services.warehouse(settings).read("model_events"))
    finally:
        services.reset()
