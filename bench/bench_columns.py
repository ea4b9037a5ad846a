#!/usr/bin/env python3
"""ColumnVault benchmark: ambervault vs kohakuvault 0.9.0 and 1.1.0, in one run.

The workloads are KohakuVault's own column suites (suites 3-5 of its
examples/benchmark.py), run unchanged against each library, plus one bulk
float64 workload. Every vault is ColumnVault(db, min_chunk_bytes=16 KiB,
max_chunk_bytes=1 MiB) on a fresh file, with one column "test":

  append  (suite 3) dtypes i64 (range(N)), f64 (i * 1.5), bytes:32
          (b"x" * 32), str:32:utf8 (f"str_{i:04d}"), str:utf8
          (f"string_{i}"), msgpack ({"id": i, "val": i * 1.5}); four timed
          runs per dtype, each on a fresh file: `for v in data:
          col.append(v)` uncached (capped at --append-cap elements) and
          cached (col.enable_cache(cap_bytes=64 MiB, flush_threshold=16 MiB),
          the loop, col.flush_cache()); col.extend(data) uncached and cached.
          Unit: elements appended per second.
  reads   (suite 4) the same dtypes; one extend of N elements, then reads
          through the same column object, as upstream (--reopen-reads:
          close and reopen first, untimed); n_reads = min(N, 1000).
          single: `col[i]` for n_reads indices from random.seed(42),
          random.randint(0, N - 1); slice: `col[s:s+100]` for s in
          range(0, n_reads, 100). One pass is repeated until the timing
          lasts at least --min-time seconds. Unit: elements read per second.
  writes  (suite 5) dtypes i64, f64, bytes:32, bytes (f"string_{i}".encode());
          N elements by one extend; n = min(5000, N // 2) updates from
          N // 4: i64 i * 100, f64 i * 100.0, bytes:32 b"U" * 32, bytes
          b"x" * random.randint(5, 30) (seed 42). loop: `col[start + i] = v`
          per element (stops after --loop-budget seconds when not done);
          slice: one `col[start:start + n] = values`. Unit: updates per second.
  bulk    --bulk-n float64 values, numpy.random.default_rng(0).random(n):
          write = one col.extend(...) (an ndarray where the library takes
          one, else array.tolist() made before the timer starts); read = the
          whole column back as an ndarray, in the library's fastest public
          way (ambervault col.to_numpy(), kohakuvault 1.1.0
          col.read_array(0, n), 0.9.0 numpy.array(col[0:n])) through the
          objects that wrote it (--reopen-reads: after a close and reopen),
          repeated until the timing lasts at least --min-time seconds (MB/s
          per pass). References: numpy.save / numpy.load of a .npy file, and
          numpy.memmap (w+, mm[:] = arr, mm.flush() / r, numpy.array(mm)).
          Unit: MB/s (2^20 bytes of float64 data).

Every (case, library, repeat) runs in its own fresh Python subprocess on its
own fresh database file; which library runs first rotates from case to case
and from repeat to repeat. Every worker verifies what it wrote or read
(untimed: the whole column after a close and reopen, or the values read,
against the expected data); a run whose data is wrong is reported as FAILED,
never as a number. A library that raises gets `error` in its cell and the
message under the table; the harness carries on.

Usage (from the repository root):
  python bench/bench_columns.py --quick                   # N = 2,000, bulk 1M values, about 1 min
  python bench/bench_columns.py                           # N = 50,000, bulk 10M values
  python bench/bench_columns.py --libs kohakuvault==0.9.0,kohakuvault --quick
  python bench/bench_columns.py --suites reads bulk --repeat 3 --json columns.json

See bench/README.md ("ColumnVault").
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (  # noqa: E402  (bench/ is on sys.path)
    fmt_rate,
    import_repo_aware,
    module_version,
    native_fingerprint,
)

# name==version -> pip-installed once into the bench cache; machine facts and
# the "other processes' CPU" measurement are the ones bench_kv.py prints.
from bench_kv import _cpu_snapshot, _foreign_load, machine_info, pinned_path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULT_TAG = "@@BENCH_COLUMNS_RESULT "
DEFAULT_LIBS = ["ambervault", "kohakuvault==0.9.0", "kohakuvault"]
REFS = ["numpy", "memmap"]  # reference columns of the bulk workload
REF_LABEL = {"numpy": "numpy save/load", "memmap": "numpy memmap"}
SUITES = ["append", "reads", "writes", "bulk"]
MIN_CHUNK = 16 * 1024
MAX_CHUNK = 1024 * 1024
CACHE_CAP = 64 << 20
CACHE_FLUSH = 16 << 20

APPEND_DTYPES = ["i64", "f64", "bytes:32", "str:32:utf8", "str:utf8", "msgpack"]
APPEND_OPS = ["append_uncached", "append_cached", "extend_uncached", "extend_cached"]
READ_DTYPES = APPEND_DTYPES
READ_OPS = ["single", "slice"]
WRITE_DTYPES = ["i64", "f64", "bytes:32", "bytes"]
WRITE_OPS = ["loop", "slice"]
BULK_OPS = ["write", "read"]
SLICE_LEN = 100

# The goals: ambervault >= 2x the reference (kohakuvault) on every
# row, >= 5x on single-element reads, >= 3x on slice reads.
GOAL_DEFAULT = 2.0
GOALS = {("reads", "single"): 5.0, ("reads", "slice"): 3.0}

OP_LABEL = {
    ("append", "append_uncached"): "append, uncached",
    ("append", "append_cached"): "append, cached",
    ("append", "extend_uncached"): "extend, uncached",
    ("append", "extend_cached"): "extend, cached",
    ("reads", "single"): "single `col[i]`",
    ("reads", "slice"): f"slice `col[s:s+{SLICE_LEN}]`",
    ("writes", "loop"): "loop `col[start+i] = v`",
    ("writes", "slice"): "slice `col[start:start+n] = values`",
    ("bulk", "write"): "write: one `extend`",
    ("bulk", "read"): "read all into an ndarray",
}
UNIT = {"append": "elements/s", "reads": "elements read/s", "writes": "updates/s", "bulk": "MB/s"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def import_name(lib: str) -> str:
    return lib.split("==", 1)[0]


def goal_for(suite: str, op: str) -> float:
    return GOALS.get((suite, op), GOAL_DEFAULT)


# ---------------------------------------------------------------------------
# Data (generated in the workers, before the timer starts)
# ---------------------------------------------------------------------------


def suite_values(dtype: str, n: int) -> list:
    if dtype == "i64":
        return list(range(n))
    if dtype == "f64":
        return [i * 1.5 for i in range(n)]
    if dtype == "bytes:32":
        return [b"x" * 32 for _ in range(n)]
    if dtype == "str:32:utf8":
        return [f"str_{i:04d}" for i in range(n)]
    if dtype == "str:utf8":
        return [f"string_{i}" for i in range(n)]
    if dtype == "msgpack":
        return [{"id": i, "val": i * 1.5} for i in range(n)]
    if dtype == "bytes":
        return [f"string_{i}".encode() for i in range(n)]
    raise ValueError(f"unknown dtype {dtype!r}")


def update_values(dtype: str, n: int) -> list:
    if dtype == "i64":
        return [i * 100 for i in range(n)]
    if dtype == "f64":
        return [i * 100.0 for i in range(n)]
    if dtype == "bytes:32":
        return [b"U" * 32 for _ in range(n)]
    if dtype == "bytes":
        random.seed(42)
        return [b"x" * random.randint(5, 30) for _ in range(n)]
    raise ValueError(f"unknown dtype {dtype!r}")


def bulk_array(n: int):
    import numpy as np

    return np.random.default_rng(0).random(n)


# ---------------------------------------------------------------------------
# Worker helpers
# ---------------------------------------------------------------------------


def open_vault(mod, db: str):
    return mod.ColumnVault(db, min_chunk_bytes=MIN_CHUNK, max_chunk_bytes=MAX_CHUNK)


def close_vault(cv) -> None:
    """close() where the library has it; kohakuvault 0.9.0 has none (its
    __del__ checkpoints), so checkpoint() explicitly."""
    if hasattr(cv, "close"):
        cv.close()
    elif hasattr(cv, "checkpoint"):
        cv.checkpoint()


def can_reopen(cv) -> bool:
    return hasattr(type(cv), "__getitem__")


def reopen(mod, db: str, cv, col):
    """Close the vault and open the column again from a fresh ColumnVault.
    Falls back to the same objects when the library has no cv[name]."""
    if not can_reopen(cv):
        return cv, col, False
    close_vault(cv)
    del cv, col
    gc.collect()
    cv2 = open_vault(mod, db)
    return cv2, cv2["test"], True


def sync() -> None:
    if hasattr(os, "sync"):
        os.sync()  # untimed: no dirty pages of earlier work in flight


class Timer:
    """time.perf_counter() around a region, after gc.collect(), cyclic GC off."""

    def __init__(self, keep_gc: bool):
        self.keep_gc = keep_gc
        self.elapsed = None

    def __enter__(self):
        gc.collect()
        if not self.keep_gc:
            gc.disable()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.t0
        gc.enable()
        return False


def first_mismatch(got, want) -> str | None:
    """None when the values are equal, else a short description."""
    got = list(got)
    if len(got) != len(want):
        return f"read back {len(got):,} elements, expected {len(want):,}"
    if got == want:
        return None
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"element {i}: got {g!r:.60}, expected {w!r:.60}"
    return "values differ"


def type_note(got, want) -> str | None:
    """Informational: equal values of another type (e.g. numpy scalars)."""
    for i, (g, w) in enumerate(zip(got, want)):
        if type(g) is not type(w):
            return f"element {i} is {type(g).__name__}, expected {type(w).__name__}"
    return None


def verify_column(mod, db: str, cv, col, want: list) -> tuple:
    """(cv, col, error or None, type note, reopened): the whole column read
    back with col[0:len] after a close and reopen."""
    cv, col, reopened = reopen(mod, db, cv, col)
    n = len(col)
    if n != len(want):
        return cv, col, f"len(col) = {n:,}, expected {len(want):,}", None, reopened
    got = col[0:n]
    return cv, col, first_mismatch(got, want), type_note(got, want), reopened


def db_bytes(db: str) -> int:
    total = 0
    for suffix in ("", "-wal", ".npy"):
        try:
            total += os.path.getsize(db + suffix)
        except OSError:
            pass
    return total


# ---------------------------------------------------------------------------
# Workers: one case of one library, one JSON line
# ---------------------------------------------------------------------------


def bench_append(mod, db: str, case: dict, keep_gc: bool) -> dict:
    dtype, op, n = case["dtype"], case["op"], case["n"]
    count = min(n, case["append_cap"]) if op == "append_uncached" else n
    data = suite_values(dtype, count)
    cv = open_vault(mod, db)
    col = cv.create_column("test", dtype)
    cached = op.endswith("_cached")
    if cached:
        col.enable_cache(cap_bytes=CACHE_CAP, flush_threshold=CACHE_FLUSH)
    sync()
    with Timer(keep_gc) as t:
        if op.startswith("append"):
            for v in data:
                col.append(v)
        else:
            col.extend(data)
        if cached:
            col.flush_cache()
    cv, col, err, tnote, reopened = verify_column(mod, db, cv, col, data)
    close_vault(cv)
    return {"elapsed": t.elapsed, "count": count, "verify_error": err, "type_note": tnote, "reopened": reopened}


def bench_reads(mod, db: str, case: dict, keep_gc: bool, min_time: float) -> dict:
    dtype, op, n = case["dtype"], case["op"], case["n"]
    data = suite_values(dtype, n)
    cv = open_vault(mod, db)
    col = cv.create_column("test", dtype)
    col.extend(data)
    reopened = None  # as upstream: read through the same objects that wrote
    if case.get("reopen"):
        cv, col, reopened = reopen(mod, db, cv, col)
    n_reads = min(n, 1000)
    if op == "single":
        random.seed(42)
        idx = [random.randint(0, n - 1) for _ in range(n_reads)]
        want = [data[i] for i in idx]
        per_pass = n_reads

        def one_pass():
            for i in idx:
                _ = col[i]
            return _

        def check():
            return [col[i] for i in idx]

        last_want = want[-1]
    else:
        starts = list(range(0, n_reads, SLICE_LEN))
        want = [v for s in starts for v in data[s:s + SLICE_LEN]]
        per_pass = len(want)

        def one_pass():
            for s in starts:
                _ = col[s:s + SLICE_LEN]
            return _

        def check():
            return [v for s in starts for v in col[s:s + SLICE_LEN]]

        last_want = data[starts[-1]:starts[-1] + SLICE_LEN]
    # Untimed: one checked pass (also the warm-up), then the timed passes.
    got = check()
    err = first_mismatch(got, want)
    tnote = type_note(got, want)
    passes, last = 0, None
    if err is None:
        sync()
        with Timer(keep_gc) as t:
            while True:
                last = one_pass()
                passes += 1
                if time.perf_counter() - t.t0 >= min_time:
                    break
        err = first_mismatch(last, last_want) if op == "slice" else first_mismatch([last], [last_want])
        if err:
            err = "last read of the timed passes: " + err
        elapsed = t.elapsed
    else:
        elapsed = None
    close_vault(cv)
    return {
        "elapsed": elapsed,
        "count": passes * per_pass,
        "passes": passes,
        "per_pass": per_pass,
        "verify_error": err,
        "type_note": tnote,
        "reopened": reopened,
    }


def bench_writes(mod, db: str, case: dict, keep_gc: bool, budget: float) -> dict:
    dtype, op, n = case["dtype"], case["op"], case["n"]
    init = suite_values(dtype, n)
    n_upd = min(5000, n // 2)
    start = n // 4
    upd = update_values(dtype, n_upd)
    cv = open_vault(mod, db)
    col = cv.create_column("test", dtype)
    col.extend(init)
    sync()
    done = n_upd
    with Timer(keep_gc) as t:
        if op == "loop":
            # Blocks of 50 updates; stop after `budget` seconds (checked
            # between blocks, the same for every library).
            done = 0
            while done < n_upd:
                stop = min(done + 50, n_upd)
                for i in range(done, stop):
                    col[start + i] = upd[i]
                done = stop
                if budget > 0 and time.perf_counter() - t.t0 >= budget:
                    break
        else:
            col[start:start + n_upd] = upd
    want = list(init)
    want[start:start + done] = upd[:done]
    cv, col, err, tnote, reopened = verify_column(mod, db, cv, col, want)
    close_vault(cv)
    return {
        "elapsed": t.elapsed,
        "count": done,
        "planned": n_upd,
        "verify_error": err,
        "type_note": tnote,
        "reopened": reopened,
    }


def bulk_read_fn(method: str):
    import numpy as np

    if method == "to_numpy":
        return lambda col, n: col.to_numpy()
    if method == "read_array":
        return lambda col, n: col.read_array(0, n)
    return lambda col, n: np.array(col[0:n], dtype=np.float64)


def read_passes(fn, keep_gc: bool, min_time: float) -> tuple:
    """(last result, seconds per pass, passes): fn() repeated until the
    timing lasts at least min_time, as the reads suite does. The last result
    is the one checked."""
    passes, got = 0, None
    with Timer(keep_gc) as t:
        while True:
            got = None  # free the previous pass's array first
            got = fn()
            passes += 1
            if time.perf_counter() - t.t0 >= min_time:
                break
    return got, t.elapsed / passes, passes


def bench_bulk(mod, lib: str, db: str, case: dict, keep_gc: bool, caps: dict, min_time: float) -> dict:
    import numpy as np

    op, n = case["op"], case["n"]
    arr = bulk_array(n)
    mb = n * 8 / 2**20
    out = {"count": n, "mb": mb}
    if lib in REFS:
        path = db + ".npy" if lib == "numpy" else db + ".f8"

        def write():
            if lib == "numpy":
                np.save(path, arr)
            else:
                mm = np.memmap(path, dtype="<f8", mode="w+", shape=(n,))
                mm[:] = arr
                mm.flush()
                del mm

        def read():
            if lib == "numpy":
                return np.load(path)
            mm = np.memmap(path, dtype="<f8", mode="r", shape=(n,))
            a = np.array(mm)
            del mm
            return a

        if op == "write":
            sync()
            with Timer(keep_gc) as t:
                write()
            got = read()
            out["elapsed"] = t.elapsed
        else:
            write()
            sync()
            got, out["elapsed"], out["passes"] = read_passes(lambda: read(), keep_gc, min_time)
        out["verify_error"] = None if (got.shape == (n,) and np.array_equal(got, arr)) else "array read back differs"
        out["method"] = "np.save / np.load" if lib == "numpy" else "np.memmap w+ / r"
        return out

    use_array = bool(caps.get("extend_ndarray"))
    method = caps.get("read_method") or "slice"
    out["input"] = "ndarray" if use_array else "list (array.tolist(), untimed)"
    out["method"] = method
    cv = open_vault(mod, db)
    col = cv.create_column("test", "f64")
    payload = arr if use_array else arr.tolist()
    if op == "write":
        sync()
        with Timer(keep_gc) as t:
            col.extend(payload)
        del payload
        # Untimed check after a reopen: length, both ends, 256 random
        # elements and one slice of 1,000 in the middle.
        cv, col, out["reopened"] = reopen(mod, db, cv, col)
        ln = len(col)
        if ln != n:
            err = f"len(col) = {ln:,}, expected {n:,}"
        else:
            idx = [0, n - 1] + np.random.default_rng(1).integers(0, n, 256).tolist()
            err = first_mismatch([col[i] for i in idx], [float(arr[i]) for i in idx])
            mid = max(0, n // 2 - 500)
            err = err or first_mismatch(col[mid:mid + 1000], arr[mid:mid + 1000].tolist())
        out["elapsed"] = t.elapsed
        out["verify_error"] = err
    else:
        col.extend(payload)
        del payload
        if case.get("reopen"):
            cv, col, out["reopened"] = reopen(mod, db, cv, col)
        fn = bulk_read_fn(method)
        sync()
        got, out["elapsed"], out["passes"] = read_passes(lambda: fn(col, n), keep_gc, min_time)
        if not isinstance(got, np.ndarray):
            out["verify_error"] = f"read returned {type(got).__name__}, not ndarray"
        elif got.shape != (n,) or not np.array_equal(got, arr):
            out["verify_error"] = f"array read back differs (shape {got.shape}, dtype {got.dtype})"
        else:
            out["verify_error"] = None
    close_vault(cv)
    return out


def worker_main(spec: dict) -> int:
    lib, case = spec["lib"], spec["case"]
    out = {"lib": lib, "case": case}
    tmp = tempfile.mkdtemp(prefix=f"bench_columns_{lib.replace('==', '-')}_", dir=spec.get("tmpdir"))
    try:
        mod = None if lib in REFS else import_repo_aware(import_name(lib))
        db = os.path.join(tmp, f"col_{case['suite']}_{case['op']}.db")
        s = case["suite"]
        if s == "append":
            r = bench_append(mod, db, case, spec["keep_gc"])
        elif s == "reads":
            r = bench_reads(mod, db, case, spec["keep_gc"], spec["min_time"])
        elif s == "writes":
            r = bench_writes(mod, db, case, spec["keep_gc"], spec["loop_budget"])
        elif s == "bulk":
            r = bench_bulk(mod, lib, db, case, spec["keep_gc"], spec.get("caps") or {}, spec["min_time"])
        else:
            raise ValueError(f"unknown suite {s!r}")
        out.update(r)
        out["db_bytes"] = db_bytes(db)
        t = r.get("elapsed")
        if r.get("verify_error") is None and t:
            out["rate"] = (r["mb"] if s == "bulk" else r["count"]) / t
    except Exception as ex:
        out["error"] = f"{type(ex).__name__}: {ex}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


def probe_main(lib: str) -> int:
    """Import one library, smoke-test its ColumnVault and find out which bulk
    calls it takes (extend(ndarray)? to_numpy / read_array / a slice?)."""
    info = {"lib": lib}
    try:
        mod = import_repo_aware(import_name(lib))
        if not hasattr(mod, "ColumnVault"):
            where = list(getattr(mod, "__path__", [])) or [getattr(mod, "__file__", "?")]
            raise ImportError(f"package found at {where} but it has no ColumnVault (not built or not written yet?)")
        info["version"] = module_version(mod)
        info["file"] = getattr(mod, "__file__", None)
        info["native_files"] = native_fingerprint(mod)
        import numpy as np

        tmp = tempfile.mkdtemp(prefix=f"bench_columns_probe_{lib.replace('==', '-')}_")
        try:
            cv = open_vault(mod, os.path.join(tmp, "probe.db"))
            info["has_close"] = hasattr(cv, "close")
            info["can_reopen"] = can_reopen(cv)
            col = cv.create_column("smoke", "f64")
            col.extend([0.5, 1.5, 2.5])
            if col[0:3] != [0.5, 1.5, 2.5] or col[1] != 1.5:
                raise RuntimeError(f"smoke test: wrote [0.5, 1.5, 2.5], read back {col[0:3]!r}")
            caps = {}
            want = [0.25, 0.75, 1.25]
            try:
                c2 = cv.create_column("nd", "f64")
                c2.extend(np.array(want))
                caps["extend_ndarray"] = c2[0:3] == want and len(c2) == 3
                if not caps["extend_ndarray"]:
                    caps["extend_ndarray_why"] = f"read back {c2[0:3]!r}"
            except Exception as ex:
                caps["extend_ndarray"] = False
                caps["extend_ndarray_why"] = f"{type(ex).__name__}: {ex}"
            tried = []
            for method in ("to_numpy", "read_array", "slice"):
                if method != "slice" and not hasattr(col, method):
                    continue
                try:
                    got = bulk_read_fn(method)(col, 3)
                    if isinstance(got, np.ndarray) and got.tolist() == [0.5, 1.5, 2.5]:
                        caps["read_method"] = method
                        break
                    tried.append(f"{method}: returned {got!r:.60}")
                except Exception as ex:
                    tried.append(f"{method}: {type(ex).__name__}: {ex}")
            if tried:
                caps["read_method_skipped"] = tried
            info["caps"] = caps
            close_vault(cv)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        info["installed"] = True
    except Exception as ex:
        info["installed"] = False
        info["error"] = f"{type(ex).__name__}: {ex}"
    print(RESULT_TAG + json.dumps(info), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def _run_child(args: list[str], timeout: float, lib: str | None = None) -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    if lib is not None and lib not in REFS:
        try:
            pinned = pinned_path(lib)
        except (subprocess.CalledProcessError, OSError) as ex:
            return {"error": f"cannot install {lib}: {ex}"}
        if pinned is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pinned), env.get("PYTHONPATH")]))
    try:
        cp = subprocess.run(
            [sys.executable, os.path.abspath(__file__), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(REPO_ROOT),
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (cp.stderr or cp.stdout).strip().splitlines()[-3:]
    return {"error": f"worker exit {cp.returncode}: " + " | ".join(tail)}


def build_cases(a) -> list[dict]:
    cases = []
    n = a.entries
    if "append" in a.suites:
        for dt in APPEND_DTYPES:
            for op in APPEND_OPS:
                cases.append({"suite": "append", "dtype": dt, "op": op, "n": n, "append_cap": a.append_cap})
    if "reads" in a.suites:
        for dt in READ_DTYPES:
            for op in READ_OPS:
                cases.append({"suite": "reads", "dtype": dt, "op": op, "n": n, "reopen": a.reopen_reads})
    if "writes" in a.suites:
        for dt in WRITE_DTYPES:
            for op in WRITE_OPS:
                cases.append({"suite": "writes", "dtype": dt, "op": op, "n": n})
    if "bulk" in a.suites:
        for op in BULK_OPS:
            cases.append({"suite": "bulk", "dtype": "f64", "op": op, "n": a.bulk_n,
                          "reopen": a.reopen_reads and op == "read"})
    return cases


def case_key(c: dict) -> str:
    return f"{c['suite']}|{c['dtype']}|{c['op']}"


def split_list(values) -> list[str]:
    out = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="ColumnVault benchmark: ambervault vs kohakuvault (same run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--entries", type=int, default=50_000, help="elements N per column (suites append, reads, writes)")
    p.add_argument("--append-cap", type=int, default=5_000,
                   help="uncached append times min(N, this) single appends (the reference does ~10-20k/s)")
    p.add_argument("--bulk-n", type=int, default=10_000_000, help="float64 values of the bulk workload")
    p.add_argument("--min-time", type=float, default=0.2, help="read passes repeat until a timing lasts this long (s)")
    p.add_argument("--loop-budget", type=float, default=5.0,
                   help="the per-element update loop stops after this many seconds if not done (0 = never)")
    p.add_argument("--reopen-reads", action="store_true",
                   help="reads and bulk reads go through a freshly opened ColumnVault (close + reopen after the "
                   "extend) instead of the objects that wrote, as upstream does")
    p.add_argument("--libs", nargs="+", default=list(DEFAULT_LIBS),
                   help="libraries (name or name==version; space- or comma-separated). The first one that is not "
                   "ambervault is the primary reference of the ratios, the others go in brackets")
    p.add_argument("--refs", nargs="*", default=list(REFS), choices=REFS, metavar="REF",
                   help=f"reference columns of the bulk workload ({', '.join(REFS)}); --refs alone: none")
    p.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES, help="workloads to run")
    p.add_argument("--repeat", type=int, default=1, help="runs per case and library; the median is reported")
    p.add_argument("--quick", action="store_true",
                   help="N = 2,000 and bulk-n = 1,000,000 (overrides --entries and --bulk-n)")
    p.add_argument("--keep-gc", action="store_true", help="leave the cyclic GC on in timed regions")
    p.add_argument("--json", metavar="PATH", help="also write all results to this JSON file")
    p.add_argument("--tmpdir", default=None, help="directory for the database files; the system temp dir if unset")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per worker process")
    p.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    p.add_argument("--probe", metavar="LIB", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.libs = split_list(a.libs)
    if a.quick:
        a.entries = 2_000
        a.bulk_n = 1_000_000
    if a.repeat < 1:
        p.error("--repeat must be >= 1")
    if a.entries < 2 or a.bulk_n < 1 or a.append_cap < 1:
        p.error("--entries must be >= 2, --bulk-n and --append-cap >= 1")
    if not a.libs:
        p.error("--libs is empty")
    return a


def mark(r: float | None, goal: float | None) -> str:
    if r is None:
        return "-"
    # truncated, not rounded, so that 1.996x shows as 1.99x next to its ✗
    s = f"{math.floor(r * 100) / 100:.2f}x"
    if goal is None:
        return s
    return s + (" ✓" if r >= goal else " ✗")


def summarize(runs: list, installed: bool) -> dict:
    """Status and median rate of one (case, library) over its repeats."""
    if not installed:
        return {"status": "not installed"}
    if not runs:
        return {"status": "not run"}
    failed = [x for x in runs if "error" not in x and x.get("verify_error")]
    errors = [x for x in runs if "error" in x]
    good = [x for x in runs if "rate" in x]
    e = {"status": "ok"}
    if failed:
        e["status"] = "FAILED"  # wrong data in any run: no number at all
    elif not good:
        e["status"] = "error"
    else:
        e["rate"] = statistics.median(x["rate"] for x in good)
        e["elapsed"] = statistics.median(x["elapsed"] for x in good)
        e["count"] = statistics.median(x["count"] for x in good)
        e["some_errors"] = bool(errors)
        e["budget_cut"] = any(x.get("planned") and x["count"] < x["planned"] for x in good)
        e["planned"] = good[0].get("planned")
    return e


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.worker:
        return worker_main(json.loads(a.worker))
    if a.probe:
        return probe_main(a.probe)

    started = _dt.datetime.now().astimezone()
    machine = machine_info(a.tmpdir)
    print("# ColumnVault benchmark: " + " vs ".join(lib.replace("==", " ") for lib in a.libs))
    print()
    print(f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(
        f"- machine: nproc={machine.get('nproc')}"
        + (f" (affinity {machine['nproc_affinity']})" if "nproc_affinity" in machine else "")
        + f", cpu={machine.get('cpu', '?')}, mem={machine.get('mem_gib', '?')} GiB"
    )
    print(f"- platform: {machine['platform']}, Python {machine['python']}")
    print(f"- db files in: {machine['tmpdir']} ({machine.get('tmpdir_fs', '?')})")

    probes = {}
    label = {}
    for lib in a.libs:
        info = _run_child(["--probe", lib], timeout=300, lib=lib)
        info.setdefault("installed", False)
        if info["installed"] and "==" in lib and info.get("version") != lib.split("==", 1)[1]:
            info["installed"] = False
            info["error"] = f"imported version {info.get('version')}, not {lib.split('==', 1)[1]}"
        probes[lib] = info
        if "==" in lib or lib == "ambervault" or not info["installed"]:
            label[lib] = lib.replace("==", " ")
        else:
            label[lib] = f"{lib} {info.get('version')}"
        if info["installed"]:
            caps = info.get("caps") or {}
            nd = "takes an ndarray" if caps.get("extend_ndarray") else (
                f"no ndarray ({caps.get('extend_ndarray_why', '?')[:80]}), gets array.tolist()"
            )
            rm = {"to_numpy": "col.to_numpy()", "read_array": "col.read_array(0, n)",
                  "slice": "numpy.array(col[0:n])"}.get(caps.get("read_method"), "?")
            extra = "" if info.get("can_reopen") else "; no cv[name]: columns are not reopened before checks/reads"
            print(f"- {label[lib]}: version {info.get('version')}; bulk extend {nd}; bulk read {rm}{extra}")
            print(f"  ({info.get('file')})")
            for f, (h, mt) in (info.get("native_files") or {}).items():
                print(f"  {f}: sha256 {h}..., built {mt}")
        else:
            print(f"- {label[lib]}: NOT INSTALLED ({info.get('error', 'import failed')})")
    refs = list(a.refs) if "bulk" in a.suites else []
    for ref in refs:
        label[ref] = REF_LABEL[ref]
    try:
        import numpy as np

        print(f"- bulk references: numpy {np.__version__} ({', '.join(REF_LABEL[r] for r in refs) or 'none'})")
    except ImportError:
        print("- numpy: NOT INSTALLED (bulk workload and kohakuvault 1.1.0 need it)")
    print(
        f"- workloads: KohakuVault examples/benchmark.py column suites 3-5 + bulk f64; N={a.entries:,}, "
        f"append cap {min(a.entries, a.append_cap):,}, bulk {a.bulk_n:,} values; "
        f"ColumnVault(db, min_chunk_bytes={MIN_CHUNK}, max_chunk_bytes={MAX_CHUNK}); repeat={a.repeat} (median)"
    )
    print(
        "- each (case, library, repeat) runs in a fresh subprocess on a fresh file; the first library rotates; "
        f"cyclic GC {'on' if a.keep_gc else 'off'} in timed regions; os.sync() before each; time.perf_counter()"
    )
    print(
        "- reads and bulk reads: "
        + ("through a freshly reopened ColumnVault (--reopen-reads)" if a.reopen_reads
           else "through the column object that wrote the data, as upstream (no reopen)")
    )
    print()
    sys.stdout.flush()

    avail = [lib for lib in a.libs if probes[lib].get("installed")]
    cases = build_cases(a)
    raw = {case_key(c): {lib: [] for lib in a.libs + refs} for c in cases}
    runners_of = {case_key(c): avail + (refs if c["suite"] == "bulk" else []) for c in cases}
    total = a.repeat * sum(len(runners_of[case_key(c)]) for c in cases)
    done = 0
    t_start = time.perf_counter()
    snap_start = _cpu_snapshot()
    for r in range(a.repeat):
        for ci, case in enumerate(cases):
            key = case_key(case)
            runners = runners_of[key]
            if not runners:
                continue
            shift = (ci + r) % len(runners)
            order = runners[shift:] + runners[:shift]
            for lib in order:
                spec = {
                    "lib": lib,
                    "case": case,
                    "tmpdir": a.tmpdir,
                    "keep_gc": a.keep_gc,
                    "min_time": a.min_time,
                    "loop_budget": a.loop_budget,
                    "caps": (probes.get(lib) or {}).get("caps"),
                }
                res = _run_child(["--worker", json.dumps(spec)], timeout=a.timeout, lib=lib)
                res["repeat"] = r
                res["order"] = order.index(lib)
                raw[key][lib].append(res)
                done += 1
                if "error" in res:
                    status = "ERROR " + res["error"][:200]
                elif res.get("verify_error"):
                    status = "CHECK FAILED " + res["verify_error"][:200]
                else:
                    status = f"{res['elapsed']:.3f}s {fmt_rate(res['rate'])} {UNIT[case['suite']]}"
                log(f"  [{done}/{total}] {case['suite']} {case['dtype']} {case['op']} N={case['n']} {lib}: {status}")

    foreign = _foreign_load(snap_start, _cpu_snapshot())
    machine["foreign_cpu_cores_during_run"] = foreign
    wall = time.perf_counter() - t_start

    changed = []
    for lib in avail:
        after = _run_child(["--probe", lib], timeout=300, lib=lib)
        probes[lib]["native_files_after"] = after.get("native_files")
        if after.get("native_files") != probes[lib].get("native_files") or after.get("version") != probes[lib].get(
            "version"
        ):
            changed.append(lib)

    # ---- summaries and ratios ----
    base = "ambervault" if "ambervault" in a.libs else a.libs[0]
    others = [lib for lib in a.libs if lib != base]
    rows = []
    for c in cases:
        key = case_key(c)
        entries = {
            lib: summarize(raw[key][lib], probes[lib].get("installed") if lib in probes else True)
            for lib in a.libs + (refs if c["suite"] == "bulk" else [])
        }
        ratios = {}
        b = entries[base].get("rate")
        for o in entries:
            if o == base:
                continue
            x = entries[o].get("rate")
            ratios[o] = b / x if b is not None and x else None
        rows.append({"case": c, "libs": entries, "ratios": ratios})

    goals_apply = base == "ambervault"
    tally = {o: [0, 0, []] for o in others}
    notes = {"cap": False, "budget": [], "some_errors": False, "no_reopen": False}

    def cell(row, lib):
        e = row["libs"].get(lib)
        if e is None:
            return "-"
        if e["status"] != "ok":
            return e["status"]
        s = fmt_rate(e["rate"])
        if e.get("budget_cut"):
            s += " ᵇ"
            notes["budget"].append((row["case"], lib, e["count"], e["planned"]))
        if e.get("some_errors"):
            s += " ᵉ"
            notes["some_errors"] = True
        return s

    def ratio_cell(row, goal):
        parts = []
        for i, o in enumerate(others):
            rr = row["ratios"].get(o)
            g = goal if goals_apply else None
            parts.append(mark(rr, g))
            if goals_apply and rr is not None:
                t = tally[o]
                t[1] += 1
                if rr >= goal:
                    t[0] += 1
                else:
                    c = row["case"]
                    t[2].append(f"{c['suite']} {c['dtype']} {c['op']} {math.floor(rr * 100) / 100:.2f}x")
        if not parts:
            return "-"
        return parts[0] + (" (" + ", ".join(parts[1:]) + ")" if parts[1:] else "")

    ratio_head = (
        f"{label[base]} ÷ {label[others[0]]}"
        + (" (÷ " + ", ".join(label[o] for o in others[1:]) + ")" if others[1:] else "")
        if others else "ratio"
    )
    titles = {
        "append": f"Suite 3: append vs extend (N = {a.entries:,}; elements appended per second)",
        "reads": f"Suite 4: single vs slice reads (N = {a.entries:,}, {min(a.entries, 1000):,} reads per pass; "
                 "elements read per second)",
        "writes": f"Suite 5: slice writes (N = {a.entries:,}, {min(5000, a.entries // 2):,} updates from "
                  f"N/4; updates per second)",
        "bulk": f"Bulk float64: {a.bulk_n:,} values ({a.bulk_n * 8 / 2**20:,.1f} MB; MB/s)",
    }
    for suite in a.suites:
        srows = [row for row in rows if row["case"]["suite"] == suite]
        if not srows:
            continue
        print(f"## {titles[suite]}\n")
        if suite != "bulk":
            head = "| dtype | operation | elements | " + " | ".join(label[lib] for lib in a.libs)
            print(head + f" | {ratio_head} | goal |")
            print("|---|---|---:|" + "---:|" * (len(a.libs) + 2))
            for row in srows:
                c = row["case"]
                goal = goal_for(suite, c["op"])
                if suite == "append":
                    cnt = min(c["n"], c["append_cap"]) if c["op"] == "append_uncached" else c["n"]
                    elems = f"{cnt:,}" + (" ᶜ" if cnt < c["n"] else "")
                    notes["cap"] |= cnt < c["n"]
                elif suite == "reads":
                    elems = f"{min(c['n'], 1000):,} per pass"
                else:
                    elems = f"{min(5000, c['n'] // 2):,}"
                print(
                    f"| {c['dtype']} | {OP_LABEL[(suite, c['op'])]} | {elems} | "
                    + " | ".join(cell(row, lib) for lib in a.libs)
                    + f" | {ratio_cell(row, goal)} | ≥ {goal:g}x |"
                )
        else:
            ref_here = [r for r in refs]
            head = "| operation | " + " | ".join(label[lib] for lib in a.libs + ref_here)
            head += f" | {ratio_head} | " + " | ".join(f"{label[base]} ÷ {label[r]}" for r in ref_here)
            print(head + (" | " if ref_here else "") + "goal |")
            print("|---|" + "---:|" * (len(a.libs) + 2 * len(ref_here) + 2))
            for row in srows:
                c = row["case"]
                goal = goal_for(suite, c["op"])
                vs_ref = [mark(row["ratios"].get(r), None) for r in ref_here]
                print(
                    f"| {OP_LABEL[(suite, c['op'])]} | "
                    + " | ".join(cell(row, lib) for lib in a.libs + ref_here)
                    + f" | {ratio_cell(row, goal)} | "
                    + " | ".join(vs_ref)
                    + (" | " if vs_ref else "")
                    + f"≥ {goal:g}x (vs kohakuvault) |"
                )
            print()
            for lib in a.libs:
                if not probes[lib].get("installed"):
                    continue
                caps = probes[lib].get("caps") or {}
                w = "`col.extend(arr)`" if caps.get("extend_ndarray") else (
                    "`col.extend(arr.tolist())`, the list made before the timer starts")
                rd = {"to_numpy": "`col.to_numpy()`", "read_array": "`col.read_array(0, n)` (a read-only view "
                      "of the bytes it read)", "slice": "`numpy.array(col[0:n], dtype=float64)`"}.get(
                    caps.get("read_method"), "?")
                print(f"- {label[lib]}: write {w}; read {rd}")
            if "numpy" in ref_here:
                print("- numpy save/load: `numpy.save(path, arr)`; `numpy.load(path)` (a .npy file, no fsync)")
            if "memmap" in ref_here:
                print("- numpy memmap: `mm = numpy.memmap(path, '<f8', 'w+', shape=(n,)); mm[:] = arr; mm.flush()` "
                      "(flush is msync: it waits for the disk); `numpy.array(numpy.memmap(path, '<f8', 'r', ...))`")
        print()

    if notes["cap"]:
        print(f"ᶜ uncached `append` times min(N, --append-cap) = {min(a.entries, a.append_cap):,} appends "
              "(one transaction each); the rate is comparable with the other rows.")
    if notes["budget"]:
        print(f"ᵇ the per-element update loop stopped after --loop-budget {a.loop_budget:g} s; the rate is over "
              "the updates done (and checked):")
        for c, lib, cnt, planned in notes["budget"]:
            print(f"  {c['dtype']} {c['op']} {label[lib]}: {cnt:,.0f} of {planned:,}")
    if notes["some_errors"]:
        print("ᵉ some repeats raised (listed below); the number is the median of the others.")
    if notes["cap"] or notes["budget"] or notes["some_errors"]:
        print()

    print(
        "Units: elements (or updates) per second = count / seconds of the timed region; MB/s = 2^20 bytes of "
        "float64 data per second. ratio = "
        f"{label[base]} ÷ the other library (> 1: {label[base]} is faster); the first is "
        f"{label[others[0]] if others else '-'}, the others in brackets."
    )
    print()
    if goals_apply:
        print(
            f"Goals (informational, never fail the run): ambervault ≥ {GOAL_DEFAULT:g}x kohakuvault on every row, "
            f"≥ {GOALS[('reads', 'single')]:g}x on single-element reads, ≥ {GOALS[('reads', 'slice')]:g}x on "
            "slice reads. ✓/✗ after each ratio.\n"
        )
        for o in others:
            met, rated, misses = tally[o]
            line = f"- vs {label[o]}: met in {met} of {rated} rows"
            if misses:
                line += "; missed: " + ", ".join(misses)
            print(line)
        print()
    else:
        print("(no goal marks: ambervault was not among --libs)\n")

    fails = [
        (row["case"], lib, x)
        for row in rows
        for lib in row["libs"]
        for x in raw[case_key(row["case"])].get(lib, [])
        if "error" in x or x.get("verify_error")
    ]
    if fails:
        print("FAILED = the data read back was wrong (no number is reported); error = the call raised:\n")
        for c, lib, x in fails:
            what = f"error: {x['error']}" if "error" in x else f"check failed: {x['verify_error']}"
            print(f"- {c['suite']} {c['dtype']} {c['op']}, {label.get(lib, lib)} (repeat {x['repeat']}): {what[:300]}")
        print()
    else:
        print(
            "Checks (untimed): every run read its data back and it was right (appends and writes: the whole "
            "column after a close and reopen; reads: one checked pass before timing, and the last read; bulk: "
            "the whole array on reads, length + 258 elements + a 1,000-element slice after writes).\n"
        )
    tnotes = sorted({
        (case_key(row["case"]), lib, x["type_note"])
        for row in rows for lib in row["libs"] for x in raw[case_key(row["case"])].get(lib, [])
        if x.get("type_note")
    })
    if tnotes:
        print("Equal values of another Python type (informational):")
        for k, lib, t in tnotes:
            print(f"- {k.replace('|', ' ')}, {label.get(lib, lib)}: {t}")
        print()
    if any(x.get("reopened") is False for rs in raw.values() for runs in rs.values() for x in runs):
        print("Note: some libraries have no cv[name], so their columns were checked/read without a reopen.\n")
    if changed:
        print(
            f"**WARNING: {', '.join(label[x] for x in changed)} changed on disk during the run (rebuilt or "
            "reinstalled); the rows may mix builds. Re-run for clean numbers.**\n"
        )
    if foreign is not None:
        note = "  **WARNING: the machine was not idle; rerun for clean numbers.**" if foreign > 0.25 else ""
        print(
            f"Other processes used {foreign:.2f} CPU cores (user time) on average during the run "
            f"(of {machine.get('nproc')}).{note}\n"
        )
    print(f"(wall time {wall:.1f}s)")

    if a.json:
        doc = {
            "date": started.isoformat(),
            "machine": machine,
            "libraries": probes,
            "labels": label,
            "args": {k: v for k, v in vars(a).items() if k not in ("worker", "probe")},
            "goals": {"default": GOAL_DEFAULT, **{"|".join(k): v for k, v in GOALS.items()}},
            "rows": rows,
            "runs": raw,
        }
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        with open(a.json, "w") as fh:
            json.dump(doc, fh, indent=2, default=str)
        print(f"results written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
