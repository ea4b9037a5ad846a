"""Reference counts stay right on every DataPacker path, including errors.

Each workload runs once to warm caches (the map-key cache, numpy's import),
then many more times; Python-level allocations (tracked by tracemalloc, which
sees every object the binding creates) must not grow with the count.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from ambervault import DataPacker

RECORD = {"id": 7, "name": "x" * 20, "score": 0.5, "tags": ["a", (1, 2)], "raw": b"\x00\x01", 3: None}


def _swallow(fn):
    def run():
        try:
            fn()
        except (ValueError, TypeError, OverflowError):
            pass

    return run


def _workloads():
    mp, cb, js = DataPacker("msgpack"), DataPacker("cbor"), DataPacker("json")
    i64, s8, v = DataPacker("i64"), DataPacker("str:8:utf16le"), DataPacker("vec:f32:4")
    anyv = DataPacker("vec:i16")
    schema = DataPacker.with_json_schema({"type": "object", "required": ["id"]})
    blob_mp = mp.pack_many([RECORD] * 4)
    blob_v = v.pack_many(np.ones((8, 4), np.float32))
    arr = np.arange(100)
    bad = b"\x92\x01"  # truncated array
    key_map = b"\x81\x80\x01"  # a map as a map key
    return {
        "msgpack": lambda: mp.unpack(mp.pack(RECORD)),
        "cbor": lambda: cb.unpack(cb.pack(RECORD)),
        "json": lambda: js.unpack(js.pack({"a": [1, 2.5, "s", None]})),
        "stream": lambda: mp.unpack_many(blob_mp),
        "scalars": lambda: i64.unpack_many(i64.pack_many(list(range(50)))),
        "numpy": lambda: i64.unpack_many(i64.pack_many(arr), as_numpy=True),
        "text": lambda: s8.unpack(s8.pack("abc")),
        "vectors": lambda: (v.unpack_many(blob_v), v.unpack_many(blob_v, as_numpy=True)),
        "anyshape": lambda: anyv.unpack(anyv.pack(np.ones((2, 3), np.int16))),
        "schema": lambda: schema.unpack(schema.pack({"id": 1})),
        "err_truncated": _swallow(lambda: mp.unpack(bad)),
        "err_map_key": _swallow(lambda: mp.unpack(key_map)),
        "err_type": _swallow(lambda: mp.pack({"a": [object()]})),
        "err_overflow": _swallow(lambda: i64.pack_many([1, 2, 2**70])),
        "err_schema": _swallow(lambda: schema.pack({"no_id": [1, 2, 3]})),
        "err_deep": _swallow(lambda: mp.pack(_deep(600))),
        "err_shape": _swallow(lambda: v.pack([1, 2, 3])),
        "err_utf8": _swallow(lambda: DataPacker("str").unpack(b"\xff\xfe")),
    }


def _deep(n):
    x = []
    for _ in range(n):
        x = [x]
    return x


@pytest.mark.parametrize("name", sorted(_workloads()))
def test_no_growth(name: str) -> None:
    fn = _workloads()[name]
    for _ in range(200):
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(200):
            fn()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3000):
            fn()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # One leaked object per call would be >= 3000 * 16 bytes.
    assert after - before < 16 * 1024, f"{name}: {after - before} bytes kept after 3000 calls"
