"""The sentences about files and rows: quarantine reasons, file-level refusals, service faults. (es, en)"""

from __future__ import annotations

FILES: dict[str, tuple[str, str]] = {
    # Row-level validation (quarantine file): (es, en)
    "missing_value": ("Falta el valor obligatorio de «{column}».", "Required value of '{column}' is missing."),
    "not_a_number": ("«{value}» no es un número válido en «{column}».", "'{value}' is not a valid number in '{column}'."),
    # Messages start with a word, never with the value: a cell starting "-5 …" would make Excel
    # read a formula, and the CSV guard would then have to prefix the sentence with an apostrophe.
    "below_min": ("El valor {value} de «{column}» es menor que el mínimo permitido ({limit}).", "The value {value} of '{column}' is below the allowed minimum ({limit})."),
    "above_max": ("El valor {value} de «{column}» es mayor que el máximo permitido ({limit}).", "The value {value} of '{column}' is above the allowed maximum ({limit})."),
    "unknown_category": ("«{value}» no es un valor conocido de «{column}».", "'{value}' is not a known value of '{column}'."),
    "bad_date": ("«{value}» no es una fecha válida en «{column}» (formato {limit}).", "'{value}' is not a valid date in '{column}' (format {limit})."),
    "missing_id": ("Falta el identificador «{column}».", "The identifier '{column}' is missing."),
    "duplicate_id": ("El identificador «{value}» ya apareció antes en el archivo.", "The identifier '{value}' already appeared earlier in the file."),
    "bad_target": ("«{value}» no es un resultado válido de «{column}».", "'{value}' is not a valid outcome of '{column}'."),
    "date_order": (
        "«{value}» en «{column}» solo es una fecha con el día y el mes en el orden contrario al del resto de la columna ({limit}). Revise el formato de fecha de Excel.",
        "'{value}' in '{column}' is only a date with day and month the other way round from the rest of the column ({limit}). Check Excel's date format.",
    ),
    "ambiguous_number": (
        "«{value}» en «{column}» puede ser un número con separador de miles o con decimales (por ejemplo 1.250 = mil doscientos cincuenta o uno coma veinticinco), "
        "y esta columna usa tanto la coma como el punto decimal, así que no se adivina. Escríbalo sin separador de miles (1250 o 1,25).",
        "'{value}' in '{column}' may be a number with a thousands separator or with decimals (e.g. 1.250 = one thousand two hundred and fifty, or one and a quarter), "
        "and this column uses both the decimal comma and the decimal point, so it is not guessed. Write it without a thousands separator (1250 or 1.25).",
    ),
    "ragged_row": (
        "La fila tiene {value} campos y el encabezado {limit}: no se puede saber qué valor va en cada columna. La fila empieza así: «{excerpt}».",
        "The row has {value} fields and the header {limit}: there is no telling which value belongs to which column. The row starts: '{excerpt}'.",
    ),
    "unclosed_quote": (
        "Unas comillas (\") se abren en esta fila y no se cierran, así que el resto del archivo quedó dentro de una celda. Empieza así: «{excerpt}».",
        "A quote (\") opens in this row and never closes, so the rest of the file ended up in one cell. It starts: '{excerpt}'.",
    ),
    "control_character": (
        "La fila contiene caracteres de control (por ejemplo NUL) que no son texto; suele venir de un sistema antiguo.",
        "The row holds control characters (e.g. NUL) that are not text; this usually comes from a legacy system.",
    ),
    "cell_outside_table": (
        "La fila tiene un valor fuera de la tabla, en una columna sin encabezado («{excerpt}»): no se sabe a qué columna pertenece. "
        "Bórrelo o dele un encabezado a esa columna.",
        "The row has a value outside the table, in a column with no header ('{excerpt}'): there is no telling which column it belongs to. "
        "Delete it or give that column a header.",
    ),
    "empty_row": ("La fila está vacía.", "The row is empty."),
    "invalid_cedula": (
        "«{value}» en «{column}» no es una cédula ecuatoriana válida ({reason_es}).",
        "'{value}' in '{column}' is not a valid Ecuadorian cédula ({reason_en}).",
    ),
    "invalid_ruc": (
        "«{value}» en «{column}» no es un RUC ecuatoriano válido ({reason_es}).",
        "'{value}' in '{column}' is not a valid Ecuadorian RUC ({reason_en}).",
    ),
    # File-level
    "missing_columns": (
        "Faltan columnas obligatorias: {columns}. Columnas encontradas: {found}.",
        "Required columns are missing: {columns}. Columns found: {found}.",
    ),
    "no_matching_columns": (
        "Ninguna columna del archivo coincide con el contrato. Se esperaban, por ejemplo: {columns}. Columnas encontradas: {found}. ¿Es el archivo correcto?",
        "No column of the file matches the contract. Expected, for example: {columns}. Columns found: {found}. Is it the right file?",
    ),
    "duplicate_columns": (
        "La columna «{column}» aparece más de una vez ({found}); no se sabe cuál usar. Deje solo una y vuelva a subir el archivo.",
        "The column '{column}' appears more than once ({found}); there is no telling which one to use. Keep one and upload the file again.",
    ),
    "date_order_mismatch": (
        "Las fechas de «{column}» están escritas mes/día (por ejemplo «{value}»), pero el contrato espera {limit}. "
        "Para no confundir días y meses no se procesó el archivo: cambie el formato de fecha en Excel o en el contrato.",
        "The dates in '{column}' are written month/day (e.g. '{value}'), but the contract expects {limit}. "
        "So that days and months are never mixed up the file was not processed: change the date format in Excel or in the contract.",
    ),
    "mixed_date_order": (
        "La columna «{column}» mezcla fechas día/mes y mes/día (por ejemplo «{value}» y «{other}»): no se puede saber qué significa «03/04». Corrija el archivo.",
        "The column '{column}' mixes day/month and month/day dates (e.g. '{value}' and '{other}'): there is no telling what '03/04' means. Fix the file.",
    ),
    "pii_key_missing": (
        "El contrato marca columnas como datos personales ({columns}), pero no hay una clave de seudonimización configurada "
        "(DROPSCORE_PII_KEY). Para no guardar datos personales en claro no se procesó el archivo; avise al administrador.",
        "The contract marks columns as personal data ({columns}), but no pseudonymization key is configured (DROPSCORE_PII_KEY). "
        "So that personal data is never stored in the clear the file was not processed; tell the administrator.",
    ),
    "no_rows": ("El archivo solo tiene encabezado, sin filas.", "The file has a header but no rows."),
    "no_champion": (
        "Todavía no hay un modelo campeón: entrene uno con «dropscore train».",
        "There is no champion model yet: train one with 'dropscore train'.",
    ),
    # Reading files (shared.ingest.*): why a file as a whole cannot be read. The keys are the
    # sentences; the BadInputError code a report carries is the one the reader raises (several
    # sentences can share one code, e.g. not_csv).
    "empty_file": ("El archivo está vacío.", "The file is empty."),
    "empty_sheet": ("La hoja está vacía.", "The sheet is empty."),
    "not_text": (
        "El archivo no es texto ({what_es}). Guárdelo como CSV (Archivo > Guardar como > CSV) y vuelva a subirlo.",
        "The file is not text ({what_en}). Save it as CSV (File > Save As > CSV) and upload it again.",
    ),
    "looks_like_kind": ("parece un archivo {kind}", "it looks like a {kind} file"),
    "looks_binary": ("parece binario, por ejemplo un .xlsx", "it looks binary, e.g. an .xlsx"),
    "zip_not_workbook": (
        "El archivo es un .zip que no es un libro de Excel. Suba el CSV o el libro que contiene, sin comprimir.",
        "The file is a .zip that is not an Excel workbook. Upload the CSV or workbook inside it, uncompressed.",
    ),
    "too_large": (
        "El archivo supera el tamaño máximo de {megabytes:,.0f} MB. Divídalo en archivos más pequeños y súbalos por separado.",
        "The file is larger than the {megabytes:,.0f} MB limit. Split it into smaller files and upload them separately.",
    ),
    "header_never_ends": (
        "No se encontró el final de la fila de encabezado (¿comillas sin cerrar?).",
        "The header row never ends (an unclosed quote?).",
    ),
    "header_not_csv": ("La fila de encabezado no se puede leer como CSV.", "The header row cannot be read as CSV."),
    "rows_not_csv": ("El archivo tiene filas que no se pueden leer como CSV: {detail}", "The file has rows that cannot be read as CSV: {detail}"),
    "row_too_large": (
        "Una fila del archivo ocupa más de {megabytes} MB (¿comillas sin cerrar?). Revise el archivo y vuelva a subirlo.",
        "A row of the file is larger than {megabytes} MB (an unclosed quote?). Check the file and upload it again.",
    ),
    "header_is_data": (
        "La primera fila del archivo parece ser de datos (tiene una cédula, un correo o un teléfono), no los nombres de las columnas. "
        "Agregue como primera fila los nombres de las columnas del contrato (por ejemplo: {columns}) y vuelva a subirlo. "
        "Por privacidad, este informe no repite esa fila.",
        "The file's first row looks like data (it holds a cédula, an e-mail or a phone number), not the column names. "
        "Add the contract's column names as the first row (for example: {columns}) and upload it again. "
        "For privacy, this report does not repeat that row.",
    ),
    # Workbooks (shared.ingest.workbook_reader, xlsx_stream, ods_cells)
    "sheet_not_found": (
        "El libro no tiene la hoja «{sheet}» que pide el contrato. Hojas del libro: {sheets_es}. "
        "Cambie el nombre de la hoja o el campo «sheet» del contrato y vuelva a subirlo.",
        "The workbook has no sheet '{sheet}', which the contract asks for. Sheets in the workbook: {sheets_en}. "
        "Rename the sheet or change the contract's 'sheet' field and upload it again.",
    ),
    "no_sheet": ("El libro no tiene ninguna hoja de cálculo visible con datos.", "The workbook has no visible worksheet with data."),
    "workbook_read_whole_too_large": (
        "Los libros .{kind} se leen enteros en memoria y este ocupa {megabytes:,.0f} MB (máximo {limit_megabytes} MB). "
        "Guárdelo como .xlsx (Libro de Excel) o como CSV y vuelva a subirlo: esos formatos se leen por partes, sin ese límite.",
        "Workbooks in .{kind} format are read whole into memory and this one is {megabytes:,.0f} MB (limit {limit_megabytes} MB). "
        "Save it as .xlsx (Excel Workbook) or as CSV and upload it again: those are read piece by piece, with no such limit.",
    ),
    "ods_too_many_cells": (
        "El libro .ods tendría {cells:,} celdas con valor al abrirlo (máximo {max_cells:,}): sus celdas repetidas no caben en memoria. "
        "Guárdelo como .xlsx (Libro de Excel) o como CSV y vuelva a subirlo.",
        "The .ods workbook would hold {cells:,} cells with a value once opened (limit {max_cells:,}): its repeated cells do not fit in memory. "
        "Save it as .xlsx (Excel Workbook) or as CSV and upload it again.",
    ),
    "corrupt_workbook": (
        "El archivo parece un libro de Excel ({kind}) pero no se puede leer: está dañado, incompleto o protegido con contraseña "
        "({detail}). Ábralo en Excel, guárdelo de nuevo (o como CSV) y vuelva a subirlo.",
        "The file looks like an Excel workbook ({kind}) but cannot be read: it is damaged, incomplete or password-protected "
        "({detail}). Open it in Excel, save it again (or as CSV) and upload it again.",
    ),
    "shared_strings_too_large": (
        "La tabla de textos del libro no cabe en memoria (más de {megabytes} MB de textos distintos). "
        "Guárdelo como CSV (delimitado por punto y coma) y vuelva a subirlo: un CSV se lee por partes, sin ese límite.",
        "The workbook's table of texts does not fit in memory (more than {megabytes} MB of distinct texts). "
        "Save it as CSV and upload it again: a CSV is read piece by piece, with no such limit.",
    ),
    # Why a cédula / RUC is not valid ({reason_es} / {reason_en} of invalid_cedula, invalid_ruc)
    "id_check_digit": ("el dígito verificador no cuadra", "the check digit does not match"),
    "id_length": ("número de dígitos incorrecto", "wrong number of digits"),
    "id_digits_only": ("solo puede tener dígitos", "it may only hold digits"),
    "id_component": ("código de provincia o tipo no válido", "invalid province or type code"),
    "id_format": ("formato no válido", "invalid format"),
    "id_excel_number": (
        "Excel lo convirtió en número; formatee la columna como texto",
        "Excel turned it into a number; format the column as text",
    ),
    # Why a column is personal (shared.ingest.personal_data): the manifest and `contract infer` say it
    "personal_by_name": ("el nombre contiene «{word}»", "the name contains '{word}'"),
    "personal_by_values": ("{share} de sus valores parecen {kinds}", "{share} of its values look like {kinds}"),
    "not_personal": ("no parece personal", "does not look personal"),
    "personal_kind_cedula": ("cédulas válidas", "valid cédulas"),
    "personal_kind_ruc": ("RUC válidos", "valid RUCs"),
    "personal_kind_email": ("correos electrónicos", "e-mail addresses"),
    "personal_kind_phone": ("teléfonos", "phone numbers"),
    # The data contract (shared.ingest.contract, contract_drafting): what is wrong and where. Keys,
    # types and YAML snippets stay as written in the contract, in both languages.
    "contract_not_yaml": ("el contrato no es YAML válido: {detail}", "the contract is not valid YAML: {detail}"),
    "contract_not_mapping": ("el contrato debe ser un mapa YAML (clave: valor)", "the contract must be a YAML mapping"),
    "contract_missing_section": ("al contrato le falta la sección {section}", "contract is missing the section {section}"),
    "contract_section_mapping": ("la sección {section} debe ser un mapa (clave: valor)", "section {section} must be a mapping"),
    "contract_target_section": (
        "la sección 'target' debe ser un mapa con 'column' y 'positive', por ejemplo {{column: abandono, positive: 'sí'}}",
        "section 'target' must be a mapping with 'column' and 'positive', e.g. {{column: churn, positive: 'yes'}}",
    ),
    "contract_columns_section": (
        "la sección 'columns' debe ser un mapa de nombre de columna -> {{type: ...}}",
        "section 'columns' must be a mapping of column name -> {{type: ...}}",
    ),
    "contract_column_not_mapping": (
        "columna «{column}»: se esperaba un mapa como {{type: numeric}}, no {value}",
        "column '{column}': expected a mapping such as {{type: numeric}}, not {value}",
    ),
    "contract_column_type": (
        "columna «{column}»: type debe ser uno de {types}, no {value}",
        "column '{column}': type must be one of {types}, not {value}",
    ),
    "contract_column_unknown": (
        "columna «{column}»: unknown debe ser 'missing' o 'quarantine'",
        "column '{column}': unknown must be 'missing' or 'quarantine'",
    ),
    "contract_task": ("task debe ser uno de {tasks}, no {value}", "task must be one of {tasks}, not {value}"),
    "contract_target_not_a_column": (
        "la columna objetivo «{column}» no está entre las columnas del contrato",
        "target column '{column}' is not among the contract's columns",
    ),
    "contract_id_not_a_column": (
        "la columna identificadora «{column}» no está entre las columnas del contrato",
        "id column '{column}' is not among the contract's columns",
    ),
    "contract_multiclass_classes": (
        "un objetivo multiclase necesita sus clases: target: {{column: {column}, classes: [Alto, Medio, Bajo]}}",
        "a multiclass target needs its classes: target: {{column: {column}, classes: [Alto, Medio, Bajo]}}",
    ),
    "contract_regression_numeric": (
        "el objetivo de una regresión debe ser una columna numérica; «{column}» es {type}",
        "a regression target must be a numeric column; '{column}' is {type}",
    ),
    "contract_decision_section": (
        "la sección 'decision' debe ser un mapa como {{value_true_positive: 100, cost_false_positive: 20, cost_false_negative: 50}}",
        "section 'decision' must be a mapping such as {{value_true_positive: 100, cost_false_positive: 20, cost_false_negative: 50}}",
    ),
    "contract_decision_keys": (
        "sección 'decision': claves desconocidas {keys}; las conocidas son {known}",
        "section 'decision': unknown keys {keys}; known: {known}",
    ),
    "contract_lifecycle_positive": (
        "lifecycle.shadow_min_labels y training.time_budget_seconds deben ser positivos",
        "lifecycle.shadow_min_labels and training.time_budget_seconds must be positive",
    ),
    "contract_date_format": (
        "{where} debe ser un patrón strftime como '%d/%m/%Y', o una lista de ellos",
        "{where} must be a strftime pattern such as '%d/%m/%Y', or a list of them",
    ),
    "contract_date_orders": (
        "{where}: {formats} mezcla fechas con el día primero y con el mes primero; deje un solo orden",
        "{where}: {formats} mix day-first and month-first dates; keep one order",
    ),
    "contract_personal_type": (
        "columna «{column}»: una columna personal se reemplaza por un hash con clave, así que debe ser de tipo {types} "
        "(no {type}); quite la columna del contrato o desmárquela",
        "column '{column}': a personal column is replaced by a keyed hash, so it must be one of {types} "
        "(not {type}); drop the column from the contract or un-mark it",
    ),
    "contract_locale_section": (
        "la sección 'locale' debe ser un mapa como {{name: es-EC, decimal: ',', date_format: '%d/%m/%Y'}}",
        "section 'locale' must be a mapping such as {{name: es-EC, decimal: ',', date_format: '%d/%m/%Y'}}",
    ),
    "contract_locale_choice": ("locale.{key} debe ser uno de {allowed}, no {value}", "locale.{key} must be one of {allowed}, not {value}"),
    "contract_locale_date_format": (
        "locale.date_format debe ser un solo patrón strftime como '%d/%m/%Y'",
        "locale.date_format must be one strftime pattern such as '%d/%m/%Y'",
    ),
    "contract_extra_columns": ("extra_columns debe ser uno de {allowed}, no {value}", "extra_columns must be one of {allowed}, not {value}"),
    "contract_sheet": (
        "sheet debe ser el nombre de una hoja del libro, por ejemplo sheet: Datos",
        "sheet must be the name of a workbook sheet, e.g. sheet: Datos",
    ),
    "contract_flag": ("{where} debe ser true o false, no {value}", "{where} must be true or false, not {value}"),
    "contract_number": ("{where} debe ser un número, no {value}", "{where} must be a number, not {value}"),
    # Inferring a contract from a training file (shared.ingest.contract_drafting)
    "contract_target_not_in_file": (
        "la columna objetivo «{column}» no está en el archivo; columnas: {columns}",
        "target column '{column}' is not in the file; columns: {columns}",
    ),
    "contract_id_not_in_file": ("la columna identificadora «{column}» no está en el archivo", "id column '{column}' is not in the file"),
    "contract_binary_two_classes": (
        "el objetivo «{column}» debe tener exactamente dos clases para un modelo binario; hay {count}: {classes} "
        "(use --task multiclass o --task regression para otros objetivos)",
        "target '{column}' must have exactly two classes for a binary model; found {count}: {classes} "
        "(use --task multiclass or --task regression for other targets)",
    ),
    "contract_positive_not_a_value": (
        "la clase positiva {positive} no es un valor de «{column}»: {classes}",
        "positive class {positive} is not a value of '{column}': {classes}",
    ),
    "contract_regression_text": (
        "el objetivo de una regresión debe ser numérico; «{column}» tiene texto como {examples}",
        "a regression target must be numeric; '{column}' holds text such as {examples}",
    ),
    "contract_two_classes_at_least": (
        "el objetivo «{column}» debe tener al menos dos clases; hay {classes}",
        "target '{column}' must have at least two classes; found {classes}",
    ),
}

# The comment block every contract YAML starts with: people edit that file, so it explains its
# keys in both languages at once. Its exact text is part of each contract's fingerprint
# (shared.ingest.contract.Contract.fingerprint): change it and every stored fingerprint changes.
CONTRACT_YAML_HEADER = (
    "# dropscore data contract. Edit it freely: every step reads it.\n"
    "# Contrato de datos de dropscore. Puede editarlo: cada paso lo lee.\n"
    "# types / tipos: numeric, categorical, date, identifier, text, cedula, ruc (Ecuador, check digit)\n"
    "# personal: true -> replaced by a keyed hash (LOPDP) / se reemplaza por un hash con clave\n"
    "# extra_columns: ignore | passthrough (columns not named here / columnas no nombradas aquí)\n"
    "# required: the column must be in the file / la columna debe venir en el archivo\n"
    "# nullable: a row may leave it empty / una fila puede dejarla vacía\n"
    "# min/max: values outside are quarantined / valores fuera de rango van a cuarentena\n"
    "# unknown: what to do with a category not in values: missing | quarantine\n"
)
