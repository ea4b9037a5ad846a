"""The committed _core.pyi stub matches the built module (no drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ambervault

STUB = Path(ambervault.__file__).with_name("_core.pyi")
PATTERNS = Path(__file__).resolve().parents[1] / "python" / "bindings" / "stubgen_patterns.txt"


def test_core_stub_is_current(tmp_path: Path) -> None:
    pytest.importorskip("nanobind.stubgen")
    out = tmp_path / "_core.pyi"
    subprocess.run(
        [sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "ambervault._core",
         "-p", str(PATTERNS), "-o", str(out)],
        check=True,
    )
    assert out.read_text() == STUB.read_text(), (
        "python/ambervault/_core.pyi is out of date: regenerate it with "
        "`make stubs`"
    )


def test_py_typed_is_shipped() -> None:
    assert Path(ambervault.__file__).with_name("py.typed").exists()
