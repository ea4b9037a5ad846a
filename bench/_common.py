"""Helpers shared by the benchmark scripts in bench/."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_PYTHON = REPO_ROOT / "python"


def import_repo_aware(name: str):
    """Import module `name`; ambervault falls back to <repo>/python.

    When ambervault is not installed, the repository's own package is used.
    When an installed copy is found but broken (a stale install, say), the
    import is retried once from the repository tree.
    """
    if name == "ambervault" and importlib.util.find_spec("ambervault") is None:
        sys.path.insert(0, str(REPO_PYTHON))
    try:
        return importlib.import_module(name)
    except ImportError:
        if name == "ambervault" and str(REPO_PYTHON) not in sys.path:
            sys.path.insert(0, str(REPO_PYTHON))
            for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[mod]
            return importlib.import_module(name)
        raise
