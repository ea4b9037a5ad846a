"""The tutorial and the docstrings are tests: their examples must run as shown."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import ambervault
import ambervault.kvault

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_docs_examples_run(page: Path) -> None:
    result = doctest.testfile(
        str(page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0, f"{page.name} has no examples"
    assert result.failed == 0


def test_docstring_examples_run() -> None:
    result = doctest.testmod(ambervault.kvault, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_columns_docstring_examples_run() -> None:
    import ambervault.columns

    result = doctest.testmod(ambervault.columns, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
