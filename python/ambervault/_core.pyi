"""AmberVault native core (C++); use the ambervault package."""

from collections.abc import Iterable, Mapping
from typing import Any


def sqlite_version() -> str:
    """Version of the SQLite library the module runs on."""

class ValueReader:
    """A snapshot reader over one stored value (see KVault.open)."""

    @property
    def size(self) -> int: ...

    def readinto_at(self, offset: int, buffer: Any) -> int:
        """
        Copy bytes from `offset` into `buffer`; returns the count (0 at the end).
        """

class KVaultIterator:
    def __iter__(self) -> KVaultIterator: ...

    def __next__(self) -> Any: ...

class KVault:
    def __init__(self, path: str, *, table: str = 'kv', chunk_size: int = 1048576, retries: int = 4, backoff_base: float = 0.02, enable_wal: bool = True, page_size: int = 32768, mmap_size: int = 268435456, cache_kb: int = 100000, busy_timeout: float = 5.0, synchronous: str = 'normal', read_only: bool = False, value_cache_bytes: int = 33554432) -> None: ...

    def __getitem__(self, key: str | bytes, /) -> Any: ...

    def __setitem__(self, key: str | bytes, value: object, /) -> None: ...

    def __delitem__(self, key: str | bytes, /) -> None: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __len__(self) -> int: ...

    def get(self, key: str | bytes, default: object | None = None) -> Any:
        """Value of key as bytes, or default when it is absent."""

    def put(self, key: str | bytes, value: object) -> None:
        """Store value (bytes-like) under key (str or bytes)."""

    def delete(self, key: str | bytes) -> bool:
        """Remove key; True if it existed."""

    def exists(self, key: str | bytes) -> bool: ...

    def pop(self, key: str | bytes, *default: object) -> Any:
        """
        Remove key and return its value; default (if given) or KeyError when absent.
        """

    def setdefault(self, key: str | bytes, default: object) -> Any: ...

    def update(self, other: Mapping[str | bytes, object] | Iterable[tuple[str | bytes, object]] | None = None, **kwargs: object) -> None: ...

    def clear(self) -> None:
        """Remove every key in one transaction."""

    def __iter__(self) -> KVaultIterator: ...

    def keys(self, prefix: str | bytes | None = None, limit: int | None = None, *, start: str | bytes | None = None, stop: str | bytes | None = None, reverse: bool = False) -> KVaultIterator:
        """
        Iterator over keys (bytes) in key order: those starting with prefix, or the range [start, stop) (reverse=True: descending); at most limit of them. Bounded memory.
        """

    def values(self, prefix: str | bytes | None = None, limit: int | None = None, *, start: str | bytes | None = None, stop: str | bytes | None = None, reverse: bool = False) -> KVaultIterator:
        """Iterator over values in key order (see keys())."""

    def items(self, prefix: str | bytes | None = None, limit: int | None = None, *, start: str | bytes | None = None, stop: str | bytes | None = None, reverse: bool = False) -> KVaultIterator:
        """Iterator over (key, value) pairs in key order (see keys())."""

    def get_many(self, keys: Iterable[str | bytes], default: object | None = None) -> list[Any]:
        """
        Values of many keys in one call and one snapshot (default for missing keys).
        """

    def put_many(self, items: Mapping[str | bytes, object] | Iterable[tuple[str | bytes, object]]) -> None:
        """Store many values in one transaction: all or none."""

    def delete_many(self, keys: Iterable[str | bytes]) -> int:
        """Delete many keys in one transaction; returns how many existed."""

    def value_size(self, key: str | bytes) -> int:
        """Size in bytes of the stored value."""

    def readinto(self, key: str | bytes, buffer: Any, offset: int = 0) -> int:
        """
        Copy the stored bytes (from offset) straight into a writable buffer; returns the count.
        """

    def get_buffer(self, key: str | bytes) -> bytes:
        """The stored bytes, read from the file in one copy (no decoding)."""

    def get_to_file(self, key: str | bytes, writer: Any, *, chunk_size: int | None = None) -> int:
        """Stream the value of key into writer.write(); returns the byte count."""

    def enable_cache(self, *, cap_bytes: int = 67108864, flush_threshold: int = 16777216, flush_interval: float | None = None) -> None: ...

    def disable_cache(self) -> None: ...

    def flush_cache(self) -> int:
        """
        Write pending cache entries in one transaction; returns how many (0 while the cache is locked).
        """

    def cache_enabled(self) -> bool: ...

    def enable_auto_pack(self, use_pickle: bool = False) -> None:
        """
        Store any value: bytes raw, str as UTF-8, numbers, None, dicts and lists as MessagePack, numpy arrays as vec: arrays. Pickle (objects with no safe encoding, and reading pickled values) only with use_pickle=True. Turns headers on.
        """

    def disable_auto_pack(self) -> None:
        """
        Bytes only: put takes bytes-like values, get returns stored bytes as they are (headers included).
        """

    def auto_pack_enabled(self) -> bool: ...

    def enable_headers(self) -> None:
        """Write the value header before non-bytes values (the default)."""

    def disable_headers(self) -> None:
        """
        Raw mode for new writes: only bytes-like values are accepted (a value without a header could not be decoded again). Stored headers are still decoded.
        """

    def headers_enabled(self) -> bool: ...

    def features(self) -> list[str]:
        """
        The value formats recorded in the file (KohakuVault's kohakuvault_meta kv_features).
        """

    def checkpoint(self) -> None: ...

    def optimize(self) -> None: ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...

    @property
    def path(self) -> str: ...

    @property
    def table(self) -> str: ...

