"""How the command line words an error for its reader: a broken contract in the reader's language."""

from __future__ import annotations

import pytest

from shared.errors import ContractError
from shared.ingest.contract import Contract
from shared.local.cli_errors import describe


def test_a_broken_contract_is_explained_in_spanish_and_in_english() -> None:
    with pytest.raises(ContractError) as caught:
        Contract.from_yaml("target: {column: z, positive: '1'}\ncolumns: {y: {type: categorical}}\n")
    failure = describe(caught.value)
    assert failure.code == "contract"
    assert failure.message("es") == "El contrato no es válido: la columna objetivo «z» no está entre las columnas del contrato"
    assert failure.message("en") == "The contract is not valid: target column 'z' is not among the contract's columns"
