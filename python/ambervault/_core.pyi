"""AmberVault native core (C++); use the ambervault package."""

from collections.abc import Iterable, Mapping
from typing import Any


def sqlite_version() -> str:
    """Version of the SQLite library the module runs on."""

class KVaultIterator:
    def __iter__(self) -> KVaultIterator: ...

    def __next__(self) -> Any: ...

class KVault:
    def __init__(self, path: str, *, table: str = 'kv', chunk_size: int = 1048576, retries: int = 4, backoff_base: float = 0.02, enable_wal: bool = True, page_size: int = 32768, mmap_size: int = 268435456, cache_kb: int = 100000, busy_timeout: float = 5.0, synchronous: str = 'normal', read_only: bool = False) -> None: ...

    def __getitem__(self, key: str | bytes, /) -> bytes: ...

    def __setitem__(self, key: str | bytes, value: bytes | bytearray | memoryview, /) -> None: ...

    def __delitem__(self, key: str | bytes, /) -> None: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __len__(self) -> int: ...

    def get(self, key: str | bytes, default: object | None = None) -> bytes | object | None:
        """Value of key as bytes, or default when it is absent."""

    def put(self, key: str | bytes, value: bytes | bytearray | memoryview) -> None:
        """Store value (bytes-like) under key (str or bytes)."""

    def delete(self, key: str | bytes) -> bool:
        """Remove key; True if it existed."""

    def exists(self, key: str | bytes) -> bool: ...

    def pop(self, key: str | bytes, *default: object) -> bytes | object:
        """
        Remove key and return its value; default (if given) or KeyError when absent.
        """

    def setdefault(self, key: str | bytes, default: bytes | bytearray | memoryview) -> bytes: ...

    def update(self, other: Mapping[str | bytes, bytes | bytearray | memoryview] | Iterable[tuple[str | bytes, bytes | bytearray | memoryview]] | None = None, **kwargs: bytes | bytearray | memoryview) -> None: ...

    def clear(self) -> None:
        """Remove every key in one transaction."""

    def __iter__(self) -> KVaultIterator: ...

    def keys(self, prefix: object | None = None, limit: int | None = None) -> KVaultIterator:
        """
        Iterator over keys (bytes) in key order, optionally only those starting with prefix and at most limit of them.
        """

    def values(self) -> KVaultIterator: ...

    def items(self) -> KVaultIterator: ...

    def get_to_file(self, key: str | bytes, writer: Any, *, chunk_size: int | None = None) -> int:
        """Stream the value of key into writer.write(); returns the byte count."""

    def enable_cache(self, *, cap_bytes: int = 67108864, flush_threshold: int = 16777216, flush_interval: float | None = None) -> None: ...

    def disable_cache(self) -> None: ...

    def flush_cache(self) -> int:
        """
        Write pending cache entries in one transaction; returns how many (0 while the cache is locked).
        """

    def cache_enabled(self) -> bool: ...

    def checkpoint(self) -> None: ...

    def optimize(self) -> None: ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...

    @property
    def path(self) -> str: ...

    @property
    def table(self) -> str: ...
