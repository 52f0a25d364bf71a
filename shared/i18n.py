"""Every sentence a business user reads, in Spanish and English, in one place."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # Row-level validation (quarantine file): (es, en)
    "missing_value": ("Falta el valor obligatorio de «{column}».", "Required value of '{column}' is missing."),
    "not_a_number": ("«{value}» no es un número válido en «{column}».", "'{value}' is not a valid number in '{column}'."),
    "below_min": ("{value} en «{column}» es menor que el mínimo permitido {limit}.", "{value} in '{column}' is below the allowed minimum {limit}."),
    "above_max": ("{value} en «{column}» es mayor que el máximo permitido {limit}.", "{value} in '{column}' is above the allowed maximum {limit}."),
    "unknown_category": ("«{value}» no es un valor conocido de «{column}».", "'{value}' is not a known value of '{column}'."),
    "bad_date": ("«{value}» no es una fecha válida en «{column}» (formato {limit}).", "'{value}' is not a valid date in '{column}' (format {limit})."),
    "missing_id": ("Falta el identificador «{column}».", "The identifier '{column}' is missing."),
    "duplicate_id": ("El identificador «{value}» ya apareció antes en el archivo.", "The identifier '{value}' already appeared earlier in the file."),
    "bad_target": ("«{value}» no es un resultado válido de «{column}».", "'{value}' is not a valid outcome of '{column}'."),
    # File-level
    "missing_columns": (
        "Faltan columnas obligatorias: {columns}. Columnas encontradas: {found}.",
        "Required columns are missing: {columns}. Columns found: {found}.",
    ),
    "no_champion": (
        "Todavía no hay un modelo campeón: entrene uno con «dropscore train».",
        "There is no champion model yet: train one with 'dropscore train'.",
    ),
}


def message(code: str, language: str, **values: object) -> str:
    spanish, english = MESSAGES[code]
    return (spanish if language == "es" else english).format(**values)


def both(code: str, **values: object) -> tuple[str, str]:
    spanish, english = MESSAGES[code]
    return spanish.format(**values), english.format(**values)
