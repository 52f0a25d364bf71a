"""Every sentence a business user reads, in Spanish and English, in one place: this package.

The catalogue is split by what the sentences are about (one module each, a dict of
code -> (es, en)); ``MESSAGES`` is all of them, and a code may live in only one module
(tests/test_i18n.py checks it, and that no other module of shared/ writes Spanish sentences).
"""

from __future__ import annotations

from shared.i18n.cli import CLI
from shared.i18n.files import FILES
from shared.i18n.models import MODELS
from shared.i18n.monitoring import MONITORING
from shared.i18n.platform import PLATFORM
from shared.i18n.registry import REGISTRY
from shared.i18n.steps import STEPS

CATALOGUES: dict[str, dict[str, tuple[str, str]]] = {
    "files": FILES,
    "models": MODELS,
    "monitoring": MONITORING,
    "platform": PLATFORM,
    "cli": CLI,
    "registry": REGISTRY,
    "steps": STEPS,
}


def _merged(catalogues: dict[str, dict[str, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for name, catalogue in catalogues.items():
        clash = sorted(merged.keys() & catalogue.keys())
        if clash:
            raise RuntimeError(f"message codes defined twice (again in shared/i18n/{name}.py): {clash}")
        merged.update(catalogue)
    return merged


MESSAGES: dict[str, tuple[str, str]] = _merged(CATALOGUES)


# What a locale means for the files people send: decimal mark and date order (CLDR conventions).
# Spanish-speaking regions that write 1,234.56 (the rest, Ecuador included, write 1.234,56).
_POINT_DECIMAL_REGIONS = frozenset({"MX", "US", "GT", "HN", "NI", "PA", "SV", "DO", "PR", "PE", "CU", "419"})
_MONTH_FIRST_LOCALES = frozenset({"en-US", "es-US", "en-PH"})
DEFAULT_LOCALE = "es-EC"


def normalize_locale(locale: str | None) -> str:
    """``es_ec`` / ``ES-ec`` -> ``es-EC``; empty -> the default (Ecuador)."""
    text = str(locale or DEFAULT_LOCALE).strip().replace("_", "-")
    language, _, region = text.partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


def locale_decimal(locale: str | None) -> str:
    """The decimal mark people of this locale type: "," or "."."""
    language, _, region = normalize_locale(locale).partition("-")
    if language == "en":
        return "."
    if language == "es" and region in _POINT_DECIMAL_REGIONS:
        return "."
    return ","


def locale_date_format(locale: str | None) -> str:
    """The date format Excel writes for this locale: day first, except where month comes first."""
    return "%m/%d/%Y" if normalize_locale(locale) in _MONTH_FIRST_LOCALES else "%d/%m/%Y"


def _localized(values: dict[str, object], language: str) -> dict[str, object]:
    """Contract numbers (bounds) the reader's way: 0 not 0.0, "1.000,5" in Spanish; strings stay as typed."""
    from shared import formatting

    shown = dict(values)
    for key in ("limit",):
        value = shown.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown[key] = formatting.number(value, language, max_digits=6)
    return shown


def message(code: str, language: str, **values: object) -> str:
    spanish, english = MESSAGES[code]
    return (spanish if language == "es" else english).format(**_localized(values, language))


def both(code: str, **values: object) -> tuple[str, str]:
    spanish, english = MESSAGES[code]
    return spanish.format(**_localized(values, "es")), english.format(**_localized(values, "en"))
