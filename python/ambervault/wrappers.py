"""Wrappers that choose how KVault stores a value.

``kv[key] = MsgPack(value)`` (or ``Json``, ``Cbor``, ``Pickle``) stores
``value`` with that encoding instead of the one auto-packing would pick; the
value reads back decoded. They are the same shape as KohakuVault's wrappers
(``.data`` and ``.encoding_name``), and KVault accepts either library's.

``Pickle`` is the explicit opt-in to pickling one value. Reading it back
still needs ``enable_auto_pack(use_pickle=True)``, because unpickling runs
code from the file.
"""

from __future__ import annotations

from typing import Any


class EncodingWrapper:
    """A value and the encoding to store it with."""

    __slots__ = ("data", "encoding_name")

    def __init__(self, data: Any, encoding_name: str) -> None:
        self.data = data
        self.encoding_name = encoding_name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.data == self.data  # type: ignore[attr-defined]
        )

    __hash__ = None  # type: ignore[assignment]  # wraps mutable values


class MsgPack(EncodingWrapper):
    """Store as MessagePack (dict order, bytes, ints to 64 bits, NaN kept)."""

    __slots__ = ()

    def __init__(self, data: Any) -> None:
        super().__init__(data, "msgpack")


class Json(EncodingWrapper):
    """Store as UTF-8 JSON text (readable by any tool; no bytes, NaN or non-str keys)."""

    __slots__ = ()

    def __init__(self, data: Any) -> None:
        super().__init__(data, "json")


class Cbor(EncodingWrapper):
    """Store as CBOR (RFC 8949)."""

    __slots__ = ()

    def __init__(self, data: Any) -> None:
        super().__init__(data, "cbor")


class Pickle(EncodingWrapper):
    """Store with pickle: any picklable object; reading needs use_pickle=True."""

    __slots__ = ()

    def __init__(self, data: Any) -> None:
        super().__init__(data, "pickle")


__all__ = ["EncodingWrapper", "MsgPack", "Json", "Cbor", "Pickle"]
