#!/usr/bin/env python3
"""KVault values and batch APIs: ambervault vs kohakuvault, lmdb, diskcache, sqlite3.

Small random reads and writes of 100-byte values, per call and batched, and
1 MiB blobs read into bytes and into a preallocated buffer, on five key-value
stores in one process and one run:

  ambervault   KVault (this repository), constructor defaults
  kohakuvault  KVault 1.1.0, constructor defaults (auto-pack on)
  lmdb         py-lmdb, sync=False (no fsync per commit, like WAL + synchronous=NORMAL)
  diskcache    diskcache.Cache, defaults (WAL, synchronous=NORMAL); size_limit raised
  sqlite3      Python's stdlib sqlite3, table kv(key BLOB PRIMARY KEY, value BLOB),
               WAL, synchronous=NORMAL, autocommit (isolation_level=None)

Rows (keys f"k{i:08d}".encode(), values random bytes, fixed seed):

  bulk load    --keys N keys of 100 B, in each library's fastest bulk way (one run)
  get          --gets random keys, one call per key (kv[key]; lmdb txn.get in one
               read txn; sqlite3 SELECT ... WHERE key=?)
  get (lmdb txn per get)  the same, lmdb opening a read txn for every get
  get_many     the same random keys, 1,000 per call (ambervault/kohakuvault get_many,
               lmdb Cursor.getmulti in one read txn per call, sqlite3 WHERE key IN
               (1,000 params), diskcache a Python loop)
  put          --puts keys into a fresh store, one autocommitted put per key
  put in cache()          the same inside `with kv.cache():` (KVaults only)
  put_many     the same, 1,000 pairs per call, one transaction per call
  blob bytes   --blobs values of 1 MiB, each read into a new bytes object
  blob readinto           the same, copied into one preallocated bytearray(1 MiB)

Every cell is checked once, untimed (values read equal values written; puts
are read back after their first timing). A timing is one perf_counter()
interval, cyclic GC off; the table shows the best of --repeat. Libraries run
in an order that rotates from row to row and repeat to repeat.

Usage (from the repository root):
  python bench/bench_kv_values.py --quick        # small sizes, about 25 s
  python bench/bench_kv_values.py                # the issue's sizes, about 2.5 min
  python bench/bench_kv_values.py --repeat 3     # as quoted in bench/README.md, about 4 min
  python bench/bench_kv_values.py --libs ambervault lmdb --rows get get_many
  python bench/bench_kv_values.py --json kv_values.json

See bench/README.md ("KVault values and batch APIs").
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gc
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
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

LIBS = ["ambervault", "kohakuvault", "lmdb", "diskcache", "sqlite3"]
BASE = "ambervault"
VALUE_SIZE = 100
BLOB_SIZE = 1 << 20
MISSING = b"no-such-key"

# (row id, label, unit); unit "ops" = keys per second, "GB" = 10^9 value bytes per second
ROWS = [
    ("load", "bulk load, 100 B values (1 run)", "ops"),
    ("get", "get, per call, random keys", "ops"),
    ("get_txn", "get, per call; lmdb: new read txn per get", "ops"),
    ("get_many", "get_many, 1,000 random keys per call", "ops"),
    ("put", "put, per call (autocommit), fresh store", "ops"),
    ("put_cache", "put, per call inside cache(), fresh store", "ops"),
    ("put_many", "put_many, 1,000 per call, fresh store", "ops"),
    ("blob_get", "1 MiB value -> bytes", "GB"),
    ("blob_readinto", "1 MiB value -> readinto(bytearray)", "GB"),
]
ROW_IDS = [r[0] for r in ROWS]
ROW_LABEL = {r[0]: r[1] for r in ROWS}
ROW_UNIT = {r[0]: r[2] for r in ROWS}
# goals of the issue: (ambervault row, other library, its row, minimum ratio, text); readinto: absolute GB/s
GOALS = [
    ("get", "lmdb", "get", 0.5, "per-call gets >= 1/2 of LMDB's (one read txn)"),
    ("get", "lmdb", "get_txn", 0.5, "per-call gets >= 1/2 of LMDB's (read txn per get)"),
    ("get_many", "lmdb", "get_many", 1.0, "get_many >= LMDB's (getmulti)"),
]
GOAL_READINTO_GBS = 5.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class NotAvailable(Exception):
    """This library has no counterpart for the row (or not in this build)."""


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


class Data:
    def __init__(self, a):
        rng = random.Random(a.seed)
        self.n = a.keys
        self.keys = [f"k{i:08d}".encode() for i in range(a.keys)]
        raw = rng.randbytes(a.keys * VALUE_SIZE)
        self.values = [raw[i * VALUE_SIZE:(i + 1) * VALUE_SIZE] for i in range(a.keys)]
        self.pairs = list(zip(self.keys, self.values))
        self.idx = [rng.randrange(a.keys) for _ in range(a.gets)]
        self.get_keys = [self.keys[i] for i in self.idx]
        b = a.batch
        self.get_batches = [self.get_keys[i:i + b] for i in range(0, len(self.get_keys), b)]
        # puts: fresh keys and values
        self.put_keys = [f"k{i:08d}".encode() for i in range(a.puts)]
        raw = rng.randbytes(a.puts * VALUE_SIZE)
        self.put_values = [raw[i * VALUE_SIZE:(i + 1) * VALUE_SIZE] for i in range(a.puts)]
        self.put_pairs = list(zip(self.put_keys, self.put_values))
        self.put_batches = [self.put_pairs[i:i + b] for i in range(0, len(self.put_pairs), b)]
        # blobs: distinct 1 MiB windows of one random buffer
        base = rng.randbytes(BLOB_SIZE + 4096)
        self.blob_keys = [f"b{i:08d}".encode() for i in range(a.blobs)]
        self.blobs = [base[(i * 7) % 4096:(i * 7) % 4096 + BLOB_SIZE] for i in range(a.blobs)]
        self.blob_pairs = list(zip(self.blob_keys, self.blobs))


def mismatch(got, want, what: str) -> list:
    """[] if the two lists of values are equal (bytes-like compared as bytes)."""
    if len(got) != len(want):
        return [f"{what}: {len(got)} values, expected {len(want)}"]
    for i, (g, w) in enumerate(zip(got, want)):
        if w is None:
            if g is not None:
                return [f"{what}: item {i}: got {type(g).__name__}, expected None"]
            continue
        if not isinstance(g, (bytes, bytearray, memoryview)) or bytes(g) != w:
            return [f"{what}: item {i}: got {type(g).__name__} {repr(g)[:40]}, expected {w[:16]!r}..."]
    return []


# ---------------------------------------------------------------------------
# Adapters, one per library. A row method returns a closure: with
# collect=False the timed loop (its results dropped), with collect=True the
# same calls returning the values they read, for the untimed check.
# how(row) is the short note shown in the table.
# ---------------------------------------------------------------------------


class Lib:
    name = ""
    HOW: dict = {}

    def __init__(self):
        self.module = None
        self.version = None
        self.file = None
        self.unavailable = None
        self.fingerprint = {}
        self.notes = []  # printed in the header
        self.stores = []  # open handles, closed at the end

    def load(self) -> "Lib":
        try:
            self._load()
            self.file = getattr(self.module, "__file__", None)
            if self.version is None:
                self.version = module_version(self.module)
        except Exception as exc:
            self.unavailable = f"{type(exc).__name__}: {exc}"
        return self

    def _load(self):
        self.module = import_repo_aware(self.name)

    def how(self, row: str) -> str:
        how = self.HOW.get(row)
        if how is None:
            raise NotAvailable("-")  # no counterpart in this library
        if isinstance(how, NotAvailable):
            raise how
        return how

    def open(self, path: str):
        raise NotImplementedError

    def close(self, h) -> None:
        h.close()

    def bulk(self, h, pairs) -> None:
        raise NotImplementedError

    def settle(self, h) -> None:
        """Untimed, after a bulk load: move the WAL into the database file."""

    def get_one(self, h, k):
        raise NotImplementedError

    def readback(self, h, keys) -> list:
        return [self.get_one(h, k) for k in keys]


class KVaultLib(Lib):
    """ambervault and kohakuvault: the same KVault API."""

    def _load(self):
        super()._load()
        if not hasattr(self.module, "KVault"):
            where = list(getattr(self.module, "__path__", [])) or [getattr(self.module, "__file__", "?")]
            raise ImportError(f"package found at {where} but it has no KVault (native extension not built yet?)")
        self.fingerprint = native_fingerprint(self.module)
        K = self.module.KVault
        self.has = {m: hasattr(K, m) for m in ("get_many", "put_many", "readinto", "transaction", "cache")}
        self.HOW = {
            "load": "put_many(all pairs)" if self.has["put_many"] and self.name == BASE else "kv[k] = v in cache()",
            "get": "kv[k]",
            "get_many": "get_many(keys)" if self.has["get_many"] else "loop (no get_many)",
            "put": "kv[k] = v",
            "put_cache": "with kv.cache(): kv[k] = v",
            "put_many": ("put_many(list of pairs)" if self.has["put_many"]
                         else "loop in transaction() (no put_many)" if self.has["transaction"]
                         else None),
            "blob_get": "kv[k]",
            "blob_readinto": ("kv.readinto(k, buf)" if self.has["readinto"]
                              else "kv[k] + copy" + (" (no readinto)" if self.name == BASE else "")),
        }
        if self.HOW["put_many"] is None:
            self.HOW["put_many"] = NotAvailable("no put_many or transaction() in this build")
        if self.name == BASE:
            missing = [m for m in ("get_many", "put_many", "readinto", "transaction") if not self.has[m]]
            if missing:
                self.notes.append(f"this build has no {', '.join(missing)}: those rows fall back to the per-call "
                                  "API (marked in the table) or are left out")
        with tempfile.TemporaryDirectory() as d:
            kv = K(os.path.join(d, "probe.db"))
            if hasattr(kv, "auto_pack_enabled"):
                self.notes.append(f"auto-pack {'on' if kv.auto_pack_enabled() else 'off'} (constructor default)")
            kv.close()

    def open(self, path):
        return self.module.KVault(os.path.join(path, "kv.db"))

    def bulk(self, h, pairs):
        if self.HOW["load"].startswith("put_many"):
            h.put_many(pairs)
            return
        cap = max(64 << 20, 2 * sum(len(v) for _, v in pairs))
        with h.cache(cap_bytes=cap, flush_threshold=cap):
            for k, v in pairs:
                h[k] = v

    def settle(self, h):
        h.checkpoint()

    def get_one(self, h, k):
        return h.get(k)

    def get(self, h, keys, collect=False):
        if collect:
            return lambda: [h[k] for k in keys]

        def run():
            for k in keys:
                h[k]

        return run

    def get_many(self, h, batches, collect=False):
        if self.has["get_many"]:
            gm = h.get_many
            if collect:
                return lambda: [v for b in batches for v in gm(b)]

            def run():
                for b in batches:
                    gm(b)

            return run
        g = h.get
        if collect:
            return lambda: [g(k) for b in batches for k in b]

        def run():
            for b in batches:
                [g(k) for k in b]

        return run

    def put(self, h, pairs):
        def run():
            for k, v in pairs:
                h[k] = v

        return run

    def put_cache(self, h, pairs):
        def run():
            with h.cache():
                for k, v in pairs:
                    h[k] = v

        return run

    def put_many(self, h, batches):
        if self.has["put_many"]:
            pm = h.put_many

            def run():
                for b in batches:
                    pm(b)

            return run

        def run():
            for b in batches:
                with h.transaction():
                    for k, v in b:
                        h[k] = v

        return run

    def blob_get(self, h, keys, collect=False):
        return self.get(h, keys, collect)

    def blob_readinto(self, h, keys, buf, collect=False):
        if self.has["readinto"]:
            ri = h.readinto
            if collect:
                return lambda: [bytes(buf[:ri(k, buf)]) for k in keys]

            def run():
                for k in keys:
                    ri(k, buf)

            return run
        mv = memoryview(buf)

        def run():
            out = []
            for k in keys:
                v = h[k]
                mv[:len(v)] = v
                if collect:
                    out.append(bytes(buf[:len(v)]))
            return out

        return run


class LmdbLib(Lib):
    name = "lmdb"
    HOW = {
        "load": "one write txn, putmulti",
        "get": "txn.get(k), one read txn",
        "get_txn": "with env.begin() as t: t.get(k)",
        "get_many": "getmulti, one read txn per call",
        "put": "one write txn per put",
        "put_many": "one write txn per call, putmulti",
        "blob_get": "txn.get(k) -> bytes",
        "blob_readinto": "buffers=True txn.get + copy",
    }

    def _load(self):
        super()._load()
        self.version = f"{self.module.__version__} (LMDB {'.'.join(map(str, self.module.version()))})"
        self.notes.append("sync=False (no fsync per commit, like WAL + synchronous=NORMAL), map_size 64 GiB (sparse)")

    def open(self, path):
        return self.module.open(path, map_size=64 << 30, sync=False)

    def bulk(self, h, pairs):
        with h.begin(write=True) as txn:
            txn.cursor().putmulti(pairs)

    def get_one(self, h, k):
        with h.begin() as txn:
            return txn.get(k)

    def get(self, h, keys, collect=False):
        begin = h.begin

        def run():
            with begin() as txn:
                g = txn.get
                if collect:
                    return [g(k) for k in keys]
                for k in keys:
                    g(k)

        return run

    def get_txn(self, h, keys, collect=False):
        begin = h.begin

        def run():
            out = []
            for k in keys:
                with begin() as txn:
                    v = txn.get(k)
                if collect:
                    out.append(v)
            return out

        if collect:
            return run

        def run_fast():
            for k in keys:
                with begin() as txn:
                    txn.get(k)

        return run_fast

    def get_many(self, h, batches, collect=False):
        begin = h.begin
        if collect:
            def run():
                out = []
                for b in batches:
                    with begin() as txn:
                        found = dict(txn.cursor().getmulti(b))
                    out += [found.get(k) for k in b]
                return out

            return run

        def run():
            for b in batches:
                with begin() as txn:
                    txn.cursor().getmulti(b)

        return run

    def put(self, h, pairs):
        begin = h.begin

        def run():
            for k, v in pairs:
                with begin(write=True) as txn:
                    txn.put(k, v)

        return run

    def put_many(self, h, batches):
        begin = h.begin

        def run():
            for b in batches:
                with begin(write=True) as txn:
                    txn.cursor().putmulti(b)

        return run

    def blob_get(self, h, keys, collect=False):
        return self.get_txn(h, keys, collect)

    def blob_readinto(self, h, keys, buf, collect=False):
        begin = h.begin
        mv = memoryview(buf)

        def run():
            out = []
            for k in keys:
                with begin(buffers=True) as txn:
                    v = txn.get(k)
                    mv[:len(v)] = v
                if collect:
                    out.append(bytes(buf[:len(v)]))
            return out

        return run


class DiskcacheLib(Lib):
    name = "diskcache"
    HOW = {
        "load": "cache[k] = v in transact()",
        "get": "cache[k]",
        "get_many": "loop of cache.get(k)",
        "put": "cache[k] = v",
        "put_many": "loop in transact()",
        "blob_get": "cache[k] (value in its own file)",
        "blob_readinto": "cache.read(k).readinto(buf)",
    }

    def _load(self):
        super()._load()
        self.notes.append("Cache defaults (WAL, synchronous=NORMAL, values >= 32 KiB in their own files), "
                          "size_limit 1 TiB so that nothing is evicted")

    def open(self, path):
        return self.module.Cache(path, size_limit=1 << 40)

    def bulk(self, h, pairs):
        with h.transact():
            for k, v in pairs:
                h[k] = v

    def get_one(self, h, k):
        return h.get(k)

    def get(self, h, keys, collect=False):
        if collect:
            return lambda: [h[k] for k in keys]

        def run():
            for k in keys:
                h[k]

        return run

    def get_many(self, h, batches, collect=False):
        g = h.get
        if collect:
            return lambda: [v for b in batches for v in [g(k) for k in b]]

        def run():
            for b in batches:
                [g(k) for k in b]

        return run

    def put(self, h, pairs):
        def run():
            for k, v in pairs:
                h[k] = v

        return run

    def put_many(self, h, batches):
        def run():
            for b in batches:
                with h.transact():
                    for k, v in b:
                        h[k] = v

        return run

    def blob_get(self, h, keys, collect=False):
        return self.get(h, keys, collect)

    def blob_readinto(self, h, keys, buf, collect=False):
        rd = h.read

        def run():
            out = []
            for k in keys:
                with rd(k) as f:
                    n = f.readinto(buf)
                if collect:
                    out.append(bytes(buf[:n]))
            return out

        return run


class Sqlite3Lib(Lib):
    name = "sqlite3"
    GET = "SELECT value FROM kv WHERE key=?"
    PUT = "INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)"
    HOW = {
        "load": "executemany, one transaction",
        "get": "execute(SELECT value ... key=?).fetchone()",
        "get_many": "execute(SELECT key, value ... IN (1,000 ?)).fetchall()",
        "put": "execute(INSERT OR REPLACE), autocommit",
        "put_many": "executemany in BEGIN/COMMIT",
        "blob_get": "SELECT value -> bytes",
        "blob_readinto": "SELECT rowid; blobopen().read() + copy",
    }

    def _load(self):
        super()._load()
        self.version = f"SQLite {self.module.sqlite_version} (Python {platform.python_version()})"
        self.notes.append("table kv(key BLOB PRIMARY KEY, value BLOB), WAL, synchronous=NORMAL, autocommit; "
                          "other pragmas SQLite's defaults (4 KiB pages, no mmap)")
        if not hasattr(self.module.Connection, "blobopen"):
            del self.HOW["blob_readinto"]

    def open(self, path):
        con = self.module.connect(os.path.join(path, "kv.db"), isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB)")
        return con

    def bulk(self, h, pairs):
        h.execute("BEGIN")
        h.executemany(self.PUT, pairs)
        h.execute("COMMIT")

    def settle(self, h):
        h.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def get_one(self, h, k):
        r = h.execute(self.GET, (k,)).fetchone()
        return None if r is None else r[0]

    def get(self, h, keys, collect=False):
        ex = h.cursor().execute
        sql = self.GET
        if collect:
            return lambda: [ex(sql, (k,)).fetchone()[0] for k in keys]

        def run():
            for k in keys:
                ex(sql, (k,)).fetchone()

        return run

    def get_many(self, h, batches, collect=False):
        ex = h.cursor().execute
        sqls = {n: f"SELECT key, value FROM kv WHERE key IN ({','.join('?' * n)})" for n in {len(b) for b in batches}}
        if collect:
            def run():
                out = []
                for b in batches:
                    found = dict(ex(sqls[len(b)], b).fetchall())
                    out += [found.get(k) for k in b]
                return out

            return run

        def run():
            for b in batches:
                ex(sqls[len(b)], b).fetchall()

        return run

    def put(self, h, pairs):
        ex = h.execute
        sql = self.PUT

        def run():
            for kv in pairs:
                ex(sql, kv)

        return run

    def put_many(self, h, batches):
        ex, exm = h.execute, h.executemany
        sql = self.PUT

        def run():
            for b in batches:
                ex("BEGIN")
                exm(sql, b)
                ex("COMMIT")

        return run

    def blob_get(self, h, keys, collect=False):
        return self.get(h, keys, collect)

    def blob_readinto(self, h, keys, buf, collect=False):
        ex = h.cursor().execute
        bo = h.blobopen
        mv = memoryview(buf)
        sql = "SELECT rowid FROM kv WHERE key=?"

        def run():
            out = []
            for k in keys:
                rowid = ex(sql, (k,)).fetchone()[0]
                with bo("kv", "value", rowid, readonly=True) as b:
                    n = len(b)
                    mv[:n] = b.read()
                if collect:
                    out.append(bytes(buf[:n]))
            return out

        return run


ADAPTERS = {"ambervault": KVaultLib, "kohakuvault": KVaultLib, "lmdb": LmdbLib, "diskcache": DiskcacheLib,
            "sqlite3": Sqlite3Lib}


def make_lib(name: str) -> Lib:
    lib = ADAPTERS[name]()
    lib.name = name
    lib.HOW = dict(lib.HOW)
    return lib.load()


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


class Cell:
    def __init__(self, row: str, lib: str):
        self.row, self.lib = row, lib
        self.count = 0  # keys per timing
        self.nbytes = 0  # value bytes per timing (blob rows)
        self.status = "ok"  # ok | - | n/a | not installed
        self.reason = ""
        self.how = ""
        self.times = []  # seconds, one per repeat (per pass for blob rows)
        self.failures = []

    def rate(self) -> float | None:
        if self.status != "ok" or not self.times:
            return None
        t = min(self.times)
        return self.nbytes / 1e9 / t if ROW_UNIT[self.row] == "GB" else self.count / t

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("status", "reason", "how", "count", "nbytes", "times", "failures")}


def timed(fn, k: int = 1) -> float:
    """Seconds per call over k back-to-back calls, cyclic GC off."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return (time.perf_counter() - t0) / k
    finally:
        gc.enable()


