"""The sentences of the platform's foundation: object names refused, storage paths refused, settings refused. (es, en)

``{name}`` is the refused name as a person can read it (shared.object_names.printable).
"""

from __future__ import annotations

PLATFORM: dict[str, tuple[str, str]] = {
    # Object names (shared.object_names): a key refused before anything is read or written.
    "name_empty": ("El nombre del archivo está vacío.", "The file name is empty."),
    "name_not_unicode": (
        "El nombre «{name}» no es texto Unicode válido; cámbielo y vuelva a subir el archivo.",
        "The name '{name}' is not valid Unicode text; rename the file and upload it again.",
    ),
    "name_control_characters": (
        "El nombre «{name}» contiene caracteres de control (saltos de línea, NUL...); cámbielo y vuelva a subir el archivo.",
        "The name '{name}' holds control characters (line breaks, NUL...); rename the file and upload it again.",
    ),
    "name_leaves_folder": (
        "El nombre «{name}» intenta salir de su carpeta (contiene «..», «/» o su forma codificada %2e%2e%2f); "
        "por seguridad no se procesó. Cámbielo y vuelva a subir el archivo.",
        "The name '{name}' tries to leave its folder (it holds '..', '/' or its encoded form %2e%2e%2f); "
        "for safety it was not processed. Rename the file and upload it again.",
    ),
    "name_reserved_prefix": (
        "Los nombres que empiezan por «{prefix}» están reservados para archivos a medio escribir: «{name}». "
        "Cámbielo y vuelva a subir el archivo.",
        "Names starting with '{prefix}' are reserved for files being written: '{name}'. Rename the file and upload it again.",
    ),
    "name_too_long": (
        "El nombre «{name}» es demasiado largo para guardar el archivo y sus resultados ({detail}). "
        "Use un nombre más corto y vuelva a subir el archivo.",
        "The name '{name}' is too long to store the file and its results ({detail}). "
        "Use a shorter name and upload the file again.",
    ),
    "folder_name_invalid": ("«{name}» no es un nombre de carpeta válido.", "'{name}' is not a valid folder name."),
    "name_links_outside": (
        "«{name}» lleva fuera de la carpeta del depósito (un enlace simbólico apunta a otra parte); no se procesó.",
        "'{name}' leads outside the bucket's folder (a symbolic link points elsewhere); it was not processed.",
    ),
    # Storage URIs (shared.object_names.split_uri): a file:// path that is never "normalised" into another file.
    "path_leaves_folder": (
        "La ruta {name} sale de su carpeta o contiene caracteres no válidos; no se usó.",
        "The path {name} leaves its folder or holds invalid characters; it was not used.",
    ),
    # Settings (shared.settings): a DROPSCORE_* value that cannot work.
    "shard_bytes_not_a_number": (
        "DROPSCORE_SHARD_BYTES={value} no es un número entero de bytes (por ejemplo 268435456, 256 MiB).",
        "DROPSCORE_SHARD_BYTES={value} is not a whole number of bytes (for example 268435456, 256 MiB).",
    ),
    "shard_bytes_below_minimum": (
        "DROPSCORE_SHARD_BYTES={value} es menor que el mínimo {minimum} (2 MiB): el archivo se lee en bloques "
        "de 2 MiB y un fragmento no puede ser menor que un bloque. Use 2097152 o más (por defecto 268435456).",
        "DROPSCORE_SHARD_BYTES={value} is below the minimum {minimum} (2 MiB): files are read in 2 MiB "
        "blocks and a shard cannot be smaller than one block. Use 2097152 or more (default 268435456).",
    ),
}
