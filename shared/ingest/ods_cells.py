"""Count the cells an .ods would hold once loaded, before python-calamine loads it.

An .ods stores a run of equal cells once, with ``table:number-columns-repeated`` and
``table:number-rows-repeated``; a reader expands the runs that hold a value. An 800-byte file
whose one valued cell repeats 16 384 columns by 1 000 rows made calamine build 16 million
cells (1.2 GB, measured), ten times that row count would exhaust any function's memory and be
retried until the event expired. LibreOffice's own runs of *empty* cells (to the end of the
grid) are not expanded by calamine (measured), so only runs holding a value count here.
content.xml is streamed through the DTD-refusing expat parser; nothing is kept but counters.
"""

from __future__ import annotations

import zipfile
import zlib
from xml.parsers import expat

from shared.errors import BadInputError
from shared.i18n import both
from shared.ingest.xlsx_stream import corrupt_workbook, xml_parser

# About 75 bytes a loaded cell (measured on calamine): 8 million stay near 600 MB of a 2 GiB function.
MAX_LOADED_CELLS = 8_000_000

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ROW = _TABLE + "table-row"
_CELLS = (_TABLE + "table-cell", _TABLE + "covered-table-cell")
_ROWS_REPEATED = _TABLE + "number-rows-repeated"
_COLUMNS_REPEATED = _TABLE + "number-columns-repeated"
_VALUE_TYPE = _OFFICE + "value-type"


def too_many_cells(cells: int, limit: int) -> BadInputError:
    return BadInputError("workbook_too_large", *both("ods_too_many_cells", cells=cells, max_cells=limit))


def _repeat(attributes: dict[str, str], name: str) -> int:
    try:
        return max(1, int(attributes.get(name, "1")))
    except ValueError:
        raise corrupt_workbook("ods", f"{name.rpartition('}')[2]}={attributes.get(name)!r}") from None


def check_ods_cells(archive: zipfile.ZipFile, limit: int | None = None) -> int:
    """The number of valued cells the workbook expands to; a :class:`BadInputError` above ``limit``
    (default :data:`MAX_LOADED_CELLS`)."""
    limit = MAX_LOADED_CELLS if limit is None else limit
    state = {"row_repeat": 1, "row_cells": 0, "cell_repeat": 0, "valued": False, "depth": 0, "total": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == _ROW:
            state["row_repeat"], state["row_cells"] = _repeat(attributes, _ROWS_REPEATED), 0
        elif name in _CELLS:
            state["cell_repeat"], state["valued"], state["depth"] = _repeat(attributes, _COLUMNS_REPEATED), _VALUE_TYPE in attributes, 1
        elif state["depth"]:
            state["depth"] += 1
            state["valued"] = True  # text inside the cell (<text:p>) is a value too

    def end(name: str) -> None:
        if name in _CELLS:
            if state["valued"]:
                state["row_cells"] += state["cell_repeat"]
            state["depth"] = 0
        elif state["depth"]:
            state["depth"] -= 1
        elif name == _ROW:
            state["total"] += state["row_cells"] * state["row_repeat"]
            if state["total"] > limit:
                raise too_many_cells(state["total"], limit)

    parser = xml_parser(namespaces=True, kind="ods")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        with archive.open("content.xml") as handle:
            parser.ParseFile(handle)
    except KeyError:
        raise corrupt_workbook("ods", "no content.xml") from None
    except expat.ExpatError as exc:
        raise corrupt_workbook("ods", f"XML: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise corrupt_workbook("ods", str(exc) or type(exc).__name__) from None
    return state["total"]