class Runner:
    def __init__(self, a, libs: list, data: Data, root: str):
        self.a, self.libs, self.d, self.root = a, libs, data, root
        self.cells = {r: {} for r in ROW_IDS}
        self.small = {}  # lib -> store holding --keys values
        self.blob = {}  # lib -> store holding the blobs
        self.buf = bytearray(BLOB_SIZE)

    def new_cell(self, row: str, lib: Lib) -> Cell:
        c = self.cells[row][lib.name] = Cell(row, lib.name)
        if lib.unavailable is not None:
            c.status, c.reason = "not installed", lib.unavailable
            return c
        try:
            c.how = lib.how(row)
        except NotAvailable as exc:
            c.status = "-" if str(exc) == "-" else "not available"
            c.reason = "" if str(exc) == "-" else str(exc)
        return c

    def order(self, i: int) -> list:
        live = [lib for lib in self.libs if lib.unavailable is None]
        s = i % max(1, len(live))
        return live[s:] + live[:s]

    def fail(self, c: Cell, failures: list) -> None:
        c.failures += failures
        for f in failures:
            log(f"  CHECK FAILED {c.row} {c.lib}: {f}")

    def store(self, lib: Lib, what: str):
        path = tempfile.mkdtemp(prefix=f"{lib.name}_{what}_", dir=self.root)
        h = lib.open(path)
        return h, path

    # -- setup: one store of small values and one of blobs per library --------
    def populate(self, want_blobs: bool) -> None:
        d = self.d
        for lib in self.libs:
            c = self.new_cell("load", lib)
            if c.status != "ok":
                continue
            c.count = d.n
            try:
                h, _ = self.store(lib, "small")
                lib.stores.append(h)
                if hasattr(os, "sync"):
                    os.sync()
                c.times.append(timed(lambda: lib.bulk(h, d.pairs)))
                lib.settle(h)
                self.fail(c, mismatch(lib.readback(h, d.keys), d.values, "read back after the load"))
                self.small[lib.name] = h
                if want_blobs:
                    bh, _ = self.store(lib, "blobs")
                    lib.stores.append(bh)
                    lib.bulk(bh, d.blob_pairs)
                    lib.settle(bh)
                    self.fail(c, mismatch(lib.readback(bh, d.blob_keys), d.blobs, "blobs read back after the load"))
                    self.blob[lib.name] = bh
            except Exception as exc:
                c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
                lib.unavailable = f"setup failed: {c.reason}"
            log(f"[load] {lib.name}: {c.status} {fmt_rate(c.rate() or 0)} keys/s")

    # -- reads on the populated stores ---------------------------------------
    def read_fn(self, row: str, lib: Lib, collect: bool, sample: bool = False):
        d = self.d
        n = self.a.check_sample
        if row in ("get", "get_txn"):
            keys = d.get_keys[:n] if sample else d.get_keys
            return getattr(lib, row)(self.small[lib.name], keys, collect=collect)
        if row == "get_many":
            batches = d.get_batches[:max(1, n // self.a.batch)] if sample else d.get_batches
            return lib.get_many(self.small[lib.name], batches, collect=collect)
        if row == "blob_get":
            return lib.blob_get(self.blob[lib.name], d.blob_keys, collect=collect)
        return lib.blob_readinto(self.blob[lib.name], d.blob_keys, self.buf, collect=collect)

    def expected(self, row: str) -> list:
        d = self.d
        n = self.a.check_sample
        if row in ("get", "get_txn"):
            return [d.values[i] for i in d.idx[:n]]
        if row == "get_many":
            nb = max(1, n // self.a.batch)
            return [d.values[i] for i in d.idx[:nb * self.a.batch]]
        return d.blobs

    def read_rows(self, rows: list, row_offset: int) -> None:
        d = self.d
        for ri, row in enumerate(rows):
            t_row = time.perf_counter()
            live = {}
            for lib in self.libs:
                c = self.new_cell(row, lib)
                if c.status != "ok":
                    continue
                try:
                    # check, untimed, once before timing, with the same calls
                    self.buf[:] = bytes(BLOB_SIZE)
                    self.fail(c, mismatch(self.read_fn(row, lib, True, True)(), self.expected(row), c.how))
                    if row == "get_many" and lib.name in (BASE, "kohakuvault") and "loop" not in c.how:
                        h = self.small[lib.name]
                        got = h.get_many([d.keys[0], MISSING, d.keys[1]])
                        if list(got) != [d.values[0], None, d.values[1]]:
                            self.fail(c, [f"get_many([k0, missing, k1]) returned {got!r:.100}"])
                    fn = self.read_fn(row, lib, False)
                    k = 1
                    if row.startswith("blob"):  # one pass is short: a timing is k passes
                        t0 = time.perf_counter()
                        fn()
                        t1 = time.perf_counter() - t0
                        k = max(1, math.ceil(self.a.min_time / max(t1, 1e-9)))
                        c.count, c.nbytes = len(d.blob_keys), len(d.blob_keys) * BLOB_SIZE
                    else:
                        c.count = len(d.get_keys)
                    live[lib.name] = (c, fn, k)
                except Exception as exc:
                    c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
            for rep in range(self.a.repeat):
                for lib in self.order(row_offset + ri + rep):
                    if lib.name not in live:
                        continue
                    c, fn, k = live[lib.name]
                    try:
                        c.times.append(timed(fn, k))
                    except Exception as exc:
                        c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
                        del live[lib.name]
            unit = "GB/s" if ROW_UNIT[row] == "GB" else "keys/s"
            log(f"[{row}] {time.perf_counter() - t_row:.1f}s: "
                + ", ".join(f"{n} {fmt_rate(c.rate()) if c.rate() else '-'}" for n, (c, _, _) in live.items())
                + f" {unit}")

    # -- writes: a fresh store for every timing -------------------------------
    def write_rows(self, rows: list, row_offset: int) -> None:
        d = self.d
        for ri, row in enumerate(rows):
            t_row = time.perf_counter()
            for lib in self.libs:
                c = self.new_cell(row, lib)
                c.count = len(d.put_pairs)
            for rep in range(self.a.repeat):
                for lib in self.order(row_offset + ri + rep):
                    c = self.cells[row][lib.name]
                    if c.status != "ok":
                        continue
                    h = path = None
                    try:
                        h, path = self.store(lib, row)
                        if row == "put_many":
                            fn = lib.put_many(h, d.put_batches)
                        else:
                            fn = getattr(lib, row)(h, d.put_pairs)
                        if hasattr(os, "sync"):
                            os.sync()  # untimed: earlier writeback is not charged to this timing
                        c.times.append(timed(fn))
                        if rep == 0:  # untimed: everything written reads back
                            self.fail(c, mismatch(lib.readback(h, d.put_keys), d.put_values, "read back after the puts"))
                    except Exception as exc:
                        c.status, c.reason = "n/a", f"{type(exc).__name__}: {exc}"
                    finally:
                        if h is not None:
                            with contextlib.suppress(Exception):
                                lib.close(h)
                        if path is not None:
                            shutil.rmtree(path, ignore_errors=True)
            log(f"[{row}] {time.perf_counter() - t_row:.1f}s: "
                + ", ".join(f"{n} {fmt_rate(c.rate())}" for n, c in self.cells[row].items() if c.rate())
                + " keys/s")

    def close_all(self) -> None:
        for lib in self.libs:
            for h in lib.stores:
                with contextlib.suppress(Exception):
                    lib.close(h)
            lib.stores = []


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def trunc2(x: float) -> str:
    """Truncated, not rounded, so that 0.499x shows as 0.49x next to its ✗."""
    return f"{math.floor(x * 100) / 100:.2f}x"


def cell_text(c: Cell | None) -> str:
    if c is None:
        return "-"
    if c.status == "ok":
        r = c.rate()
        if r is None:
            return "-"
        s = f"{r:.2f}" if ROW_UNIT[c.row] == "GB" else fmt_rate(r)
        if "loop" in c.how:
            s += " (loop)"
        elif "(no " in c.how:
            s += " ᶠ"
        return s + (" †" if c.failures else "")
    if c.status == "n/a":
        return f"n/a ({c.reason.split(':', 1)[0]})"
    return c.status


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=100_000, help="keys in the store the gets read (default 100000)")
    ap.add_argument("--gets", type=int, default=1_000_000, help="random gets per timing (default 1000000)")
    ap.add_argument("--puts", type=int, default=100_000, help="puts per timing, into a fresh store (default 100000)")
    ap.add_argument("--blobs", type=int, default=200, help="1 MiB values (default 200)")
    ap.add_argument("--batch", type=int, default=1000, help="keys per get_many / put_many call (default 1000)")
    ap.add_argument("--repeat", type=int, default=2, help="timings per cell; the table shows the best (default 2)")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="blob rows: a timing repeats the pass over all blobs until it lasts this long (default 0.2 s)")
    ap.add_argument("--libs", nargs="+", default=list(LIBS), choices=LIBS, help="libraries (default all five)")
    ap.add_argument("--rows", nargs="+", default=[r for r in ROW_IDS if r != "load"],
                    choices=[r for r in ROW_IDS if r != "load"], help="rows to run (default all; the load always runs)")
    ap.add_argument("--seed", type=int, default=12345, help="seed for values and the random key order")
    ap.add_argument("--check-sample", type=int, default=20_000, help="gets checked before timing (default 20000)")
    ap.add_argument("--quick", action="store_true",
                    help="--keys 20000 --gets 100000 --puts 10000 --blobs 50 (overrides those)")
    ap.add_argument("--tmpdir", default=None, help="where the stores go (default: the system temp dir)")
    ap.add_argument("--json", metavar="PATH", help="also write every timing and check as JSON")
    a = ap.parse_args(argv)
    if a.quick:
        a.keys, a.gets, a.puts, a.blobs = 20_000, 100_000, 10_000, 50
    if min(a.keys, a.gets, a.puts, a.blobs, a.batch, a.repeat) < 1:
        ap.error("--keys, --gets, --puts, --blobs, --batch and --repeat must be >= 1")
    if BASE in a.libs:  # ambervault first: it is what the ratios are about
        a.libs = [BASE] + [x for x in a.libs if x != BASE]

    started = _dt.datetime.now(_dt.timezone.utc)
    wall0, busy0, own0 = time.perf_counter(), cpu_busy_jiffies(), os.times()
    libs = [make_lib(n) for n in a.libs]
    for lib in libs:
        log(f"{lib.name}: {'NOT INSTALLED (' + lib.unavailable + ')' if lib.unavailable else lib.version}")
    t0 = time.perf_counter()
    data = Data(a)
    log(f"data ready in {time.perf_counter() - t0:.1f}s")

    root = tempfile.mkdtemp(prefix="bench_kv_values_", dir=a.tmpdir)
    runner = Runner(a, libs, data, root)
    try:
        runner.populate(want_blobs=any(r.startswith("blob") for r in a.rows))
        reads = [r for r in a.rows if r.startswith(("get", "blob"))]
        writes = [r for r in a.rows if r.startswith("put")]
        runner.read_rows(reads, 0)
        runner.write_rows(writes, len(reads))
    finally:
        runner.close_all()
        shutil.rmtree(root, ignore_errors=True)

    wall = time.perf_counter() - wall0
    busy1, own1 = cpu_busy_jiffies(), os.times()
    other_cores = None
    if busy0 is not None and busy1 is not None and wall > 0:
        hz = os.sysconf("SC_CLK_TCK")
        own = sum(own1[:4]) - sum(own0[:4])
        other_cores = max(0.0, ((busy1 - busy0) / hz - own) / wall)
    changed = [lib.name for lib in libs if lib.module is not None and lib.fingerprint
               and native_fingerprint(lib.module) != lib.fingerprint]
    fs = "?"
    for cmd in (["findmnt", "-n", "-o", "FSTYPE", "-T"], ["stat", "-f", "-c", "%T"]):
        with contextlib.suppress(Exception):
            out = subprocess.run(cmd + [a.tmpdir or tempfile.gettempdir()], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
            if out:
                fs = out.splitlines()[0]
                break

    # ---- header ----
    print("# KVault values and batch APIs: ambervault vs kohakuvault, lmdb, diskcache, sqlite3\n")
    print(f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu_model()}), {mem_total()}, "
          f"Linux {platform.release()}, Python {platform.python_version()}, stores on {fs} in "
          f"{a.tmpdir or tempfile.gettempdir()}. Wall time {wall:.0f} s.\n")
    for lib in libs:
        if lib.unavailable is not None:
            print(f"- {lib.name}: NOT INSTALLED ({lib.unavailable})")
            continue
        print(f"- {lib.name} {lib.version} — {lib.file}" + ("; " + "; ".join(lib.notes) if lib.notes else ""))
        for f, (h, mt) in (lib.fingerprint or {}).items():
            print(f"  - {f}: sha256 {h}…, built {mt}")
    print(f"- {a.keys:,} keys of {VALUE_SIZE} B (`k{{i:08d}}`), {a.gets:,} random gets (seed {a.seed}), "
          f"batches of {a.batch:,}, {a.puts:,} puts per timing into a fresh store, {a.blobs} values of 1 MiB")
    print(f"- best of {a.repeat} timings per cell (blob rows: a timing is as many passes over all blobs as last "
          f">= {a.min_time:g} s); cyclic GC off in timed regions; all libraries in this one process, "
          "taking turns in rotating order")
    if other_cores is not None:
        warn = "  **WARNING: the machine was busy; numbers are disturbed**" if other_cores > 0.25 else ""
        print(f"- other processes' CPU use during the run: {other_cores:.2f} cores{warn}")
    if changed:
        print(f"- **WARNING: native modules of {', '.join(changed)} changed on disk during the run (rebuilt?)**")
    print()

    # ---- table ----
    names = [lib.name for lib in libs]
    others = [n for n in ("lmdb", "kohakuvault", "sqlite3", "diskcache") if n in names and n != BASE]
    has_base = BASE in names
    ratio_cols = [f"{BASE} / {o}" for o in others] if has_base else []
    rows_shown = ["load"] + [r for r in ROW_IDS if r in a.rows]
    goal_marks = {}  # (row, other) -> (goal, other_row)
    for row, other, other_row, goal, _ in GOALS:
        if other_row == row:
            goal_marks[(row, other)] = goal
    print("| operation | " + " | ".join(names + ratio_cols) + " |")
    print("|---|" + "---:|" * (len(names) + len(ratio_cols)))
    ratio_notes = False
    for unit in ("ops", "GB"):
        for row in rows_shown:
            if ROW_UNIT[row] != unit:
                continue
            by = runner.cells[row]
            parts = [cell_text(by.get(n)) for n in names]
            for o in others:
                num = by.get(BASE)
                den = by.get(o)
                suffix = ""
                if row == "get_txn":  # ambervault has no transaction to open: its per-call get
                    num, suffix = runner.cells["get"].get(BASE), " ʳ"
                rn = num.rate() if num else None
                rd = den.rate() if den else None
                if rn is None or rd is None:
                    parts.append("-")
                    continue
                ratio_notes |= bool(suffix)
                goal = goal_marks.get((row, o))
                if row == "get_txn" and o == "lmdb":
                    goal = 0.5
                s = trunc2(rn / rd) + suffix
                if goal is not None:
                    s += " ✓" if rn / rd >= goal else " ✗"
                parts.append(s)
            label = ROW_LABEL[row] + (" (GB/s)" if unit == "GB" else "")
            print(f"| {label} | " + " | ".join(parts) + " |")
    print()
    print("Keys per second (GB/s = 10^9 value bytes per second for the 1 MiB rows); higher is better. "
          "Ratios are ambervault ÷ that library, truncated to two decimals. `(loop)` = no batch API: "
          "a Python loop of per-key calls.")
    fallbacks = [(row, c.how) for row, by in runner.cells.items() for n, c in by.items()
                 if n == BASE and c.status == "ok" and "(no " in c.how]
    if fallbacks:
        print("ᶠ / (loop) in the ambervault column: this build lacks the API, so the row runs a fallback: "
              + "; ".join(f"{ROW_LABEL[r]}: `{h}`" for r, h in fallbacks) + ".")
    if ratio_notes:
        print("ʳ ambervault has no read transaction to open per get: its ratio uses its per-call get (row above).")
    print()
    print("What each cell runs:\n")
    for row in rows_shown:
        hows = [f"{n}: `{runner.cells[row][n].how}`" for n in names
                if runner.cells[row].get(n) and runner.cells[row][n].status == "ok" and runner.cells[row][n].how]
        if hows:
            print(f"- {ROW_LABEL[row]}: " + "; ".join(hows))
    print()

    # ---- goals ----
    print("Goals of the issue (informational, never fail the run):\n")
    for row, other, other_row, goal, text in GOALS:
        cb, co = runner.cells[row].get(BASE), runner.cells[other_row].get(other)
        if cb is None or co is None or cb.rate() is None or co.rate() is None:
            print(f"- {text}: not measured")
            continue
        r = cb.rate() / co.rate()
        if "(no " in cb.how:
            print(f"- {text}: not measured, this build has no get_many (the fallback `{cb.how}` ran at "
                  f"{trunc2(r)})")
            continue
        print(f"- {text}: {fmt_rate(cb.rate())} vs {fmt_rate(co.rate())} keys/s = {trunc2(r)} "
              f"{'✓' if r >= goal else '✗'}")
    c = runner.cells["blob_readinto"].get(BASE)
    if c is None or c.rate() is None:
        print(f"- readinto of 1 MiB values >= {GOAL_READINTO_GBS:g} GB/s: not measured")
    elif "(no " in c.how:
        print(f"- readinto of 1 MiB values >= {GOAL_READINTO_GBS:g} GB/s: not measured, this build has no readinto "
              f"(the fallback `{c.how}` ran at {c.rate():.2f} GB/s)")
    else:
        print(f"- readinto of 1 MiB values >= {GOAL_READINTO_GBS:g} GB/s: {c.rate():.2f} GB/s "
              f"{'✓' if c.rate() >= GOAL_READINTO_GBS else '✗'}  ({c.how})")
    print()

    na = [(row, n, c.reason) for row, by in runner.cells.items() for n, c in by.items()
          if c.status in ("n/a", "not available")]
    if na:
        print("n/a = the call raised; not available = the library (this build) has no such call:\n")
        for row, n, reason in na:
            print(f"- {n}, {row}: {reason[:200]}")
        print()
    fails = [(row, n, c.failures) for row, by in runner.cells.items() for n, c in by.items() if c.failures]
    if fails:
        print("† = a check failed (the time is still shown):\n")
        for row, n, msgs in fails:
            print(f"- {n}, {row}: {'; '.join(msgs)}")
    else:
        print("Checks (untimed): every cell with a number read back exactly the values written (gets: the first "
              f"{a.check_sample:,} random keys with the timed calls, before timing; blobs: every blob; puts: every "
              "key, after the first timing; the bulk loads: every key).")
    print()

    if a.json:
        out = {
            "started": started.isoformat(),
            "wall_s": wall,
            "other_cores": other_cores,
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "mem": mem_total(),
                        "python": platform.python_version(), "fs": fs},
            "args": vars(a),
            "libs": {lib.name: {"version": lib.version, "file": lib.file, "unavailable": lib.unavailable,
                                "notes": lib.notes, "fingerprint": lib.fingerprint} for lib in libs},
            "cells": {row: {n: c.to_json() for n, c in by.items()} for row, by in runner.cells.items()},
        }
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
        log(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
