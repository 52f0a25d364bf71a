"""Contracts are read with libyaml's parser when PyYAML has it: the same data as the pure-Python
loader on any YAML, and the pure-Python loader's own error on YAML that is not valid."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ContractError
from shared.ingest import contract as contract_module
from shared.ingest.contract import Contract, _ContractLoader, _load_yaml
from tests.conftest import SyntheticFiles

pytestmark = pytest.mark.skipif(contract_module._FastContractLoader is None, reason="PyYAML without libyaml: one loader only")

# Scalars whose YAML 1.1 reading is a trap: yes/no/on/off, numbers in many spellings, dates, nulls.
TRAPS = ["yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "1e6", "1_000", "0x1F", "017", ".inf", "-.NaN",
         "2024-01-31", "2024-01-31 10:00:00", "12:30", "Sí", "ñandú", "'quoted'", "a: b", "- x", "#", "@", "`", "%", "!x"]
keys = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=6)
scalars = st.one_of(
    st.sampled_from(TRAPS), st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10), st.integers(),
    st.floats(allow_nan=False), st.booleans(), st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
)
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(data=documents, flow=st.booleans())
def test_libyaml_reads_what_the_python_loader_reads(data: object, flow: bool) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow)
    unquoted = text.replace("'", "")  # the same text without its quotes: bare words meet the resolvers
    for document in (text, unquoted):
        try:
            expected = yaml.load(document, Loader=_ContractLoader)
        except yaml.YAMLError:
            continue  # libyaml is laxer on a few texts the Python parser refuses ("[{0?: yes}]"): not compared
        assert _load_yaml(document) == expected


def test_a_trained_contract_reads_the_same(synthetic_contract_text: str) -> None:
    assert _load_yaml(synthetic_contract_text) == yaml.load(synthetic_contract_text, Loader=_ContractLoader)
    assert Contract.from_yaml(synthetic_contract_text) == Contract.from_dict(yaml.load(synthetic_contract_text, Loader=_ContractLoader))


@pytest.mark.parametrize("text", ["columns: [a, b", "a: b: c", "key: 'unterminated", "\tcolumns: {}", "a: [1, 2]]"])
def test_invalid_yaml_gives_the_python_loaders_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as python:
        yaml.load(text, Loader=_ContractLoader)
    with pytest.raises(ContractError) as ours:
        Contract.from_yaml(text)
    assert str(python.value) in ours.value.message_en


@pytest.fixture
def synthetic_contract_text(synthetic_files: SyntheticFiles) -> str:
    return synthetic_files.contract.read_text(encoding="utf-8")
