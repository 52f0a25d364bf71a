"""Find personal data the contract does not name, and say why: one detector for ``contract infer``
and for every file people read (quarantine CSV, predictions passthrough, reports).

Two rules, each with its false-positive reasoning (docs/data-protection.md repeats them):

1. **A column is personal** when its *name* says so — a word of :data:`shared.ingest.vocabulary.PERSONAL_NAME_WORDS` (Spanish and
   English, accents and case ignored, as a token inside names like ``cedula_conyuge`` or
   ``TELF_CONTACTO``), unless a qualifier of :data:`~shared.ingest.vocabulary.NOT_A_PERSON_WORDS` makes it about a thing
   (``nombre_producto``, ``tipo_telefono``) — or when at least :data:`PERSONAL_VALUE_SHARE` of its
   non-empty values *look* personal: a cédula or RUC with a valid check digit (python-stdnum), an
   e-mail address, an Ecuadorian phone number. Why a share and not "any value": a random 10-digit
   number passes the cédula check about 1.3-1.8 % of the time and a random 13-digit one the RUC
   check about 2 %, so a column of account or invoice numbers has a few "cédulas" by chance. With
   a 50 % share, such a column of n values is judged personal with probability
   P(Binomial(n, 0.025) >= n/2): 2.5 % for a single value, 0.2 % for 3, below 1e-6 for 10.
2. **A single cell is masked** wherever it is copied for people and its column is not personal
   as a whole, when it holds an e-mail address, an Ecuadorian phone number, or a 10/13-digit number
   standing alone (not part of an amount such as ``1234567890,50``) that passes the cédula/RUC
   check. False positives: only such 10/13-digit numbers, the 1.3-2.5 % of them that pass by
   chance; amounts with decimals, dates, codes with letters and numbers of other lengths never
   are. A masked cell costs readability (the row number still leads to the original); a leaked
   one is a data breach.

Everything here is a pure function of its input except :class:`PersonalDataMasker`, which keeps
one file's column judgements across its chunks (once personal, always personal for that file).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from shared.i18n import message
from shared.ingest.column_names import normalize_name
from shared.ingest.identifiers import check_identifiers, is_valid
from shared.ingest.pii import PiiHasher
from shared.ingest.vocabulary import NOT_A_PERSON_WORDS, PERSONAL_NAME_TOKENS, PERSONAL_NAME_WORDS

MASKED_VALUE = "***"
PERSONAL_VALUE_SHARE = 0.5      # rule 1: share of a column's non-empty values that must look personal
VALUES_JUDGED = 1000            # non-empty values of a column looked at per chunk (the first ones)

# Local parts and domains in any script ("josé@", "peña@"): \w is Unicode-aware.
_EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}"
_EMAIL_WHOLE = re.compile(rf"^{_EMAIL}$")
# A number standing alone: not glued to letters, digits or an amount's decimal/thousands mark.
_ALONE_BEFORE, _ALONE_AFTER = r"(?<![\w.,+\-/])", r"(?![\w/]|[.,\-]\d)"
# Area codes in parentheses only when closed: "(02) 234-5678"; a lone "(" is text around the number.
# Digits may be grouped by a space, a dot or a dash, in any grouping ("0912 345 675", "091.234.567-5",
# "099.123.4567", "+593 (9) 912-34567"): the spans only find candidates, the digits decide (below).
_PHONE_INTERNATIONAL = r"(?:\+|00)?593[ .\-]?(?:\(0?\d{1,2}\)|0?\d{1,2})(?:[ .\-]?\d){7,8}"
_PHONE_NATIONAL = r"(?:\(0\d{1,2}\)|0\d{1,2})(?:[ .\-]?\d){6,8}"
_IDENTIFIER = r"\d(?:[ .\-]?\d){9}(?:(?:[ .\-]?\d){3})?"
_SPANS = re.compile(
    rf"(?P<email>{_EMAIL})"
    rf"|{_ALONE_BEFORE}(?P<intl>{_PHONE_INTERNATIONAL}){_ALONE_AFTER}"
    rf"|{_ALONE_BEFORE}(?P<ident>{_IDENTIFIER}){_ALONE_AFTER}"
    rf"|{_ALONE_BEFORE}(?P<national>{_PHONE_NATIONAL}){_ALONE_AFTER}"
)
_MAYBE_PERSONAL = re.compile(r"@|\d[\d \-().]{7,}\d")  # cheap filter before the exact checks
_SEPARATORS = re.compile(r"[ .\-()]")
_SEPARATORS_BUT_DOT = re.compile(r"[ \-()]")


# An amount with thousands marks ("1.234.567.890", "1 234 567 890"): groups of three after the first,
# which never starts with 0 (a landline "022 345 678" does).
_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:([ .,])\d{3})(?:\1\d{3})+")


def _digits(text: str) -> str:
    """The digits of a number written in groups ("091.234.567-5" -> "0912345675"); not digits when the
    text is an amount: thousands marks in threes, or a single "." (a decimal mark: "12345678.90")."""
    if _AMOUNT.fullmatch(text):
        return ""
    return (_SEPARATORS_BUT_DOT if text.count(".") == 1 else _SEPARATORS).sub("", text).removeprefix("+")


def _phone_digits(digits: str) -> bool:
    """Ecuadorian numbers: mobile 09 + 8 digits, landline 0[2-7] + 7, or either after +593 without the 0."""
    if digits.startswith("00593"):
        digits = digits[2:]
    if digits.startswith("593"):
        rest = digits[3:].removeprefix("0")
        return (len(rest) == 9 and rest.startswith("9")) or (len(rest) == 8 and rest[0] in "234567")
    return (len(digits) == 10 and digits.startswith("09")) or (len(digits) == 9 and digits[0] == "0" and digits[1] in "234567")


def value_kind(value: object, *, restore_zero: bool = False) -> str | None:
    """What a whole cell looks like: "cedula", "ruc", "email", "phone" or None.

    ``restore_zero``: also a cédula or RUC whose leading zero Excel dropped (9 or 12 digits); used for whole
    columns only, where the share rule bounds the chance hits.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    if not text or not _MAYBE_PERSONAL.search(text):
        return None
    if "@" in text:
        return "email" if _EMAIL_WHOLE.match(text) else None
    compact = _digits(text)
    if compact.isdigit():
        if len(compact) == 10 and is_valid(compact, "cedula"):
            return "cedula"
        if len(compact) == 13 and is_valid(compact, "ruc"):
            return "ruc"
        if restore_zero and len(compact) == 9 and is_valid("0" + compact, "cedula"):
            return "cedula"
        if restore_zero and len(compact) == 12 and is_valid("0" + compact, "ruc"):
            return "ruc"  # the RUC of provinces 01-09, read from Excel as a number
    if compact.isdigit() and _phone_digits(compact):
        return "phone"
    return None


