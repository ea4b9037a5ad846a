"""AmberVault: blobs, typed columns and ordered indexes in one SQLite file.

A C++ implementation of KohakuVault's API. See README.md and docs/.
"""

from __future__ import annotations

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - build problem
    raise ImportError(
        "ambervault._core is not built: run `make build` (or `pip install .`)"
    ) from exc

from . import _errors
from ._errors import *  # noqa: F403 - the exception classes and aliases
from ._core import CSBTree, DataPacker, SkipList
from .columns import Column, ColumnVault, VarSizeColumn
from .kvault import KVault
from .wrappers import Cbor, Json, MsgPack, Pickle

__version__ = "0.1.0"
sqlite_version: str = _core.sqlite_version()

__all__ = [
    "KVault",
    "ColumnVault",
    "Column",
    "VarSizeColumn",
    "DataPacker",
    "CSBTree",
    "SkipList",
    "MsgPack",
    "Json",
    "Cbor",
    "Pickle",
    *_errors.__all__,
    "__version__",
    "sqlite_version",
]
