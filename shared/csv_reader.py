"""Read the CSV files people really send, as a stream of string chunks.

Files come from Spanish-locale Excel and old systems: cp1252 or UTF-8 (with or without
BOM), ``;`` or ``,`` or tab or ``|`` as delimiter. We sniff the first block of bytes,
then hand pandas a text stream so the whole file is never held in memory. Every value
is read as text: typing happens against the contract, where a failure can be
quarantined with its reason instead of silently becoming NaN.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pandas as pd

from shared.errors import BadInputError

SNIFF_BYTES = 64 * 1024
DEFAULT_CHUNK_ROWS = 50_000
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
# Tokens people and systems use for "no value"; compared after stripping spaces.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "sin dato", "s/d"})


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Decode bytes that are not UTF-8 as cp1252.

    The encoding is sniffed on the head only: a cp1252 export whose first accent comes after the
    first 64 KiB looks like UTF-8 there, and "Peña" further down must not become "Pe\ufffda".
    """
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return bytes(error.object[error.start : error.end]).decode("cp1252", errors="replace"), error.end


_UTF8_FALLBACK_ERRORS = "dropscore-cp1252-fallback"
codecs.register_error(_UTF8_FALLBACK_ERRORS, _cp1252_fallback)


@dataclass(frozen=True)
class CsvDialect:
    encoding: str       # python codec name used to decode
    delimiter: str
    has_bom: bool


class _ChainedStream(io.RawIOBase):
    """The sniffed head followed by the rest of the original stream, as one readable stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head.nbytes:
            size = min(len(buffer), self._head.nbytes)
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        return len(data)


def detect_encoding(head: bytes) -> tuple[str, bool]:
    """Return (codec, has_bom). UTF-8 when the head decodes as UTF-8, otherwise cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    try:
        head.decode("utf-8")
        return "utf-8", False
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8", False
    try:
        head.decode("cp1252")
        return "cp1252", False
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps every byte, so nothing is lost.
        return "latin-1", False


def detect_delimiter(sample_text: str) -> str:
    """Pick the candidate that splits the first lines into the same, largest number of fields."""
    lines = [line for line in sample_text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for candidate in CANDIDATE_DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines[:10])), delimiter=candidate))
        except csv.Error:
            continue
        header_fields = len(rows[0]) if rows else 0
        if header_fields < 2:
            continue
        consistent = sum(1 for row in rows if len(row) == header_fields)
        score = (consistent, header_fields)
        if score > best_score:
            best, best_score = candidate, score
    return best


def sniff(head: bytes) -> CsvDialect:
    if not head.strip():
        raise BadInputError("empty_file", "El archivo está vacío.", "The file is empty.")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadInputError(
            "not_text",
            "El archivo no es texto (parece binario, por ejemplo un .xlsx). Guárdelo como CSV.",
            "The file is not text (it looks binary, e.g. an .xlsx). Save it as CSV.",
        )
    encoding, has_bom = detect_encoding(head)
    text = head.decode(encoding, errors="ignore")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise BadInputError("empty_file", "El archivo está vacío.", "The file is empty.")
    return CsvDialect(encoding=encoding, delimiter=detect_delimiter(text), has_bom=has_bom)


class CsvChunks:
    """Iterate a CSV object as pandas frames of strings (missing values as ``pd.NA``)."""

    def __init__(self, stream: BinaryIO, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        head = stream.read(SNIFF_BYTES)
        self.dialect = sniff(head)
        raw = io.BufferedReader(_ChainedStream(head, stream), buffer_size=1 << 20)
        errors = _UTF8_FALLBACK_ERRORS if self.dialect.encoding.startswith("utf-8") else "replace"
        self._text = io.TextIOWrapper(raw, encoding=self.dialect.encoding, errors=errors, newline="")
        try:
            self._reader = pd.read_csv(
                self._text,
                sep=self.dialect.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                chunksize=chunk_rows,
                skipinitialspace=False,
                # Never take the first column as the index when rows carry one more field than the
                # header (Excel's trailing ";"): that would shift every value one column left.
                index_col=False,
                on_bad_lines="error",  # a ragged row fails the file loudly rather than vanish
                engine="c",
            )
        except pd.errors.EmptyDataError as exc:
            raise BadInputError("empty_file", "El archivo está vacío.", "The file is empty.") from exc
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise BadInputError(
                "not_csv",
                f"No se pudo leer el archivo como CSV: {exc}",
                f"The file could not be read as CSV: {exc}",
            ) from exc

    def __iter__(self) -> Iterator[pd.DataFrame]:
        try:
            for chunk in self._reader:
                if len(chunk):  # a header-only file yields one empty frame: that is "no rows", not a batch
                    yield clean_strings(chunk)
        except pd.errors.ParserError as exc:
            raise BadInputError(
                "not_csv",
                f"El archivo tiene filas que no se pueden leer como CSV: {exc}",
                f"The file has rows that cannot be read as CSV: {exc}",
            ) from exc


def clean_strings(chunk: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces, turn missing-value tokens into NA, drop trailing unnamed empty columns."""
    chunk = chunk.rename(columns=lambda c: str(c).lstrip("\ufeff").strip())
    unnamed_empty = [
        c for c in chunk.columns if (c == "" or c.startswith("Unnamed:")) and (chunk[c].str.strip() == "").all()
    ]
    chunk = chunk.drop(columns=unnamed_empty)
    out = {}
    for column in chunk.columns:
        values = chunk[column].astype("string").str.strip()
        out[column] = values.mask(values.str.lower().isin(MISSING_TOKENS))
    return pd.DataFrame(out, index=chunk.index)


def read_whole(stream: BinaryIO) -> tuple[pd.DataFrame, CsvDialect]:
    """Read a (training-size) file completely; used where the whole table is needed anyway."""
    chunks = CsvChunks(stream)
    frames = list(chunks)
    if not frames:
        raise BadInputError("no_rows", "El archivo solo tiene encabezado, sin filas.", "The file has a header but no rows.")
    return pd.concat(frames, ignore_index=True), chunks.dialect
