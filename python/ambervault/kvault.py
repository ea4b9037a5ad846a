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


def _synchronous_for(durability: str | None, synchronous: str) -> str:
    """``durability="normal"`` (the default: a process crash loses nothing
    that was acknowledged; a power loss may roll back the last commits) or
    ``"full"`` (every commit is fsynced: acknowledged writes survive power
    loss). See docs/durability.md."""
    if durability is None:
        return synchronous
    if durability not in ("normal", "full"):
        raise InvalidArgument(f"durability must be 'normal' or 'full', not {durability!r}")
    return durability


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
        durability: str | None = None,
        value_cache_bytes: int = 32 << 20,
    ) -> None:
        synchronous = _synchronous_for(durability, synchronous)
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
            value_cache_bytes=value_cache_bytes,
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

    @contextlib.contextmanager
    def transaction(self) -> Iterator[KVault]:
        """Atomic multi-key writes: committed together when the block ends,
        discarded if it raises.

        Inside the block, the writes of this thread (``[]=``, ``put``,
        ``del``, ``pop``, ``setdefault``, ``update``, ``put_many``,
        ``delete_many``) are collected and applied in one SQLite transaction
        on exit (into the write-back cache, atomically, when it is on).
        Single-key reads of this thread (``[]``, ``get``, ``in``,
        ``get_many``) see them; ``len``, iteration and scans, and other
        threads, see committed data. Transactions do not nest.

        >>> import os, tempfile
        >>> kv = KVault(os.path.join(tempfile.mkdtemp(), "t.db"))
        >>> with kv.transaction():
        ...     kv["a"] = 1
        ...     kv["b"] = kv["a"] + 1
        >>> kv["a"], kv["b"]
        (1, 2)
        >>> try:
        ...     with kv.transaction():
        ...         kv["a"] = 100
        ...         raise RuntimeError("abort")
        ... except RuntimeError:
        ...     pass
        >>> kv["a"]
        1
        >>> kv.close()
        """
        self._txn_begin()
        try:
            yield self
        except BaseException:
            self._txn_rollback()
            raise
        self._txn_commit()

    def open(self, key: str | bytes) -> ValueFile:
        """A read-only, seekable binary file over the stored bytes of ``key``.

        It reads the value as it was when opened, piece by piece straight
        from the file (nothing is loaded whole); if the key is rewritten in
        the meantime, reads raise ``InvalidArgument`` instead of mixing two
        versions. Stored bytes are returned as they are (no auto-unpacking).
        """
        return ValueFile(self._open_reader(key))

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


class ValueFile(io.RawIOBase):
    """Read-only binary file over one stored value (see ``KVault.open``)."""

    def __init__(self, reader: _core.ValueReader) -> None:
        super().__init__()
        self._reader = reader
        self._pos = 0

    @property
    def size(self) -> int:
        return self._reader.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._reader.size + offset
        else:
            raise InvalidArgument(f"invalid whence {whence}")
        if pos < 0:
            raise InvalidArgument("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        self._check()
        if self._pos >= self._reader.size:
            return 0
        n = self._reader.readinto_at(self._pos, buffer)
        self._pos += n
        return n

    def readall(self) -> bytes:
        self._check()
        left = max(self._reader.size - self._pos, 0)
        buf = bytearray(left)
        view = memoryview(buf)
        done = 0
        while done < left:
            n = self.readinto(view[done:])
            if n == 0:
                break
            done += n
        return bytes(buf[:done])

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def __repr__(self) -> str:
        return f"<ambervault ValueFile size={self._reader.size} pos={self._pos}>"
