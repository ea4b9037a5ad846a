"""ColumnVault: typed, append-mostly columns in the vault's SQLite file.

All storage work, packing and unpacking happens in C++
(``ambervault._core.ColumnVault`` / ``_core.Column``); these classes add
path handling, the MutableSequence protocol, context managers and ``repr``.
The file format is KohakuVault's (0.6 to 0.9): either library opens the
other's columns.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, MutableSequence
from typing import Any, Union

from . import _core
from ._errors import InvalidTypeError, NotFound
from .kvault import _synchronous_for

PathLike = Union[str, "os.PathLike[str]"]

_DEFAULT_CAP = 64 << 20
_DEFAULT_THRESHOLD = 16 << 20
_ITER_BATCH = 1024


class Column(_core.Column):
    """A list-like column of fixed-size elements (``i64``, ``bytes:32``, ...).

    Every change is one transaction; ``len`` and reads see other writers'
    commits and this column's pending cached appends.

    >>> cv = ColumnVault(":memory:")
    >>> col = cv.create_column("loss", "f64")
    >>> col.extend([0.5, 0.25]); col.append(0.125)
    >>> len(col), col[-1], col[0:2]
    (3, 0.125, [0.5, 0.25])
    >>> cv.close()
    """

    def __init__(self, vault: ColumnVault, name: str) -> None:
        super().__init__(vault, name)
        self._vault = vault

    def __iter__(self) -> Iterator[Any]:
        # Batches are read in one call each; the loop yields from lists.
        start = 0
        while True:
            batch = self._read(start, min(_ITER_BATCH, len(self) - start))
            if not batch:
                return
            yield from batch
            start += len(batch)

    def __reversed__(self) -> Iterator[Any]:
        return reversed(self[:])

    def __contains__(self, value: object) -> bool:
        return any(v == value for v in self)

    def __iadd__(self, values: Any) -> Column:
        self.extend(values)
        return self

    def reverse(self) -> None:
        """Reverse in place, in one transaction."""
        n = len(self)
        self[0:n] = self[0:n][::-1]

    def enable_cache(
        self, cap_bytes: int = _DEFAULT_CAP, flush_threshold: int = _DEFAULT_THRESHOLD
    ) -> None:
        """Collect appends in memory and write them in one transaction per
        flush (when pending bytes reach ``flush_threshold``, on
        ``flush_cache``/``disable_cache``/``close``, or before any other
        change). Enabling again changes the sizes and keeps pending data."""
        self._enable_cache(cap_bytes, flush_threshold)

    @contextlib.contextmanager
    def cache(self, cap_bytes: int = _DEFAULT_CAP, flush_threshold: int = _DEFAULT_THRESHOLD):
        """Cache appends inside the block; on exit restore the previous cache
        settings (flushing when the cache was off before). Never drops data."""
        previous = self._cache_options()
        self.enable_cache(cap_bytes, flush_threshold)
        try:
            yield self
        finally:
            if previous is None:
                self.disable_cache()
            else:
                self.enable_cache(*previous)

    def __repr__(self) -> str:
        return f"Column(name={self.name!r}, dtype={self.dtype!r}, length={len(self)})"


class VarSizeColumn(Column):
    """A list-like column of variable-size elements (``bytes``, ``str:utf8``,
    ``msgpack``, ``vec:f32``, ...). Supports ``insert`` too."""

    def __repr__(self) -> str:
        return f"VarSizeColumn(name={self.name!r}, dtype={self.dtype!r}, length={len(self)})"


for _name in ("index", "count", "pop", "remove"):
    setattr(Column, _name, getattr(MutableSequence, _name))
del _name
MutableSequence.register(Column)


class ColumnVault(_core.ColumnVault):
    """Typed columns in one SQLite file, shared with a ``KVault`` if given one.

    ``kvault_or_path`` is a ``KVault`` (its file is used), a ``str`` or an
    ``os.PathLike``. New columns start with ``min_chunk_bytes`` chunks that
    double up to ``max_chunk_bytes``.

    >>> with ColumnVault(":memory:") as cv:
    ...     names = cv.create_column("names", "str:utf8")
    ...     names.extend(["ada", "grace"])
    ...     cv.list_columns()
    [('names', 'str:utf8', 2)]
    """

    def __init__(
        self,
        kvault_or_path: Any,
        min_chunk_bytes: int = 128 * 1024,
        max_chunk_bytes: int = 16 * 1024 * 1024,
        *,
        retries: int = 4,
        busy_timeout: float = 5.0,
        enable_wal: bool = True,
        read_only: bool = False,
        synchronous: str = "normal",
        durability: str | None = None,
    ) -> None:
        synchronous = _synchronous_for(durability, synchronous)
        source = kvault_or_path
        if not isinstance(source, (str, bytes, os.PathLike)) and hasattr(source, "_path"):
            source = source._path
        try:
            path = os.fspath(source)
        except TypeError:
            raise InvalidTypeError(
                "ColumnVault takes a KVault, str or os.PathLike, not "
                f"{type(kvault_or_path).__name__}"
            ) from None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        super().__init__(
            path,
            min_chunk_bytes,
            max_chunk_bytes,
            retries=retries,
            busy_timeout=busy_timeout,
            enable_wal=enable_wal,
            read_only=read_only,
            synchronous=synchronous,
        )
        self._columns: dict[str, Column] = {}
        self._lock = threading.Lock()

    def _wrap(self, name: str, elem_size: int) -> Column:
        with self._lock:
            col = self._columns.get(name)
            if col is None or col.elem_size != elem_size:
                cls = VarSizeColumn if elem_size == 0 else Column
                col = cls(self, name)
                self._columns[name] = col
            return col

    def create_column(
        self, name: str, dtype: str, chunk_bytes: int | None = None, use_rust_packer: bool = True
    ) -> Column:
        """Create a column (``InvalidArgument`` if the name is taken).
        ``chunk_bytes`` and ``use_rust_packer`` are accepted for KohakuVault
        compatibility and ignored, as there."""
        _, elem_size = self._create(name, dtype)
        return self._wrap(name, elem_size)

    def __getitem__(self, name: str) -> Column:
        _, elem_size = self._info(name)
        return self._wrap(name, elem_size)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._info(name)
        except NotFound:
            return False
        return True

    def ensure(
        self, name: str, dtype: str, chunk_bytes: int | None = None, use_rust_packer: bool = True
    ) -> Column:
        """The column ``name``, created when missing. An existing column with
        another dtype raises ``InvalidArgument``."""
        _, elem_size = self._ensure(name, dtype)
        return self._wrap(name, elem_size)

    def delete_column(self, name: str) -> bool:
        """Delete a column (fixed or variable-size) and its chunks."""
        with self._lock:
            self._columns.pop(name, None)
        return self._delete(name)

    def enable_cache(
        self,
        cap_bytes: int = _DEFAULT_CAP,
        flush_threshold: int = _DEFAULT_THRESHOLD,
        flush_interval: float | None = None,
    ) -> None:
        """Cache appends on every column, including those opened later. With
        ``flush_interval`` (seconds) a background thread writes appends once
        they are that old, unless ``lock_cache`` is held."""
        self._enable_cache(cap_bytes, flush_threshold, flush_interval)

    def disable_cache(self) -> None:
        """Flush every column, then stop caching."""
        self._disable_cache()

    @contextlib.contextmanager
    def cache(self, cap_bytes: int = _DEFAULT_CAP, flush_threshold: int = _DEFAULT_THRESHOLD):
        """Cache every column inside the block; flush and disable on exit."""
        self.enable_cache(cap_bytes, flush_threshold)
        try:
            yield self
        finally:
            self.disable_cache()

    @contextlib.contextmanager
    def lock_cache(self):
        """Hold off background flushes inside the block (nestable)."""
        self._lock_cache()
        try:
            yield self
        finally:
            self._unlock_cache()

    def checkpoint(self) -> None:
        """Flush caches, then checkpoint the WAL into the database file."""
        self._checkpoint()

    def close(self) -> None:
        """Flush caches and close (idempotent). A failed flush raises and
        leaves the vault open with its pending data."""
        if not self.closed:
            self._close()

    def __enter__(self) -> ColumnVault:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"ColumnVault({self.path!r}, closed)"
        return f"ColumnVault({self.path!r}, {len(self.list_columns())} columns)"


__all__ = ["ColumnVault", "Column", "VarSizeColumn"]
