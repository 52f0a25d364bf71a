"""Column names compare case-, accent- and spacing-insensitively, the same way everywhere."""

from __future__ import annotations

import pytest

from shared.ingest.column_names import normalize_name


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("Ventas Mensuales", "ventas_mensuales"),
        ("  VENTAS   mensuales ", "ventas_mensuales"),
        ("Región", "region"),
        ("Año de Alta", "ano_de_alta"),
        ("cédula-RUC", "cedula_ruc"),
        ("monto ($)", "monto"),
        ("ventas_mensuales", "ventas_mensuales"),
    ],
)
def test_normalize_name(name: str, normal: str) -> None:
    assert normalize_name(name) == normal