class CSBTree:
    """
    An in-memory ordered map (cache-sensitive B+tree). Keys are any objects ordered by <.
    """

    def __init__(self, order: int = 63, *, hash_index: bool = True) -> None: ...

    def __len__(self, /) -> int: ...

    def __getitem__(self, key: object | None, /) -> object: ...

    def __setitem__(self, key: object | None, value: object | None, /) -> None: ...

    def __delitem__(self, key: object | None, /) -> None: ...

    def __contains__(self, key: object | None, /) -> bool: ...

    def get_default(self, key: object | None, default: object | None) -> object: ...

    def setdefault(self, key: object | None, default: object | None) -> object: ...

    def update(self, other: object) -> None: ...

    def insert(self, key: object | None, value: object | None) -> object:
        """Insert or replace; returns the old value or None."""

    def get(self, key: object | None, default: object | None = None) -> object: ...

    def remove(self, key: object | None) -> object:
        """Remove key; returns its value or None."""

    def __iter__(self) -> CSBTreeIterator: ...

    def keys(self) -> list: ...

    def values(self) -> list: ...

    def items(self) -> list: ...

    def range(self, start: object | None, end: object | None, reverse: bool = False, limit: int | None = None) -> list:
        """
        Pairs with start <= key < end, ascending (or descending with reverse=True), at most limit of them.
        """

    def min(self) -> tuple: ...

    def max(self) -> tuple: ...

    def pop_min(self) -> tuple: ...

    def floor(self, key: object | None) -> object: ...

    def ceiling(self, key: object | None) -> object: ...

    def clear(self) -> None: ...

    def is_empty(self) -> bool: ...

    @property
    def hash_index_active(self) -> bool:
        """
        Whether get/[]/in currently go through the hash index: True while every key shares one hashable built-in kind (see docs/containers.md).
        """

    def __repr__(self) -> str: ...

class CSBTreeIterator:
    def __iter__(self) -> CSBTreeIterator: ...

    def __next__(self) -> tuple[Any, Any]: ...

class SkipList:
    """
    An in-memory ordered map (skip list). Keys are any objects ordered by <.
    """

    def __init__(self, *, hash_index: bool = True) -> None: ...

    def __len__(self, /) -> int: ...

    def __getitem__(self, key: object | None, /) -> object: ...

    def __setitem__(self, key: object | None, value: object | None, /) -> None: ...

    def __delitem__(self, key: object | None, /) -> None: ...

    def __contains__(self, key: object | None, /) -> bool: ...

    def insert(self, key: object | None, value: object | None) -> object:
        """Insert or replace; returns the old value or None."""

    def get(self, key: object | None, default: object | None = None) -> object: ...

    def remove(self, key: object | None) -> object:
        """Remove key; returns its value or None."""

    def __iter__(self) -> SkipListIterator: ...

    def keys(self) -> list: ...

    def values(self) -> list: ...

    def items(self) -> list: ...

    def range(self, start: object | None, end: object | None, reverse: bool = False, limit: int | None = None) -> list:
        """
        Pairs with start <= key < end, ascending (or descending with reverse=True), at most limit of them.
        """

    def min(self) -> object: ...

    def max(self) -> object: ...

    def pop_min(self) -> object: ...

    def floor(self, key: object | None) -> object: ...

    def ceiling(self, key: object | None) -> object: ...

    def clear(self) -> None: ...

    def is_empty(self) -> bool: ...

    @property
    def hash_index_active(self) -> bool:
        """
        Whether get/[]/in currently go through the hash index: True while every key shares one hashable built-in kind (see docs/containers.md).
        """

    def __repr__(self) -> str: ...

