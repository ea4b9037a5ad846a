"""The committed _core.pyi stub matches the built module (no drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ambervault

STUB = Path(ambervault.__file__).with_name("_core.pyi")


def test_core_stub_is_current(tmp_path: Path) -> None:
    pytest.importorskip("nanobind.stubgen")
    out = tmp_path / "_core.pyi"
    subprocess.run(
        [sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "ambervault._core", "-o", str(out)],
        check=True,
    )
    assert out.read_text() == STUB.read_text(), (
        "python/ambervault/_core.pyi is out of date: regenerate it with "
        "`PYTHONPATH=python python -m nanobind.stubgen -m ambervault._core "
        "-o python/ambervault/_core.pyi`"
    )


def test_py_typed_is_shipped() -> None:
    assert Path(ambervault.__file__).with_name("py.typed").exists()
