#!/usr/bin/env python3
"""DataPacker benchmark: ambervault vs kohakuvault (and reference packers), in one run.

Three workloads, each timed on every library in one process (a pinned
release such as kohakuvault==0.6.0 runs the same code in one child process,
because two versions of one package cannot be imported side by side):

  suite    KohakuVault's own DataPacker suite (suite 6 of its
           examples/benchmark.py): dtypes i64 (range(N)), f64 (i * 1.5),
           bytes:128 (b"x" * 128), str:utf8 (f"string_{i}"), msgpack
           ({"id": i, "name": f"item_{i}", "value": i * 1.5}); for each:
           pack(v) per item, pack_many(list), unpack(b, 0) per item,
           unpack_many(count=N) or unpack_many(offsets=<start of each item>).
           References: struct, str.encode/bytes.decode, bytes join/slice,
           array, numpy, msgpack, ormsgpack.
  dicts    small 10-field dicts ({"id": i, "name": f"user_{i}", "score":
           i * 0.5, "active": i % 2 == 0, "tags": ["a", "b"], "x": i,
           "y": -i, "z": 1.25, "email": f"u{i}@ex.com", "n": None}):
           pack and unpack per item on DataPacker("msgpack"),
           msgpack.packb/unpackb (and a reused msgpack.Packer), ormsgpack.
  vectors  N float32[768] vectors (np.random.default_rng(0)), dtype
           vec:f32:768: pack per item, pack_many(2-D array), pack_many(list
           of 1-D arrays), unpack per item, unpack_many(count=N) -> list,
           unpack_many(count=N, as_numpy=True) -> 2-D array; numpy reference
           (tobytes / frombuffer).

Every cell is checked once before it is timed (same bound methods, untimed):
each library must round-trip the data, pack_many must equal the
concatenated pack() outputs, and ambervault's packed bytes must equal
kohakuvault's for i64, f64, bytes:128, str:utf8 and vec:f32:768. A failed
check marks the cell with a dagger; a call that raises makes the cell n/a.

A timing is one time.perf_counter() interval around k back-to-back calls of
the operation (k chosen once per cell so that an interval lasts at least
--min-time), with the cyclic GC off; the table shows the best of --repeat
timings, as items per second. Libraries run in rotating order. Every process
first sets up a pymalloc "ballast" (--ballast), so that no library's timing
depends on whether the heap happens to hand arenas back to the OS.

Usage (from the repository root):
  python bench/bench_packer.py --quick          # N = 2,000, about 20 s
  python bench/bench_packer.py --repeat 3       # N = 10,000 (the default)
  python bench/bench_packer.py --libs ambervault kohakuvault --workloads dicts
  python bench/bench_packer.py --json packer.json

See bench/README.md ("DataPacker").
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import hashlib
import json
import math
import os
import platform
import resource
import struct
import subprocess
import sys
import time
from array import array
from pathlib import Path

from _common import (  # noqa: E402  (bench/ is on sys.path)
    cpu_busy_jiffies,
    cpu_model,
    fmt_rate,
    import_repo_aware,
    mem_total,
    module_version,
    native_fingerprint,
)
from bench_kv import pinned_path  # noqa: E402  (name==version -> pip-installed once into the bench cache)

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULT_TAG = "@@BENCH_PACKER_RESULT "
GOAL_VS_KOHAKU = 2.0
GOAL_VS_MSGPACK = 1.0
DEFAULT_LIBS = ["ambervault", "kohakuvault==0.6.0", "kohakuvault"]
REFS = ["stdlib", "array", "numpy", "msgpack", "msgpack Packer", "ormsgpack"]
WORKLOADS = ["suite", "dicts", "vectors"]
REF_WHAT = {
    "stdlib": "struct, str.encode/bytes.decode, bytes join/slice",
    "array": "array.array",
    "numpy": "numpy",
    "msgpack": "msgpack.packb/unpackb/Unpacker",
    "msgpack Packer": "one reused msgpack.Packer().pack",
    "ormsgpack": "ormsgpack.packb/unpackb",
}
# What the reference columns compute, per workload (printed under each table).
LEGEND = {
    "suite": [
        (("stdlib",),
         "stdlib, i64/f64: `Struct('<q').pack(v)` per item, `Struct(f'<{N}q').pack(*data)`, "
         "`Struct('<q').unpack(b)` per item, `list(Struct(f'<{N}q').unpack(blob))` ('d' for f64); "
         "str:utf8: `s.encode()`, `''.join(data).encode()`, `b.decode()`, `[blob[s:e].decode() ...]`; "
         "bytes:128: `b''.join(data)`, `[blob[i:i+128] ...]`"),
        (("array",), "array: `array('q', data).tobytes()`, `array('q', blob).tolist()` ('d' for f64)"),
        (("numpy",), "numpy: `np.array(data, '<i8').tobytes()`, `np.frombuffer(blob, '<i8').tolist()` ('<f8' for f64)"),
        (("msgpack", "ormsgpack"),
         "msgpack / ormsgpack: `packb(v)` per item, `b''.join(map(packb, data))`, `unpackb(b)` per item; "
         "unpack_many: msgpack `Unpacker().feed(blob)` + `list()`, ormsgpack `[unpackb(mv[s:e]) ...]` "
         "over memoryview slices at the same start offsets"),
    ],
    "dicts": [
        (("msgpack",), "msgpack: `msgpack.packb(d)` / `msgpack.unpackb(b)` per item (the goal's baseline)"),
        (("msgpack Packer",), "msgpack Packer: one `msgpack.Packer()` reused, `.pack(d)` per item"),
        (("ormsgpack",), "ormsgpack: `ormsgpack.packb(d)` / `ormsgpack.unpackb(b)` per item"),
    ],
    "vectors": [
        (("numpy",),
         "numpy (its own raw format, 3,072 bytes per vector; the DataPackers write kohakuvault's 3,073-byte "
         "format with a one-byte header): `v.tobytes()` per item, `arr.tobytes()`, "
         "`b''.join(map(ndarray.tobytes, rows))`, `np.frombuffer(b, np.float32)` per item, "
         "`list(np.frombuffer(raw, np.float32).reshape(N, 768))`, `np.frombuffer(...).reshape(N, 768)`. "
         "frombuffer returns views (no copy), so its unpack rows are an upper bound, not like for like"),
    ],
}
SUITE_DTYPES = ["i64", "f64", "bytes:128", "str:utf8", "msgpack"]
VEC_DIM = 768
VEC_DTYPE = f"vec:f32:{VEC_DIM}"
# ambervault's packed bytes must equal kohakuvault's for these groups/rows
SAME_BYTES_GROUPS = {"i64", "f64", "bytes:128", "str:utf8", VEC_DTYPE}
PACK_ROWS = {"pack", "pack_many", "pack_many_2d", "pack_many_list"}
# When kohakuvault cannot do a row at all, the ratio is taken against the
# closest thing it can do (marked in the table).
RATIO_FALLBACK = {"pack_many_2d": "pack_many_list", "unpack_many_numpy": "unpack_many_list"}
FAULTS_FLAG = 64  # minor page faults per call; a pymalloc arena is 256 pages


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Libraries
# ---------------------------------------------------------------------------


def import_name(lib: str) -> str:
    return lib.split("==", 1)[0]






class Impl:
    """A column of the tables: a DataPacker library ("dp") or a reference."""

    def __init__(self, label: str, kind: str, spec: str | None = None):
        self.label = label
        self.kind = kind  # "dp" or one of REFS
        self.spec = spec  # for "dp": the --libs entry
        self.module = None
        self.version = None
        self.file = None
        self.unavailable = None  # reason, when it cannot run at all
        self.fingerprint = {}
        self.child = spec is not None and "==" in spec  # runs in a child process

    def load(self) -> "Impl":
        try:
            if self.kind == "dp":
                self.module = import_repo_aware(import_name(self.spec))
                dp = getattr(self.module, "DataPacker", None)
                if dp is None:
                    where = list(getattr(self.module, "__path__", [])) or [getattr(self.module, "__file__", "?")]
                    raise ImportError(f"package found at {where} but it has no DataPacker (native extension not built yet?)")
                dp("i64").pack(1)  # smoke test
                self.fingerprint = native_fingerprint(self.module)
            elif self.kind == "stdlib":
                self.module = struct
            elif self.kind == "array":
                self.module = sys.modules["array"]
            elif self.kind in ("msgpack", "msgpack Packer"):
                self.module = __import__("msgpack")
            else:
                self.module = __import__(self.kind)
            self.file = getattr(self.module, "__file__", None)
            if self.kind == "stdlib" or self.kind == "array":
                self.version = "Python " + platform.python_version()
            elif self.kind == "msgpack Packer" or self.kind == "msgpack":
                self.version = ".".join(map(str, self.module.version))
            else:
                self.version = module_version(self.module)
        except Exception as exc:
            self.unavailable = f"{type(exc).__name__}: {exc}"
        return self


# ---------------------------------------------------------------------------
# Workload data
# ---------------------------------------------------------------------------


def suite_data(dtype: str, n: int) -> list:
    if dtype == "i64":
        return list(range(n))
    if dtype == "f64":
        return [i * 1.5 for i in range(n)]
    if dtype == "bytes:128":
        return [b"x" * 128 for _ in range(n)]
    if dtype == "str:utf8":
        return [f"string_{i}" for i in range(n)]
    if dtype == "msgpack":
        return [{"id": i, "name": f"item_{i}", "value": i * 1.5} for i in range(n)]
    raise ValueError(dtype)


def dict_data(n: int) -> list:
    return [
        {
            "id": i,
            "name": f"user_{i}",
            "score": i * 0.5,
            "active": i % 2 == 0,
            "tags": ["a", "b"],
            "x": i,
            "y": -i,
            "z": 1.25,
            "email": f"u{i}@ex.com",
            "n": None,
        }
        for i in range(n)
    ]


def vector_data(n: int):
    import numpy as np

    return np.random.default_rng(0).standard_normal((n, VEC_DIM), dtype=np.float32)


# (workload, group) -> [(row id, label)], in display order
def rows_for(workload: str, group: str) -> list:
    if workload == "suite":
        many = "unpack_many(offsets=starts)" if group in ("str:utf8", "msgpack") else "unpack_many(count=N)"
        return [
            ("pack", "pack(v) per item"),
            ("pack_many", "pack_many(list)"),
            ("unpack", "unpack(b, 0) per item"),
            ("unpack_many", many),
        ]
    if workload == "dicts":
        return [("pack", "pack per item"), ("unpack", "unpack per item")]
    return [
        ("pack", "pack(v) per item (1-D array)"),
        ("pack_many_2d", "pack_many(2-D array)"),
        ("pack_many_list", "pack_many(list of 1-D arrays)"),
        ("unpack", "unpack(b, 0) per item"),
        ("unpack_many_list", "unpack_many(count=N) -> list of arrays"),
        ("unpack_many_numpy", "unpack_many(count=N, as_numpy=True) -> 2-D array"),
    ]


# ---------------------------------------------------------------------------
# Timed loops and checks
# ---------------------------------------------------------------------------


def each(f, xs):
    for x in xs:
        f(x)


def each_with(f, xs, a):
    for x in xs:
        f(x, a)


def starts_of(items) -> list:
    out, pos = [], 0
    for b in items:
        out.append(pos)
        pos += len(b)
    return out


def digest_items(items) -> str:
    h = hashlib.sha256()
    for b in items:
        b = bytes(b)
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:16]


def digest_blob(b) -> str:
    return hashlib.sha256(bytes(b)).hexdigest()[:16]


def first_mismatch(got, want, is_vec=False) -> str | None:
    got = list(got)
    if len(got) != len(want):
        return f"{len(got)} items, expected {len(want)}"
    if is_vec:
        import numpy as np

        for i, (g, w) in enumerate(zip(got, want)):
            if not isinstance(g, np.ndarray) or g.dtype != np.float32 or g.shape != w.shape or not np.array_equal(g, w):
                return f"item {i}: got {type(g).__name__} {getattr(g, 'dtype', '')} {getattr(g, 'shape', '')}, not equal"
        return None
    if got == want and all(type(g) is type(w) for g, w in zip(got, want)):
        return None
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w or type(g) is not type(w):
            return f"item {i}: got {g!r:.60}, expected {w!r:.60}"
    return "items differ"


def chk_pack_each(f, xs):
    outs = [f(x) for x in xs]
    bad = [f"item {i}: {type(o).__name__}, not bytes" for i, o in enumerate(outs) if not isinstance(o, bytes)][:1]
    return bad, digest_items(outs)


def chk_pack_many(call, f_each, xs):
    out = call()
    want = b"".join(f_each(x) for x in xs)
    bad = [] if isinstance(out, bytes) else [f"returned {type(out).__name__}, not bytes"]
    if bytes(out) != want:
        bad.append(f"pack_many ({len(out)} bytes) != concatenated per-item pack ({len(want)} bytes)")
    return bad, digest_blob(out)


def chk_values(call, want, is_vec=False):
    m = first_mismatch(call(), want, is_vec)
    return ([m] if m else []), None


def chk_msgpack_valid(f, xs):
    """Packed items must be standard MessagePack (decoded by the msgpack package)."""
    bad, dig = chk_pack_each(f, xs)
    try:
        import msgpack
    except ImportError:
        return bad, dig
    m = first_mismatch([msgpack.unpackb(f(x)) for x in xs], xs)
    if m:
        bad.append(f"not standard MessagePack (msgpack.unpackb): {m}")
    return bad, dig


# ---------------------------------------------------------------------------
# Cells: one (row, implementation) each, as {row: (timed fn, check fn)}
# ---------------------------------------------------------------------------


def cells_suite(impl: Impl, dtype: str, data: list) -> dict:
    n = len(data)
    k = impl.kind
    if k == "dp":
        p = impl.module.DataPacker(dtype)
        packed = [p.pack(v) for v in data]
        blob = b"".join(packed)
        kw = {"offsets": starts_of(packed)} if p.is_varsize else {"count": n}
        chk_each = chk_msgpack_valid if dtype == "msgpack" else chk_pack_each
        return {
            "pack": (lambda: each(p.pack, data), lambda: chk_each(p.pack, data)),
            "pack_many": (lambda: p.pack_many(data), lambda: chk_pack_many(lambda: p.pack_many(data), p.pack, data)),
            "unpack": (
                lambda: each_with(p.unpack, packed, 0),
                lambda: chk_values(lambda: [p.unpack(b, 0) for b in packed], data),
            ),
            "unpack_many": (
                lambda: p.unpack_many(blob, **kw),
                lambda: chk_values(lambda: p.unpack_many(blob, **kw), data),
            ),
        }
    if dtype in ("i64", "f64") and k in ("stdlib", "array", "numpy"):
        code = "q" if dtype == "i64" else "d"
        one, alln = struct.Struct("<" + code), struct.Struct(f"<{n}{code}")
        packed = [one.pack(v) for v in data]
        blob = b"".join(packed)
        if k == "stdlib":
            return {
                "pack": (lambda: each(one.pack, data), lambda: chk_pack_each(one.pack, data)),
                "pack_many": (lambda: alln.pack(*data), lambda: chk_pack_many(lambda: alln.pack(*data), one.pack, data)),
                "unpack": (
                    lambda: each(one.unpack, packed),
                    lambda: chk_values(lambda: [one.unpack(b)[0] for b in packed], data),
                ),
                "unpack_many": (
                    lambda: list(alln.unpack(blob)),
                    lambda: chk_values(lambda: list(alln.unpack(blob)), data),
                ),
            }
        if k == "array":
            assert sys.byteorder == "little"
            return {
                "pack_many": (
                    lambda: array(code, data).tobytes(),
                    lambda: chk_pack_many(lambda: array(code, data).tobytes(), one.pack, data),
                ),
                "unpack_many": (
                    lambda: array(code, blob).tolist(),
                    lambda: chk_values(lambda: array(code, blob).tolist(), data),
                ),
            }
        np = impl.module
        dt = np.dtype("<i8" if dtype == "i64" else "<f8")
        return {
            "pack_many": (
                lambda: np.array(data, dtype=dt).tobytes(),
                lambda: chk_pack_many(lambda: np.array(data, dtype=dt).tobytes(), one.pack, data),
            ),
            "unpack_many": (
                lambda: np.frombuffer(blob, dt).tolist(),
                lambda: chk_values(lambda: np.frombuffer(blob, dt).tolist(), data),
            ),
        }
    if dtype == "str:utf8" and k == "stdlib":
        packed = [s.encode() for s in data]
        blob = b"".join(packed)
        starts = starts_of(packed)

        def split_decode():
            ends = starts[1:] + [len(blob)]
            return [blob[s:e].decode() for s, e in zip(starts, ends)]

        return {
            "pack": (lambda: each(str.encode, data), lambda: chk_pack_each(str.encode, data)),
            "pack_many": (
                lambda: "".join(data).encode(),
                lambda: chk_pack_many(lambda: "".join(data).encode(), str.encode, data),
            ),
            "unpack": (lambda: each(bytes.decode, packed), lambda: chk_values(lambda: [b.decode() for b in packed], data)),
            "unpack_many": (split_decode, lambda: chk_values(split_decode, data)),
        }
    if dtype == "bytes:128" and k == "stdlib":
        blob = b"".join(data)

        def split():
            return [blob[i : i + 128] for i in range(0, len(blob), 128)]

        return {
            "pack_many": (lambda: b"".join(data), lambda: chk_pack_many(lambda: b"".join(data), bytes, data)),
            "unpack_many": (split, lambda: chk_values(split, data)),
        }
    if dtype == "msgpack" and k in ("msgpack", "ormsgpack"):
        m = impl.module
        packb, unpackb = m.packb, m.unpackb
        packed = [packb(v) for v in data]
        blob = b"".join(packed)
        starts = starts_of(packed)
        if k == "msgpack":

            def unpack_many():
                u = m.Unpacker()
                u.feed(blob)
                return list(u)

        else:

            def unpack_many():
                mv = memoryview(blob)
                ends = starts[1:] + [len(blob)]
                return [unpackb(mv[s:e]) for s, e in zip(starts, ends)]

        return {
            "pack": (lambda: each(packb, data), lambda: chk_pack_each(packb, data)),
            "pack_many": (
                lambda: b"".join(map(packb, data)),
                lambda: chk_pack_many(lambda: b"".join(map(packb, data)), packb, data),
            ),
            "unpack": (lambda: each(unpackb, packed), lambda: chk_values(lambda: [unpackb(b) for b in packed], data)),
            "unpack_many": (unpack_many, lambda: chk_values(unpack_many, data)),
        }
    return {}


def cells_dicts(impl: Impl, data: list) -> dict:
    k = impl.kind
    if k == "dp":
        p = impl.module.DataPacker("msgpack")
        packed = [p.pack(v) for v in data]
        return {
            "pack": (lambda: each(p.pack, data), lambda: chk_msgpack_valid(p.pack, data)),
            "unpack": (
                lambda: each_with(p.unpack, packed, 0),
                lambda: chk_values(lambda: [p.unpack(b, 0) for b in packed], data),
            ),
        }
    if k in ("msgpack", "ormsgpack"):
        packb, unpackb = impl.module.packb, impl.module.unpackb
        packed = [packb(v) for v in data]
        return {
            "pack": (lambda: each(packb, data), lambda: chk_pack_each(packb, data)),
            "unpack": (lambda: each(unpackb, packed), lambda: chk_values(lambda: [unpackb(b) for b in packed], data)),
        }
    if k == "msgpack Packer":
        packer = impl.module.Packer()
        return {"pack": (lambda: each(packer.pack, data), lambda: chk_msgpack_valid(packer.pack, data))}
    return {}


def cells_vectors(impl: Impl, arr, rows: list) -> dict:
    n = len(rows)
    k = impl.kind
    if k == "dp":
        p = impl.module.DataPacker(VEC_DTYPE)
        packed = [p.pack(v) for v in rows]
        blob = b"".join(packed)
        return {
            "pack": (lambda: each(p.pack, rows), lambda: chk_pack_each(p.pack, rows)),
            "pack_many_2d": (lambda: p.pack_many(arr), lambda: chk_pack_many(lambda: p.pack_many(arr), p.pack, rows)),
            "pack_many_list": (lambda: p.pack_many(rows), lambda: chk_pack_many(lambda: p.pack_many(rows), p.pack, rows)),
            "unpack": (
                lambda: each_with(p.unpack, packed, 0),
                lambda: chk_values(lambda: [p.unpack(b, 0) for b in packed], rows, is_vec=True),
            ),
            "unpack_many_list": (
                lambda: p.unpack_many(blob, count=n),
                lambda: chk_values(lambda: p.unpack_many(blob, count=n), rows, is_vec=True),
            ),
            "unpack_many_numpy": (
                lambda: p.unpack_many(blob, count=n, as_numpy=True),
                lambda: chk_values(lambda: [p.unpack_many(blob, count=n, as_numpy=True)], [arr], is_vec=True),
            ),
        }
    if k == "numpy":
        np = impl.module
        f32 = np.float32
        tobytes = np.ndarray.tobytes
        raw_items = [r.tobytes() for r in rows]
        raw = arr.tobytes()
        return {
            "pack": (lambda: each(tobytes, rows), lambda: chk_pack_each(tobytes, rows)),
            "pack_many_2d": (lambda: arr.tobytes(), lambda: chk_pack_many(lambda: arr.tobytes(), tobytes, rows)),
            "pack_many_list": (
                lambda: b"".join(map(tobytes, rows)),
                lambda: chk_pack_many(lambda: b"".join(map(tobytes, rows)), tobytes, rows),
            ),
            "unpack": (
                lambda: each_with(np.frombuffer, raw_items, f32),
                lambda: chk_values(lambda: [np.frombuffer(b, f32) for b in raw_items], rows, is_vec=True),
            ),
            "unpack_many_list": (
                lambda: list(np.frombuffer(raw, f32).reshape(n, VEC_DIM)),
                lambda: chk_values(lambda: list(np.frombuffer(raw, f32).reshape(n, VEC_DIM)), rows, is_vec=True),
            ),
            "unpack_many_numpy": (
                lambda: np.frombuffer(raw, f32).reshape(n, VEC_DIM),
                lambda: chk_values(lambda: [np.frombuffer(raw, f32).reshape(n, VEC_DIM)], [arr], is_vec=True),
            ),
        }
    return {}


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


class Cell:
    def __init__(self, key: str, label: str, count: int):
        self.key = key  # "workload|group|row"
        self.label = label  # implementation
        self.count = count  # items per call
        self.fn = None
        self.check = None
        self.status = "ok"  # ok | n/a | not installed
        self.reason = ""
        self.k = 1
        self.times = []  # seconds per call, one per repeat
        self.faults = []  # minor page faults per call, one per repeat
        self.failures = []
        self.digest = None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("label", "count", "status", "reason", "k", "times", "faults", "failures", "digest")}


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(fn, k: int, keep_gc: bool) -> tuple:
    """(seconds per call, minor page faults per call) over k back-to-back calls."""
    gc.collect()
    if not keep_gc:
        gc.disable()
    try:
        f0 = minor_faults()
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        dt = time.perf_counter() - t0
        return dt / k, (minor_faults() - f0) / k
    finally:
        gc.enable()


def groups_for(workloads, n: int, vec_n: int):
    """(workload, group, data maker) in order."""
    out = []
    if "suite" in workloads:
        for dt in SUITE_DTYPES:
            out.append(("suite", dt, lambda dt=dt: suite_data(dt, n)))
    if "dicts" in workloads:
        out.append(("dicts", "dict10", lambda: dict_data(n)))
    if "vectors" in workloads:
        out.append(("vectors", VEC_DTYPE, lambda: vector_data(vec_n)))
    return out


def build_cells(impl: Impl, workload: str, group: str, data) -> dict:
    if workload == "suite":
        return cells_suite(impl, group, data)
    if workload == "dicts":
        return cells_dicts(impl, data)
    arr, rows = data
    return cells_vectors(impl, arr, rows)


_BALLAST: list = []


def make_ballast(mib: int) -> None:
    """Leave `mib` MiB of pymalloc arenas touched and almost empty (one small
    object survives in each), as in a process that has been running a while.

    Without it, whether a call that builds and frees ~1 MiB of small objects
    (10,000 bytes:128 items, 10,000 dicts) also pays for munmap()/mmap() of
    an arena and ~256 page faults per call depends on what else happens to
    live in the process: pymalloc returns an arena to the OS once it is
    completely empty. That made one row 3x faster in one process than in
    another. With the ballast, freed pools stay in arenas that never empty,
    for every library alike.
    """
    global _BALLAST
    if mib > 0 and not _BALLAST:
        objs = [bytes(100) for _ in range(mib * 2**20 // 144)]
        _BALLAST = objs[::4096]
        del objs
        gc.collect()


def measure(impls: list, workloads, n: int, vec_n: int, repeat: int, min_time: float, keep_gc: bool,
            ballast_mib: int = 64) -> dict:
    """Check and time every (row, implementation). Returns {key: {label: Cell}}."""
    make_ballast(ballast_mib)
    cells: dict = {}
    runnable = [i for i in impls if i.unavailable is None]
    for gi, (w, group, make) in enumerate(groups_for(workloads, n, vec_n)):
        t_group = time.perf_counter()
        data = make()
        if w == "vectors":
            data = (data, list(data))  # the 2-D array and its 1-D row views
        count = len(data[1]) if w == "vectors" else len(data)
        rows = [r for r, _ in rows_for(w, group)]
        live = []  # cells that passed into timing
        for impl in impls:
            built, why = {}, ""
            if impl.unavailable is None:
                try:
                    built = build_cells(impl, w, group, data)
                except Exception as exc:
                    why = f"{type(exc).__name__}: {exc}"
            for r in rows:
                key = f"{w}|{group}|{r}"
                c = Cell(key, impl.label, count)
                cells.setdefault(key, {})[impl.label] = c
                if impl.unavailable is not None:
                    c.status, c.reason = "not installed", impl.unavailable
                    continue
                if why:
                    c.status, c.reason = "n/a", why
                    continue
                if r not in built:
                    c.status = "-"  # not a meaningful reference for this row
                    continue
                c.fn, c.check = built[r]
                try:  # the check, untimed, once before timing
                    c.failures, c.digest = c.check()
                except Exception as exc:
                    c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
                    continue
                try:  # warm-up; how many calls make one timing
                    t0 = time.perf_counter()
                    c.fn()
                    t1 = time.perf_counter() - t0
                    c.k = max(1, min(100_000, math.ceil(min_time / max(t1, 1e-9)))) if min_time > 0 else 1
                except Exception as exc:
                    c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
                    continue
                for msg in c.failures:
                    log(f"  CHECK FAILED {key} {impl.label}: {msg}")
                live.append(c)
        for rep in range(repeat):
            shift = (rep + gi) % max(1, len(runnable))
            order = [i.label for i in runnable[shift:] + runnable[:shift]]
            for r in rows:
                key = f"{w}|{group}|{r}"
                for label in order:
                    c = cells[key][label]
                    if c.status != "ok":
                        continue
                    try:
                        dt, faults = timed(c.fn, c.k, keep_gc)
                        c.times.append(dt)
                        c.faults.append(faults)
                    except Exception as exc:
                        c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
        for c in live:
            c.fn = c.check = None
        del data, live
        gc.collect()
        log(f"[{w} {group}] done in {time.perf_counter() - t_group:.1f}s")
    return cells


# ---------------------------------------------------------------------------
# Child process for a pinned release (name==version)
# ---------------------------------------------------------------------------


def worker_main(a) -> int:
    impl = Impl(a.worker, "dp", spec=import_name(a.worker)).load()
    out = {"lib": a.worker, "version": impl.version, "file": impl.file, "unavailable": impl.unavailable,
           "fingerprint": impl.fingerprint}
    if impl.unavailable is None:
        cells = measure([impl], a.workloads, a.ops, a.vec_ops, a.repeat, a.min_time, a.keep_gc, a.ballast)
        out["cells"] = {key: by[impl.label].to_json() for key, by in cells.items()}
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


def run_child(impl: Impl, a) -> None:
    """Measure a pinned release in its own process; fill impl.child_cells."""
    impl.child_cells = {}
    try:
        target = pinned_path(impl.spec)
    except (subprocess.CalledProcessError, OSError) as exc:
        impl.unavailable = f"cannot install {impl.spec}: {exc}"
        return
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl.spec, "--ops", str(a.ops),
           "--vec-ops", str(a.vec_ops), "--repeat", str(a.repeat), "--min-time", str(a.min_time),
           "--ballast", str(a.ballast),
           "--workloads", *a.workloads] + (["--keep-gc"] if a.keep_gc else [])
    log(f"[{impl.spec}] running in a child process ({target})")
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env, cwd=str(REPO_ROOT))
    except subprocess.TimeoutExpired:
        impl.unavailable = f"timed out after {a.timeout:.0f}s"
        return
    for line in cp.stderr.splitlines():
        log(f"  [{impl.spec}] {line}")
    res = None
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG):])
            break
    if res is None:
        tail = (cp.stderr or cp.stdout).strip().splitlines()[-3:]
        impl.unavailable = f"worker exit {cp.returncode}: " + " | ".join(tail)
        return
    impl.version, impl.file, impl.fingerprint = res.get("version"), res.get("file"), res.get("fingerprint") or {}
    want = impl.spec.split("==", 1)[1]
    if res.get("unavailable"):
        impl.unavailable = res["unavailable"]
    elif impl.version != want:
        impl.unavailable = f"child imported version {impl.version}, not {want}"
    impl.child_cells = res.get("cells") or {}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def rate(c) -> float | None:
    if c is None or c.status != "ok" or not c.times:
        return None
    return c.count / min(c.times)


def best_faults(c) -> float | None:
    """Minor page faults per call in the fastest timing."""
    if c is None or c.status != "ok" or not c.times or not c.faults:
        return None
    return c.faults[c.times.index(min(c.times))]


def cell_text(c) -> str:
    if c is None:
        return "-"
    if c.status == "ok":
        r = rate(c)
        s = "-" if r is None else fmt_rate(r)
        return s + (" †" if c.failures else "")
    if c.status == "n/a":
        return f"n/a ({c.reason.split(':', 1)[0]})"
    return c.status


def mark(r: float | None, goal: float | None, suffix: str = "") -> str:
    if r is None:
        return "-"
    # truncated, not rounded, so that 1.996x shows as 1.99x next to its ✗
    s = f"{math.floor(r * 100) / 100:.2f}x{suffix}"
    if goal is None:
        return s
    return s + (" ✓" if r >= goal else " ✗")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", type=int, default=10_000, help="items N for the suite and dicts workloads (default 10000)")
    ap.add_argument("--vec-ops", type=int, default=10_000, help="vectors for the vectors workload (default 10000)")
    ap.add_argument("--repeat", type=int, default=3, help="timings per cell; the table shows the best (default 3)")
    ap.add_argument(
        "--min-time", type=float, default=0.05,
        help="a timing repeats the operation until it lasts at least this many seconds (default 0.05; 0 = one call)",
    )
    ap.add_argument("--libs", nargs="+", default=list(DEFAULT_LIBS), help="DataPacker libraries (name or name==version)")
    ap.add_argument("--refs", nargs="*", default=list(REFS), choices=REFS, metavar="REF",
                    help=f"reference packers (default all: {', '.join(REFS)}); --refs with no names: none")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--quick", action="store_true", help="N = 2,000 and 2,000 vectors (overrides --ops, --vec-ops)")
    ap.add_argument("--keep-gc", action="store_true", help="leave the cyclic GC on during timed regions")
    ap.add_argument(
        "--ballast", type=int, default=64, metavar="MIB",
        help="MiB of almost-empty pymalloc arenas kept alive, so that no timing pays for returning arenas "
        "to the OS (default 64; 0 = off)",
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed for a pinned release's child process")
    ap.add_argument("--json", metavar="PATH", help="also write every timing and check as JSON")
    ap.add_argument("--worker", metavar="LIB", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.ops = a.vec_ops = 2000
    if a.repeat < 1 or a.ops < 1 or a.vec_ops < 1:
        ap.error("--repeat, --ops and --vec-ops must be >= 1")
    if a.worker:
        return worker_main(a)

    started = _dt.datetime.now(_dt.timezone.utc)
    wall0, busy0, own0 = time.perf_counter(), cpu_busy_jiffies(), os.times()

    impls = []
    for spec in a.libs:
        if "==" in spec:
            impls.append(Impl(spec.replace("==", " "), "dp", spec=spec))
        else:
            impl = Impl(spec, "dp", spec=spec).load()
            if impl.unavailable is None and spec != "ambervault":
                impl.label = f"{spec} {impl.version}"
            impls.append(impl)
    dp_impls = list(impls)
    for ref in a.refs:
        impls.append(Impl(ref, ref).load())
    in_proc = [i for i in impls if not i.child]

    cells = measure(in_proc, a.workloads, a.ops, a.vec_ops, a.repeat, a.min_time, a.keep_gc, a.ballast)
    for impl in impls:
        if not impl.child:
            continue
        run_child(impl, a)
        for key, by in cells.items():
            count = next(iter(by.values())).count if by else a.ops
            c = Cell(key, impl.label, count)
            d = impl.child_cells.get(key)
            if impl.unavailable is not None and not d:
                c.status, c.reason = "not installed", impl.unavailable
            elif d:
                for f in ("count", "status", "reason", "k", "times", "faults", "failures", "digest"):
                    setattr(c, f, d[f])
            by[impl.label] = c

    # ambervault's packed bytes must equal each kohakuvault's
    amb = next((i for i in dp_impls if import_name(i.spec) == "ambervault"), None)
    kohakus = [i for i in dp_impls if i is not amb]
    same_bytes_info = []
    n_compared = 0
    for key, by in cells.items():
        w, group, row = key.split("|")
        if row not in PACK_ROWS or amb is None:
            continue
        ca = by.get(amb.label)
        for k in kohakus:
            ck = by.get(k.label)
            if not ca or not ck or ca.status != "ok" or ck.status != "ok" or not ca.digest or not ck.digest:
                continue
            same = ca.digest == ck.digest
            if group in SAME_BYTES_GROUPS:
                n_compared += 1
                if not same:
                    msg = f"packed bytes differ from {k.label}'s"
                    ca.failures.append(msg)
                    log(f"  CHECK FAILED {key} ambervault: {msg}")
            else:
                same_bytes_info.append((key, k.label, same))

    wall = time.perf_counter() - wall0
    busy1, own1 = cpu_busy_jiffies(), os.times()
    other_cores = None
    if busy0 is not None and busy1 is not None and wall > 0:
        hz = os.sysconf("SC_CLK_TCK")
        own = sum(own1[:4]) - sum(own0[:4])  # user, system, children's user and system
        other_cores = max(0.0, ((busy1 - busy0) / hz - own) / wall)
    changed = [i.label for i in dp_impls if i.module is not None and i.fingerprint and native_fingerprint(i.module) != i.fingerprint]

    # ---- header ----
    print("# DataPacker benchmark: ambervault vs kohakuvault\n")
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu_model()}), {mem_total()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}. Wall time {wall:.0f} s."
    )
    print()
    for impl in impls:
        if impl.unavailable is not None:
            print(f"- {impl.label}: NOT INSTALLED ({impl.unavailable})")
            continue
        if impl.kind != "dp":
            print(f"- {impl.label} ({REF_WHAT[impl.kind]}): {impl.version}")
            continue
        where = " (child process)" if impl.child else ""
        print(f"- {impl.label}: {import_name(impl.spec)} {impl.version}{where} — {impl.file}")
        for f, (h, mt) in (impl.fingerprint or {}).items():
            print(f"  - {f}: sha256 {h}…, built {mt}")
    print(
        f"- N = {a.ops:,} items (suite, dicts), {a.vec_ops:,} vectors; best of {a.repeat} timings per cell; "
        f"a timing = k back-to-back calls lasting >= {a.min_time:g} s; cyclic GC "
        f"{'on' if a.keep_gc else 'off'} in timed regions; time.perf_counter()"
    )
    print("- unit: items per second (N / seconds per call), for per-item loops and batch calls alike")
    print(
        f"- pymalloc ballast: {a.ballast} MiB of almost-empty arenas held in every process"
        if a.ballast > 0 else "- pymalloc ballast: off (--ballast 0)"
    )
    if other_cores is not None:
        warn = "  **WARNING: the machine was busy; numbers are disturbed**" if other_cores > 0.25 else ""
        print(f"- other processes' CPU use during the run: {other_cores:.2f} cores{warn}")
    if changed:
        print(f"- **WARNING: native modules of {', '.join(changed)} changed on disk during the run (rebuilt?)**")
    print()

    ref_labels = [i.label for i in impls if i.kind != "dp"]
    dp_labels = [i.label for i in dp_impls]
    tally = {}  # (ratio name) -> [met, total, misses]
    fallback_used = False
    faults_flagged = []
    child_labels = {i.label for i in impls if i.child}

    def ratio(by, num, den, row, w, group):
        nonlocal fallback_used
        a_ = rate(by.get(num))
        den_cell = by.get(den)
        b_ = rate(den_cell)
        suffix = ""
        if a_ is not None and b_ is None and row in RATIO_FALLBACK:
            den_cell = cells.get(f"{w}|{group}|{RATIO_FALLBACK[row]}", {}).get(den)
            b_ = rate(den_cell)
            if b_ is not None:
                suffix, fallback_used = " ᵃ", True
        if a_ is None or b_ is None:
            return None, suffix
        if by[num].failures or (by.get(den) is not None and by[den].failures):
            suffix += " †"
        # Within one process the heap is shared, so different fault counts are
        # the libraries' own doing; across processes they may be the heap's.
        fa, fb = best_faults(by.get(num)), best_faults(den_cell)
        cross = (num in child_labels) != (den in child_labels)
        if cross and fa is not None and fb is not None and abs(fa - fb) >= FAULTS_FLAG:
            suffix += " ᵖ"
            faults_flagged.append((f"{group} {row}", num, fa, den, fb))
        return a_ / b_, suffix

    titles = {
        "suite": f"KohakuVault's DataPacker suite (N = {a.ops:,})",
        "dicts": f"MessagePack, small 10-field dicts (N = {a.ops:,})",
        "vectors": f"{VEC_DTYPE}: {a.vec_ops:,} float32[{VEC_DIM}] vectors",
    }
    for w in a.workloads:
        groups = [(g, rows_for(w, g)) for (ww, g, _) in groups_for([w], a.ops, a.vec_ops)]
        keys = [f"{w}|{g}|{r}" for g, rows in groups for r, _ in rows]
        refs_here = [lab for lab in ref_labels if any(cells[k].get(lab) and cells[k][lab].status != "-" for k in keys)]
        goal_cols = [(f"ambervault / {lab}", "ambervault", lab, GOAL_VS_KOHAKU) for lab in dp_labels if lab != "ambervault"]
        if w == "dicts":
            for lab, goal in (("msgpack", GOAL_VS_MSGPACK), ("ormsgpack", None)):
                if lab in refs_here:
                    goal_cols.append((f"ambervault / {lab}", "ambervault", lab, goal))
        if "ambervault" not in dp_labels:
            goal_cols = []
        cols = dp_labels + refs_here
        print(f"## {titles[w]}\n")
        first = "| dtype | operation | " if w == "suite" else "| operation | "
        print(first + " | ".join(cols + [g[0] for g in goal_cols]) + " |")
        print(("|---|---|" if w == "suite" else "|---|") + "---:|" * (len(cols) + len(goal_cols)))
        for g, rows in groups:
            for r, label in rows:
                key = f"{w}|{g}|{r}"
                by = cells[key]
                parts = [cell_text(by.get(lab)) for lab in cols]
                for name, num, den, goal in goal_cols:
                    x, suffix = ratio(by, num, den, r, w, g)
                    parts.append(mark(x, goal, suffix))
                    if goal is not None and x is not None:
                        t = tally.setdefault(name, [0, 0, [], goal])
                        t[1] += 1
                        if x >= goal:
                            t[0] += 1
                        else:
                            xs = f"{math.floor(x * 100) / 100:.2f}x"
                            t[2].append(f"{g} {label} {xs}" if w != "dicts" else f"small dicts {label} {xs}")
                lead = f"| {g} | {label} | " if w == "suite" else f"| {label} | "
                print(lead + " | ".join(parts) + " |")
        print()
        legend = [line for refs, line in LEGEND[w] if any(r in refs_here for r in refs)]
        for line in legend:
            print(f"- {line}")
        if legend:
            print()

    if fallback_used:
        print(
            "ᵃ kohakuvault cannot do this call (its pack_many rejects a 2-D array; its unpack_many has no "
            "as_numpy), so the ratio is against its list-based call on the row below/above "
            "(pack_many(list of 1-D arrays), unpack_many(count=N))."
        )
        print()
    if faults_flagged:
        print(
            f"ᵖ the two sides ran in different processes and took very different numbers of minor page "
            f"faults per call (>= {FAULTS_FLAG} apart), so the heap's state, not the library, may explain "
            f"part of the ratio (see --ballast):"
        )
        for where, num, fa, den, fb in faults_flagged:
            print(f"  {where}: {num} {fa:,.0f}, {den} {fb:,.0f}")
        print()
    print(
        f"Goals (informational, never fail the run): ambervault >= {GOAL_VS_KOHAKU:.0f}x kohakuvault on every row; "
        f"ambervault >= {GOAL_VS_MSGPACK:.0f}x the msgpack package (packb/unpackb) on small dicts.\n"
    )
    for name, (met, total, misses, goal) in tally.items():
        line = f"- {name} >= {goal:g}x: met in {met} of {total} rows"
        if misses:
            line += "; missed: " + ", ".join(misses)
        print(line)
    if not tally:
        print("- no ratios (ambervault or the other side did not run)")
    print()

    na = {}
    for k, by in cells.items():
        for lab, c in by.items():
            if c.status == "n/a":
                _, g, r = k.split("|")
                na.setdefault((lab, c.reason), []).append(f"{g} {r}")
    if na:
        print("n/a = the call raised (in the check before timing), e.g. an unknown dtype or argument:\n")
        for (lab, reason), where in na.items():
            print(f"- {lab}, {', '.join(where)}: {reason[:200]}")
        print()
    fails = [(k, lab, c.failures) for k, by in cells.items() for lab, c in by.items() if c.failures]
    if fails:
        print("† = a check failed (the time is still shown):\n")
        for k, lab, msgs in fails:
            print(f"- {lab}, {k.replace('|', ' ')}: {'; '.join(msgs)}")
        print()
    else:
        msg = (
            "Checks (untimed, before timing): every cell with a number round-tripped its data (same values, "
            "same types) and pack_many equalled the concatenated pack() outputs"
        )
        if n_compared:
            msg += (
                f"; ambervault's packed bytes equalled kohakuvault's in all {n_compared} comparisons "
                f"({', '.join(sorted(SAME_BYTES_GROUPS))})."
            )
        else:
            msg += "; ambervault's bytes were not compared with kohakuvault's (one of them did not run)."
        print(msg)
        print()
    if same_bytes_info:
        diff = sorted({lab for _, lab, same in same_bytes_info if not same})
        print(
            "msgpack dtype (informational): ambervault's bytes "
            + ("equal " + ", ".join(sorted({lab for _, lab, s in same_bytes_info})) + "'s" if not diff
               else "differ from " + ", ".join(diff) + "'s (both are valid MessagePack; checked by decoding)")
            + "."
        )
        print()

    if a.json:
        out = {
            "started": started.isoformat(),
            "wall_s": wall,
            "other_cores": other_cores,
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "mem": mem_total(), "python": platform.python_version()},
            "args": {k: v for k, v in vars(a).items() if k != "worker"},
            "impls": {i.label: {"version": i.version, "file": i.file, "unavailable": i.unavailable,
                                "fingerprint": i.fingerprint, "child": i.child} for i in impls},
            "cells": {k: {lab: c.to_json() for lab, c in by.items()} for k, by in cells.items()},
        }
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
        log(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