class SkipListIterator:
    def __iter__(self) -> SkipListIterator: ...

    def __next__(self) -> tuple[Any, Any]: ...

class DataPacker:
    """Typed serializer for a dtype string (see ambervault.DataPacker)."""

    def __init__(self, dtype: str) -> None:
        """Parse `dtype` once; ValueError names the bad part."""

    @staticmethod
    def with_json_schema(schema: dict[str, object] | str) -> DataPacker:
        """A MessagePack packer that validates every value against a JSON Schema."""

    @staticmethod
    def with_cddl_schema(schema: str | None = None) -> DataPacker:
        """A CBOR packer; the schema is kept but not applied."""

    def pack_many(self, values: Iterable[object]) -> bytes:
        """Pack every value and concatenate; numpy arrays take a fast path."""

    def unpack_many(self, data: bytes | bytearray | memoryview, count: int | None = None, offsets: Iterable[int] | None = None, as_numpy: bool = False) -> list[Any] | Any:
        """
        Unpack consecutive elements (fixed: `count`, default all; variable: `offsets`).
        """

    @property
    def elem_size(self) -> int:
        """Bytes per element; 0 for variable-size dtypes."""

    @property
    def is_varsize(self) -> bool: ...

    @property
    def dtype(self) -> str:
        """The canonical dtype string."""

    @property
    def schema(self) -> str | None:
        """The schema text of a schema packer, else None."""

    def __repr__(self) -> str: ...

    def __eq__(self, other: object) -> bool: ...

    def __hash__(self) -> int: ...

    def __reduce__(self) -> tuple: ...

    def pack(self, value: object, /) -> bytes:
        """Pack one value into bytes."""

    def unpack(self, data: bytes | bytearray | memoryview, offset: int = 0) -> Any:
        """
        Unpack one element at `offset` (variable-size dtypes: everything from
        `offset` to the end of `data`).
        """

class ColumnVault:
    def __init__(self, path: str, min_chunk_bytes: int = 131072, max_chunk_bytes: int = 16777216, *, retries: int = 4, busy_timeout: float = 5.0, enable_wal: bool = True, read_only: bool = False, synchronous: str = 'normal') -> None: ...

    def list_columns(self) -> list[tuple[str, str, int]]:
        """Every column as (name, dtype, length), in creation order."""

    def flush_cache(self) -> int:
        """Write every column's pending appends; returns the bytes written."""

    @property
    def closed(self) -> bool: ...

    @property
    def path(self) -> str: ...

class Column:
    def __init__(self, vault: ColumnVault, name: str) -> None: ...

    @property
    def name(self) -> str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def elem_size(self) -> int:
        """Bytes per element (0: variable size)."""

    @property
    def is_var_size(self) -> bool: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: int | slice, /) -> Any: ...

    def __setitem__(self, key: int | slice, value: Any, /) -> None: ...

    def __delitem__(self, key: int | slice, /) -> None: ...

    def to_numpy(self, start: int | None = None, stop: int | None = None) -> Any:
        """
        Elements [start, stop) as one numpy array, read straight from the chunks (numeric and fixed-shape vec: dtypes).
        """

    def append(self, value: Any) -> None: ...

    def extend(self, values: Iterable[Any]) -> None:
        """
        Append every value in one transaction (numpy arrays without a Python loop).
        """

    def insert(self, index: int, value: Any) -> None: ...

    def clear(self) -> None:
        """Remove every element and free the chunks."""

    def disable_cache(self) -> None:
        """Flush pending appends, then stop caching."""

    def flush_cache(self) -> int:
        """Write pending appends; returns the bytes written."""

    def storage_info(self) -> dict:
        """{'chunks', 'allocated_bytes', 'garbage_bytes'} of this column."""

    def compact(self) -> None:
        """
        Rewrite a variable-size column without the bytes left by updates and deletes.
        """