def _span_is_personal(match: re.Match[str]) -> bool:
    """An e-mail, or digits (separators aside) that are an Ecuadorian phone or a valid cédula / RUC."""
    if match.group("email"):
        return True
    digits = _digits(match.group(0))
    if not digits.isdigit():
        return False
    return _phone_digits(digits) or (len(digits) == 10 and is_valid(digits, "cedula")) or (len(digits) == 13 and is_valid(digits, "ruc"))


def mask_text(value: str) -> str:
    """The text with every e-mail, Ecuadorian phone and valid cédula/RUC in it replaced by ``***`` (rule 2)."""
    if not _MAYBE_PERSONAL.search(value):
        return value
    return _SPANS.sub(lambda m: MASKED_VALUE if _span_is_personal(m) else m.group(0), value)


def mask_cells(values: pd.Series) -> pd.Series:
    """:func:`mask_text` over a column; missing stays missing, each distinct value is checked once."""
    text = values.astype("string")
    candidates = text.str.contains(_MAYBE_PERSONAL, na=False)
    if not candidates.any():
        return text
    masked = {value: mask_text(value) for value in text[candidates].unique()}
    return text.where(~candidates, text.map(masked).astype("string"))


def personal_name_word(column: str) -> str | None:
    """The word of the column's name that makes it personal (rule 1), or None."""
    tokens = [t for t in normalize_name(column).split("_") if t]
    if any(t in NOT_A_PERSON_WORDS for t in tokens):
        return None
    joined = "".join(tokens)  # "e_mail", "tel_f" and "first_name" read as one word too
    for token in [*tokens, joined]:
        if token in PERSONAL_NAME_TOKENS or token.startswith(PERSONAL_NAME_WORDS):
            return token
    return None


