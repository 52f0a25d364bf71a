"""The sentences of the clean and score steps' own reports: a file not processed or not scored, and why. (es, en)"""

from __future__ import annotations

STEPS: dict[str, tuple[str, str]] = {
    # The readable report beside a rejected file (quarantine/<kind>/<name>.report.txt).
    "report_file_label": ("Archivo", "File"),
    "file_not_processed": ("No se procesó el archivo.", "The file was not processed."),
    "next_fix_the_file": (
        "Nada se perdió: el archivo original sigue en la carpeta de entrada; corríjalo y vuelva a subirlo.",
        "Nothing was lost: the original file is still in the raw bucket; fix it and upload it again.",
    ),
    # Rejections about the system's state, not the file's content: do not send the user to "fix" it.
    "next_file_is_fine": (
        "El archivo no tiene ningún problema: nada se perdió y sigue en la carpeta de entrada; vuelva a subirlo cuando se haya resuelto lo anterior.",
        "Nothing is wrong with the file: nothing was lost and it is still in the raw bucket; upload it again once the above is solved.",
    ),
    "next_rename_the_file": (
        "Nada se perdió: el archivo original sigue en la carpeta de entrada.",
        "Nothing was lost: the original file is still in the raw bucket.",
    ),
    "file_gone": ("El archivo ya no existe.", "The file no longer exists."),
    "pii_key_invalid": (
        "La clave de seudonimización (DROPSCORE_PII_KEY) no sirve: es demasiado corta (hacen falta al menos {min_chars} caracteres al azar). "
        "Avise al administrador.",
        "The pseudonymization key (DROPSCORE_PII_KEY) is not usable: it is too short (at least {min_chars} random characters are needed). "
        "Tell the administrator.",
    ),
    "model_integrity": (
        "No se procesó: los archivos del modelo v{version} no coinciden con los registrados (posible manipulación). "
        "Se avisó al administrador; vuelva a subir el archivo cuando lo haya resuelto.",
        "Not processed: model v{version}'s files do not match the registered ones (possible tampering). "
        "The administrator was alerted; upload the file again once it is resolved.",
    ),
    # shared.steps.refused_names: a name that cannot be worked with.
    "reserved_name": (
        "El nombre «{name}» termina como las partes que dropscore crea para archivos grandes («.shard-…»); cámbielo y vuelva a subir el archivo.",
        "The name '{name}' ends like the parts dropscore makes of big files ('.shard-…'); rename the file and upload it again.",
    ),
}
