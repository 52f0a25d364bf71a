"""The words dropscore recognises in what people write: data to match, not sentences to show.

Files and contracts come from Spanish-locale spreadsheets, so most of these words are Spanish
(with their English counterparts). They are compared, never displayed; the sentences people
read live in :mod:`shared.i18n`. tests/test_i18n.py lists this module among the data that is
not a sentence, with that reason.
"""

from __future__ import annotations

# -- personal data by column name (shared.ingest.personal_data, rule 1) ---------------------------
# Matched against normalized names (shared.ingest.column_names): no accents, lower case, "_" between words.

# Name tokens, matched as the start of a token ("nombres", "apellidos", "telefonos", "emails").
PERSONAL_NAME_WORDS: tuple[str, ...] = (
    "cedula", "pasaporte", "nombre", "apellido", "telefono", "celular", "movil", "correo", "email",
    "direccion", "domicilio", "conyuge", "nacimiento", "identificacion", "whatsapp", "firstname",
    "lastname", "surname", "fullname", "passport", "telephone", "address", "birth",
)
# Tokens matched exactly: short words that would match too much as prefixes ("ci" in "ciudad").
PERSONAL_NAME_TOKENS: frozenset[str] = frozenset(
    {"ruc", "ci", "dni", "rut", "curp", "rfc", "nit", "cuit", "cpf", "tel", "telf", "tlf", "cel", "mail", "phone",
     "mobile", "cell", "name", "names", "dob", "ssn", "nif"}
)
# Qualifiers that make a column about a thing or a property, not a person's datum.
NOT_A_PERSON_WORDS: frozenset[str] = frozenset(
    {"producto", "product", "articulo", "item", "empresa", "company", "sucursal", "branch", "tienda", "store",
     "banco", "bank", "ciudad", "city", "provincia", "province", "pais", "country", "categoria", "category",
     "plan", "campana", "campaign", "archivo", "file", "columna", "column", "modelo", "model", "marca", "brand",
     "canal", "channel", "segmento", "segment", "zona", "zone", "region", "tipo", "type", "estado", "status",
     "tiene", "has", "flag", "valido", "valid", "verificado", "verified", "cantidad", "count", "total"}
)
# Identifier columns by name alone (contract inference): exact normalized names, or names starting "id_".
IDENTIFIER_NAMES: frozenset[str] = frozenset({"id", "cedula", "ruc"})

# -- cells -----------------------------------------------------------------------------------------
# Tokens people and systems write for "no value"; compared after stripping spaces, in any letter case.
MISSING_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "sin dato", "s/d"})

# -- contracts ---------------------------------------------------------------------------------------
# A binary target's class people usually want to find, when the contract does not say (lower case, stripped).
POSITIVE_CLASS_WORDS: tuple[str, ...] = ("1", "si", "sí", "yes", "true", "verdadero", "s", "y", "positivo", "positive")
# How people write true/false by hand in a contract's YAML flags (lower case, stripped).
TRUE_WORDS: frozenset[str] = frozenset({"yes", "on", "si", "sí", "1"})
FALSE_WORDS: frozenset[str] = frozenset({"no", "off", "0"})