@dataclass(frozen=True)
class PersonalJudgement:
    """Whether a column holds personal data, and why."""

    column: str
    personal: bool
    by: str | None = None        # "name" | "values" | None
    word: str | None = None      # the name token that matched
    kind: str | None = None      # the commonest personal kind among the values: cedula | ruc | email | phone
    share: float = 0.0           # share of the non-empty values looked at that look personal
    checked: int = 0             # non-empty values looked at

    def reason(self, language: str = "es") -> str:
        if self.by == "name":
            return message("personal_by_name", language, word=self.word)
        if self.by == "values":
            kinds = message(f"personal_kind_{self.kind or 'cedula'}", language)
            return message("personal_by_values", language, share=f"{self.share:.0%}", kinds=kinds)
        return message("not_personal", language)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"reason_es": self.reason("es"), "reason_en": self.reason("en")}


def judge_column(column: str, values: pd.Series, *, sample: int = VALUES_JUDGED) -> PersonalJudgement:
    """Rule 1 for one column: by its name, else by the share of its first ``sample`` non-empty values that look personal."""
    word = personal_name_word(column)
    present = values.dropna()
    if pd.api.types.is_float_dtype(present):  # a parsed number: 1710034065.0 is the cédula 1710034065
        whole = present[present == present.round()]
        present = whole.astype("int64").astype("string") if len(whole) == len(present) else present.astype("string")
    present = present.astype("string").str.strip()
    present = present[present != ""].head(sample)
    kinds = pd.Series([value_kind(v, restore_zero=True) for v in present.unique()], index=present.unique(), dtype=object)
    found = present.map(kinds).dropna() if len(present) else pd.Series([], dtype=object)
    share = len(found) / len(present) if len(present) else 0.0
    kind = str(found.value_counts().idxmax()) if len(found) else None
    if word is not None:
        return PersonalJudgement(column, True, "name", word, kind, share, len(present))
    if len(present) and share >= PERSONAL_VALUE_SHARE:
        return PersonalJudgement(column, True, "values", None, kind, share, len(present))
    return PersonalJudgement(column, False, None, None, kind, share, len(present))


@dataclass
class PersonalDataMasker:
    """One file's columns outside the contract: judged chunk by chunk, once personal always personal.

    A personal column leaves as keyed-hash tokens when a key is set (as contracted personal
    columns do, so the same cédula gives the same token), else as ``***``; other columns get
    their personal-looking cells masked (rule 2).
    """

    hasher: PiiHasher | None = None
    judgements: dict[str, PersonalJudgement] = field(default_factory=dict)

    def judge(self, frame: pd.DataFrame, columns: list[str]) -> None:
        for name in columns:
            if name not in frame.columns or (name in self.judgements and self.judgements[name].personal):
                continue
            judgement = judge_column(name, frame[name])
            if judgement.personal or name not in self.judgements:
                self.judgements[name] = judgement

    @property
    def personal_columns(self) -> list[str]:
        return [name for name, judgement in self.judgements.items() if judgement.personal]

    def is_personal(self, name: str) -> bool:
        judgement = self.judgements.get(name)
        return bool(judgement is not None and judgement.personal)

    def mask(self, name: str, values: pd.Series) -> pd.Series:
        """The column as people may see it: tokens or ``***`` when personal, else its personal-looking cells masked."""
        judgement = self.judgements.get(name)
        if judgement is None or not judgement.personal:
            return mask_cells(values)
        text = values.astype("string")
        if self.hasher is None:
            return text.mask(text.notna(), MASKED_VALUE)
        if judgement.kind in ("cedula", "ruc") and judgement.share >= PERSONAL_VALUE_SHARE:
            # Normalized as a contracted cédula is (digits, leading zero restored): the same person, the same token.
            checked = check_identifiers(text, judgement.kind)
            normalized = checked.values.where(~pd.Series(checked.invalid, index=text.index), text)
            valid = pd.Series(~checked.invalid, index=text.index) & text.notna()
            tokens = self.hasher.tokens(normalized, judgement.kind)
            return tokens.where(valid, self.hasher.tokens(text, "text"))
        return self.hasher.tokens(text, "text")

    def summary(self) -> list[dict[str, Any]]:
        """The personal columns found and why (for the manifest)."""
        return [self.judgements[name].to_dict() for name in self.personal_columns]
