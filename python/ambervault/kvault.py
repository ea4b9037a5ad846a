"""KVault: a dict-like key -> blob store in one SQLite file.

All storage work happens in C++ (``ambervault._core.KVault``); this class
adds path handling, context managers, ``repr`` and stream sizing.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, MutableMapping
from typing import IO, Any, Union

from . import _core
from ._errors import InvalidArgument, InvalidTypeError

PathLike = Union[str, "os.PathLike[str]"]


class KVault(_core.KVault):
    """A persistent mapping from keys (``str`` or ``bytes``) to ``bytes``.

    Keys are stored as bytes (``str`` keys as UTF-8, so ``"a"`` and ``b"a"``
    are one key) and iterate in byte order. Values are bytes-like and come
    back as ``bytes``. One ``KVault`` may be shared by threads; several
    ``KVault`` objects and processes may open one file (one writer at a
    time, readers never blocked in WAL mode).

    >>> kv = KVault(":memory:")
    >>> kv["alpha"] = b"1"
    >>> kv[b"alpha"], len(kv), "alpha" in kv
    (b'1', 1, True)
    >>> kv.close()
    """

    def __init__(
        self,
        path: PathLike,
        *,
        chunk_size: int = 1 << 20,
        retries: int = 4,
        backoff_base: float = 0.02,
        table: str = "kv",
        enable_wal: bool = True,
        page_size: int = 32768,
        mmap_size: int = 268_435_456,
        cache_kb: int = 100_000,
        busy_timeout: float = 5.0,
        synchronous: str = "normal",
        read_only: bool = False,
    ) -> None:
        try:
            path = os.fspath(path)
        except TypeError:
            raise InvalidTypeError(
                f"path must be str or os.PathLike, not {type(path).__name__}"
            ) from None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(table, str):
            raise InvalidTypeError(f"table must be str, not {type(table).__name__}")
        super().__init__(
            path,
            table=table,
            chunk_size=chunk_size,
            retries=retries,
            backoff_base=backoff_base,
            enable_wal=enable_wal,
            page_size=page_size,
            mmap_size=mmap_size,
            cache_kb=cache_kb,
            busy_timeout=busy_timeout,
            synchronous=synchronous,
            read_only=read_only,
        )

    # KohakuVault code reads the path from ``_path`` (e.g. ColumnVault(kv)).
    @property
    def _path(self) -> str:
        return self.path

    def put_file(
        self,
        key: str | bytes,
        reader: IO[bytes] | bytes | bytearray | memoryview,
        *,
        size: int | None = None,
        chunk_size: int | None = None,
    ) -> None:
        """Store everything ``reader.read()`` yields (or ``size`` bytes of it).

        Memory stays bounded by ``chunk_size`` whatever the value size. The
        write is atomic: if the reader fails or ends early, the key keeps its
        old value (or stays absent).
        """
        if isinstance(reader, (bytes, bytearray, memoryview)):
            self.put(key, reader)
            return
        if not hasattr(reader, "read"):
            raise InvalidTypeError(
                f"reader must have a read() method, not {type(reader).__name__}"
            )
        if size is None:
            size = _remaining_size(reader)
        self._put_stream(key, reader, size, chunk_size)

    @contextlib.contextmanager
    def cache(
        self,
        cap_bytes: int = 64 << 20,
        flush_threshold: int | None = None,
        auto_flush: bool = True,
    ) -> Iterator[KVault]:
        """Write-back cache for the ``with`` block; flushed when it ends.

        Nested use keeps the outer cache (and its pending data): the inner
        block only flushes on exit.
        """
        if flush_threshold is None:
            flush_threshold = cap_bytes // 4
        outer = self.cache_enabled()
        if not outer:
            self.enable_cache(cap_bytes=cap_bytes, flush_threshold=flush_threshold)
        try:
            yield self
        finally:
            if outer:
                if auto_flush:
                    self.flush_cache()
            else:
                self.disable_cache()  # flushes

    @contextlib.contextmanager
    def lock_cache(self) -> Iterator[KVault]:
        """No flush happens while the block runs (writes stay pending).

        A write that finds the cache full raises ``DatabaseBusy`` instead of
        dropping data.
        """
        self._lock_cache()
        try:
            yield self
        finally:
            self._unlock_cache()

    def __enter__(self) -> KVault:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"KVault({self.path!r}, status=closed)"
        try:
            keys: Any = len(self)
        except Exception:  # noqa: BLE001 - repr must not raise
            keys = "?"
        return f"KVault({self.path!r}, status=open, keys={keys})"


def _remaining_size(reader: Any) -> int | None:
    """Bytes left in a seekable or regular-file reader, else None."""
    try:
        fd = reader.fileno()
        st = os.fstat(fd)
        import stat

        if stat.S_ISREG(st.st_mode):
            return max(0, st.st_size - reader.tell())
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        pass
    try:
        if reader.seekable():
            pos = reader.tell()
            end = reader.seek(0, os.SEEK_END)
            reader.seek(pos)
            return max(0, end - pos)
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        pass
    return None


MutableMapping.register(KVault)

__all__ = ["KVault", "InvalidArgument"]
