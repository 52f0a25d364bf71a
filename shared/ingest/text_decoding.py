"""Decode the bytes of a file whose encoding may change from one line to the next.

Files are glued together from several sources: a UTF-8 export with one line pasted from a
Windows-1252 system, or a cp1252 file with a few lines typed on a Mac. Sniffing the first
64 KiB and decoding everything with one codec turns the minority into mojibake
("AgrÃ\xadcola", "Pe\ufffda") that then matches no category and is scored as missing. So
the decision is taken per line: a line that is valid UTF-8 is UTF-8, any other line is in the
legacy code page (cp1252; latin-1 for the five bytes cp1252 leaves undefined).

Why not charset-normalizer per line: it guesses from the statistics of a whole payload and is
unreliable on a 60-byte line, while UTF-8 validity is a near-certain test (a cp1252 line is
valid UTF-8 only when an accented capital is followed by one of a few punctuation marks).
For that rare case, a line of a file sniffed as cp1252 is read as UTF-8 only when every
non-ASCII character it would give is one a Latin-script file holds.

Speed: whole blocks are decoded at C speed whenever they are ASCII, valid UTF-8, or (in a
legacy file) hold no UTF-8 sequence at all; only a block that really mixes is decoded line
by line.
"""

from __future__ import annotations

import re

import numpy as np

LEGACY = "cp1252"
UTF8 = "utf-8"
_HIGH_LINE = re.compile(rb"[\x80-\xff][^\n]*")
# Characters a Latin-script business file holds beyond ASCII: Latin-1 and Latin Extended letters,
# combining accents (macOS writes decomposed ones), general punctuation, the euro sign, a BOM.
_LATIN_TEXT = re.compile("[\u0000-\u024f\u0300-\u036f\u2000-\u206f\u20ac\ufeff]*")


def _has_utf8_sequence(block: bytes) -> bool:
    """Whether a UTF-8 lead byte is followed by a continuation byte somewhere in ``block``: a block
    that is not valid UTF-8 but holds such pairs mixes encodings. Vectorized: a regular expression
    scanning every byte costs 30 ms a MiB, this a third of one."""
    data = np.frombuffer(block, dtype=np.uint8)
    leads = np.flatnonzero(data[:-1] >= 0xC2)
    if not len(leads):
        return False
    following = data[leads + 1]
    return bool(((data[leads] <= 0xF4) & (following >= 0x80) & (following <= 0xBF)).any())


def _legacy(line: bytes) -> str:
    try:
        return line.decode(LEGACY)
    except UnicodeDecodeError:
        return line.decode("latin-1")  # every byte maps: nothing is lost


def mostly_utf8(head: bytes) -> bool:
    """Whether more lines of ``head`` with non-ASCII bytes are UTF-8 than not (the file's main encoding)."""
    utf8 = legacy = 0
    for line in head.splitlines()[:-1] or head.splitlines():  # the last line may be cut by the sniff window
        if line.isascii():
            continue
        try:
            line.decode(UTF8)
            utf8 += 1
        except UnicodeDecodeError:
            legacy += 1
    return utf8 > legacy


class LineWiseDecoder:
    """An incremental decoder (``decode(data, final)``) choosing UTF-8 or cp1252 for each line.

    ``legacy_file``: the file was sniffed as cp1252/latin-1, so a valid-UTF-8 line must also
    look like Latin text to be read as UTF-8. :attr:`minority_lines` counts the lines read in
    the encoding the file was not sniffed as (what the manifest reports).
    """

    def __init__(self, *, legacy_file: bool) -> None:
        self._legacy_file = legacy_file
        self._pending = b""
        self.majority = LEGACY if legacy_file else UTF8
        self.minority = UTF8 if legacy_file else LEGACY
        self.minority_lines = 0

    def decode(self, data: bytes, final: bool = False) -> str:
        data = self._pending + data
        if final:
            complete, self._pending = data, b""
        else:
            # Lines never split a character: "\n" and "\r" are single bytes in both encodings.
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            complete, self._pending = data[:cut], data[cut:]
        if not complete or complete.isascii():
            return complete.decode("ascii")
        try:
            text = complete.decode(UTF8)
        except UnicodeDecodeError:
            if not _has_utf8_sequence(complete):
                if not self._legacy_file:
                    self.minority_lines += len(_HIGH_LINE.findall(complete))
                return _legacy(complete)
            return self._by_line(complete)
        if self._legacy_file:
            if not _LATIN_TEXT.fullmatch(text):
                return self._by_line(complete)
            self.minority_lines += len(_HIGH_LINE.findall(complete))
        return text

    def _by_line(self, block: bytes) -> str:
        decoded = []
        for line in block.splitlines(keepends=True):
            if line.isascii():
                decoded.append(line.decode("ascii"))
                continue
            try:
                text = line.decode(UTF8)
                if not self._legacy_file or _LATIN_TEXT.fullmatch(text):
                    decoded.append(text)
                    self.minority_lines += self._legacy_file
                    continue
            except UnicodeDecodeError:
                pass
            decoded.append(_legacy(line))
            self.minority_lines += not self._legacy_file
        return "".join(decoded)
