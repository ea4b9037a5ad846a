#!/usr/bin/env python3
"""Crash loop: SIGKILL a writer at random moments; verify the file after each kill.

One SQLite file holds a KVault and a ColumnVault (``ColumnVault(kv)``). The
parent has imported ambervault but holds no open vault when it forks a writer
child; the child opens its own vaults and runs a random, reproducible mix of

  put          one key                          (one transaction)
  slot         overwrite one of a few keys      (one transaction)
  txn          several keys in ``with kv.transaction():``
  many         ``put_many``
  cache        puts (and a transaction group) in ``with kv.cache():``
  cache_flush  ``enable_cache`` + puts + ``flush_cache()`` (+ ``disable_cache``)
  append/extend on an ``i64`` and a ``str:utf8`` column (lists and numpy)
  col_cache    appends in ``with col.cache():``
  cv_cache     appends to both columns in ``with cv.cache():``
  checkpoint   ``kv.checkpoint()``

Every operation is a pure function of (seed, generation, seq), so the parent
can recompute what any operation wrote. The child appends ``gen seq kind`` to
a side log with one ``os.write`` only after the call returned (for cached
writes: after the flush returned; for a transaction: after the block exited).
That line is the acknowledgement. The parent kills the child after a random
delay (measured from the child's first instruction, so short delays land in
open and WAL recovery) and then, with fresh vault objects, checks:

* every acknowledged write is present with its exact value;
* the one operation that was running at the kill (seq = number of
  acknowledged ones) is all-or-nothing for its KV part, and for each column
  its batch is all-or-nothing; when present it becomes part of the state;
* nothing else is in the file (keys, values, column elements are exactly the
  expected ones, columns in order);
* ``PRAGMA integrity_check`` is ``ok`` (stdlib sqlite3, read-only, opened after
  the vault objects are closed).

The next child continues on the same file. When more than ``--max-keys`` keys
are live, the parent deletes the oldest half (an acknowledged ``delete_many``),
and when a column holds more than ``--max-col`` elements it deletes the first
half (``del col[0:k]``, then ``compact()`` every other time), so the file stays
small enough to verify in full after every kill. Before each fork the parent
checks that closing its vaults left no thread running (forking a process with
threads is unsafe). ``--reader`` adds a reader process beside each writer,
killed with it.

Examples:
  python stress/crash_loop.py                     # 200 kills
  python stress/crash_loop.py --kills 1000 --seed 7 --verbose
  python stress/crash_loop.py --kills 300 --reader --synchronous full
"""

from __future__ import annotations

import argparse
import os
import random
import select
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback

try:
    import ambervault
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import ambervault
from ambervault import ColumnVault, KVault

# numpy's BLAS would start a thread pool at import; the parent forks, so keep
# it single-threaded (forking a multi-threaded process is unsafe).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
try:
    import numpy as np
except ImportError:  # numpy is optional: extend then always takes lists
    np = None

I64_COL = "crash_i64"
STR_COL = "crash_str"
COLUMNS = (I64_COL, STR_COL)
N_SLOTS = 16
CHILD_MAX_SECONDS = 30.0  # a writer nobody kills stops by itself
KV_CACHE_CAP = 32 << 20
KV_CACHE_THRESHOLD = 16 << 20  # far above a batch: one flush per batch
COL_CACHE_CAP = 32 << 20
COL_CACHE_THRESHOLD = 16 << 20

KINDS = [
    ("put", 22), ("slot", 8), ("txn", 12), ("many", 6), ("cache", 7), ("cache_flush", 5),
    ("append_i64", 8), ("extend_i64", 6), ("append_str", 8), ("extend_str", 6),
    ("col_cache", 4), ("cv_cache", 3), ("checkpoint", 1),
]
_KIND_NAMES = [k for k, _ in KINDS]
_KIND_WEIGHTS = [w for _, w in KINDS]
TEXT_POOL = "abcxyz 09é¥中𝄞\u00ad"  # 1-, 2-, 3- and 4-byte UTF-8


class Violation(Exception):
    """A broken guarantee: the run stops and reports it."""


# ---------------------------------------------------------------- op plans


def _value(rng: random.Random, gen: int, seq: int, i: int):
    """A KV value: mostly bytes (0 B to 100 KiB), sometimes auto-packed types."""
    tag = b"%d/%d/%d:" % (gen, seq, i)
    r = rng.random()
    if r < 0.88:
        size = rng.randint(0, 200)
    elif r < 0.995:
        size = rng.randint(200, 5000)
    else:
        size = rng.randint(33_000, 100_000)  # overflow pages across 32 KiB pages
    kind = rng.random()
    if kind < 0.85:
        return tag + rng.randbytes(size)
    if kind < 0.93:
        return tag.decode() + "".join(rng.choice(TEXT_POOL) for _ in range(min(size, 300)))
    if kind < 0.97:
        return (gen << 32 | seq << 8 | i) * (-1 if i % 2 else 1)
    return {"g": gen, "s": seq, "i": i, "b": rng.randbytes(min(size, 64))}


def _key(rng: random.Random, raw: bytes):
    """The key as given to the API: bytes, or sometimes the same key as str."""
    return raw.decode() if rng.random() < 0.2 else raw


def _i64(gen: int, seq: int, i: int) -> int:
    v = gen << 32 | seq << 12 | i
    return -v if (seq + i) % 5 == 0 else v


def _text(rng: random.Random, gen: int, seq: int, i: int) -> str:
    r = rng.random()
    if r < 0.92:
        n = rng.randint(0, 60)
    elif r < 0.998:
        n = rng.randint(60, 2000)
    else:
        n = rng.randint(66_000, 70_000)  # larger than a 64 KiB chunk: a chunk of its own
    return f"{gen}.{seq}.{i}|" + "".join(rng.choices(TEXT_POOL, k=n))


def plan_op(seed: int, gen: int, seq: int) -> dict:
    """Operation number `seq` of writer generation `gen`: the same in the
    child (which runs it) and the parent (which checks it)."""
    rng = random.Random(f"{seed}:{gen}:{seq}")
    kind = rng.choices(_KIND_NAMES, _KIND_WEIGHTS)[0]
    op: dict = {"kind": kind}

    def items(prefix: bytes, n: int, slot_chance: float):
        out = []
        for i in range(n):
            if rng.random() < slot_chance:
                raw = b"slot/%d" % rng.randrange(N_SLOTS)
            else:
                raw = b"%s/%d/%d/%d" % (prefix, gen, seq, i)
            out.append((raw, _key(rng, raw), _value(rng, gen, seq, i)))
        return out

    if kind == "put":
        op["items"] = items(b"p", 1, 0.0)
    elif kind == "slot":
        op["items"] = items(b"p", 1, 1.0)
    elif kind == "txn":
        op["items"] = items(b"t", rng.randint(2, 8), 0.1)
    elif kind == "many":
        op["items"] = items(b"m", rng.randint(2, 10), 0.05)
    elif kind in ("cache", "cache_flush"):
        its = items(b"c", rng.randint(2, 40), 0.05)
        op["items"] = its
        if kind == "cache" and len(its) >= 4 and rng.random() < 0.5:
            a = rng.randrange(len(its) - 2)
            op["txn"] = (a, rng.randint(a + 2, len(its)))  # items[a:b] in a transaction
        op["keep_enabled"] = rng.random() < 0.3  # flush_cache, log, then disable
    elif kind == "append_i64":
        op["cols"] = {I64_COL: [_i64(gen, seq, 0)]}
    elif kind == "extend_i64":
        op["cols"] = {I64_COL: [_i64(gen, seq, i) for i in range(rng.randint(1, 60))]}
        op["numpy"] = np is not None and rng.random() < 0.5
    elif kind == "append_str":
        op["cols"] = {STR_COL: [_text(rng, gen, seq, 0)]}
    elif kind == "extend_str":
        op["cols"] = {STR_COL: [_text(rng, gen, seq, i) for i in range(rng.randint(1, 30))]}
    elif kind == "col_cache":
        name = rng.choice(COLUMNS)
        n = rng.randint(2, 40)
        vals = ([_i64(gen, seq, i) for i in range(n)] if name == I64_COL
                else [_text(rng, gen, seq, i) for i in range(n)])
        op["cols"] = {name: vals}
    elif kind == "cv_cache":
        a = [_i64(gen, seq, i) for i in range(rng.randint(1, 30))]
        b = [_text(rng, gen, seq, i) for i in range(rng.randint(1, 20))]
        order = [I64_COL] * len(a) + [STR_COL] * len(b)
        rng.shuffle(order)
        op["cols"] = {I64_COL: a, STR_COL: b}
        op["order"] = order
    return op


def kv_effects(op: dict) -> dict:
    """Final value per key (bytes) that the op leaves, in write order."""
    out: dict = {}
    for raw, _, value in op.get("items", ()):
        out[raw] = value
    return out


# ---------------------------------------------------------------- writer


def run_writer(args, gen: int, log_path: str, err_path: str, ready_fd: int, parent: int) -> None:
    """Child body: never returns (os._exit)."""
    code = 0
    try:
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        kv = KVault(args.path, synchronous=args.synchronous)
        cv = ColumnVault(kv, min_chunk_bytes=args.min_chunk, max_chunk_bytes=args.max_chunk)
        cols = {I64_COL: cv.ensure(I64_COL, "i64"), STR_COL: cv.ensure(STR_COL, "str:utf8")}
        stop_at = time.monotonic() + CHILD_MAX_SECONDS
        seq = 0
        while time.monotonic() < stop_at and os.getppid() == parent:
            op = plan_op(args.seed, gen, seq)
            execute(op, kv, cv, cols)
            os.write(log, b"%d %d %s\n" % (gen, seq, op["kind"].encode()))
            execute_post_log(op, kv)
            seq += 1
        code = 3  # nobody killed us
    except BaseException:  # noqa: BLE001 - reported by the parent
        with open(err_path, "w") as f:
            f.write(traceback.format_exc())
        code = 70
    finally:
        os._exit(code)


def run_reader(args, gen: int, err_path: str, ready_fd: int, parent: int) -> None:
    """Child body for --reader: reads in a loop beside the writer (its read
    snapshots hold back checkpoints) until it is killed too. Any exception is
    reported; it does not check values (the parent does)."""
    code = 0
    try:
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        kv = KVault(args.path, synchronous=args.synchronous)
        cv = ColumnVault(kv, min_chunk_bytes=args.min_chunk, max_chunk_bytes=args.max_chunk)
        slots = [b"slot/%d" % i for i in range(N_SLOTS)]
        rng = random.Random(gen)
        stop_at = time.monotonic() + CHILD_MAX_SECONDS
        while time.monotonic() < stop_at and os.getppid() == parent:
            len(kv)
            kv.get_many(slots)
            for _ in kv.items(start=b"p/%d" % rng.randrange(gen + 1), limit=50):
                pass
            for name in COLUMNS:
                try:
                    col = cv[name]
                except ambervault.NotFound:
                    continue
                n = len(col)
                if n:
                    col[rng.randrange(n)]
                    col[max(0, n - 20):n]
        code = 3
    except BaseException:  # noqa: BLE001 - reported by the parent
        with open(err_path, "w") as f:
            f.write(traceback.format_exc())
        code = 70
    finally:
        os._exit(code)


def execute(op: dict, kv, cv, cols) -> None:
    kind = op["kind"]
    its = op.get("items")
    if kind in ("put", "slot"):
        _, key, value = its[0]
        kv[key] = value
    elif kind == "txn":
        with kv.transaction():
            for _, key, value in its:
                kv[key] = value
    elif kind == "many":
        kv.put_many([(key, value) for _, key, value in its])
    elif kind == "cache":
        t = op.get("txn")
        with kv.cache(cap_bytes=KV_CACHE_CAP, flush_threshold=KV_CACHE_THRESHOLD):
            for i, (_, key, value) in enumerate(its):
                if t is not None and i == t[0]:
                    with kv.transaction():
                        for _, k2, v2 in its[t[0]:t[1]]:
                            kv[k2] = v2
                if t is not None and t[0] <= i < t[1]:
                    continue
                kv[key] = value
    elif kind == "cache_flush":
        kv.enable_cache(cap_bytes=KV_CACHE_CAP, flush_threshold=KV_CACHE_THRESHOLD)
        for _, key, value in its:
            kv[key] = value
        kv.flush_cache()
        if not op["keep_enabled"]:
            kv.disable_cache()
        # else: disabled below, after the caller logged (nothing is pending)
    elif kind in ("append_i64", "append_str"):
        (name, vals), = op["cols"].items()
        cols[name].append(vals[0])
    elif kind == "extend_i64":
        vals = op["cols"][I64_COL]
        cols[I64_COL].extend(np.array(vals, dtype=np.int64) if op.get("numpy") else vals)
    elif kind == "extend_str":
        cols[STR_COL].extend(op["cols"][STR_COL])
    elif kind == "col_cache":
        (name, vals), = op["cols"].items()
        with cols[name].cache(cap_bytes=COL_CACHE_CAP, flush_threshold=COL_CACHE_THRESHOLD):
            for v in vals:
                cols[name].append(v)
    elif kind == "cv_cache":
        pos = {I64_COL: 0, STR_COL: 0}
        with cv.cache(cap_bytes=COL_CACHE_CAP, flush_threshold=COL_CACHE_THRESHOLD):
            for name in op["order"]:
                cols[name].append(op["cols"][name][pos[name]])
                pos[name] += 1
    elif kind == "checkpoint":
        kv.checkpoint()
    else:  # pragma: no cover
        raise AssertionError(kind)


def execute_post_log(op: dict, kv) -> None:
    """After the acknowledgement: turn off a cache left on (nothing is pending)."""
    if op["kind"] == "cache_flush" and op["keep_enabled"]:
        kv.disable_cache()


# ---------------------------------------------------------------- checker


_MISSING = object()


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


def short(v, n=60) -> str:
    r = repr(v)
    return r if len(r) <= n else r[:n] + f"...({len(r)} chars)"


class State:
    """The parent's oracle, kept outside the database."""

    def __init__(self):
        self.kv: dict = {}  # key bytes -> value, every key that must be present
        self.cols: dict = {I64_COL: [], STR_COL: []}
        self.stats = {
            "kills": 0, "ops_acked": 0, "kv_keys_acked": 0, "col_elems_acked": 0,
            "inflight_committed": 0, "inflight_absent": 0, "inflight_none": 0,
            "checks_integrity": 0, "checks_kv_values": 0, "checks_col_elems": 0,
            "checks_inflight": 0, "checks_log": 0, "pruned_keys": 0, "pruned_cols": 0,
            "pruned_elems": 0, "gens_without_ack": 0,
        }
        self.by_kind: dict = {k: 0 for k in _KIND_NAMES}
        self.log_offset = 0


def read_acks(state: State, log_path: str, gen: int) -> list:
    """New acknowledged ops of `gen`, in order; checks they are consecutive."""
    with open(log_path, "rb") as f:
        f.seek(state.log_offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a line cut by the kill: not an acknowledgement; drop it
        with open(log_path, "r+b") as f:
            f.truncate(state.log_offset + end)
        data = data[:end]
    state.log_offset += end
    acks = []
    for line in data.splitlines():
        g, s, kind = line.split()
        acks.append((int(g), int(s), kind.decode()))
    for expect_seq, (g, s, _) in enumerate(acks):
        state.stats["checks_log"] += 1
        if g != gen or s != expect_seq:
            raise Violation(f"log of generation {gen}: line {expect_seq} is {g} {s}")
    return acks


def check_after_kill(args, state: State, gen: int, acks: list) -> dict:
    """Verifies the file against the oracle; folds the running op in. Returns
    a small report for --verbose."""
    st = state.stats
    for _, seq, kind in acks:
        op = plan_op(args.seed, gen, seq)
        if op["kind"] != kind:
            raise Violation(f"op {gen}/{seq}: log says {kind}, plan says {op['kind']}")
        eff = kv_effects(op)
        state.kv.update(eff)
        st["kv_keys_acked"] += len(eff)
        for name, vals in op.get("cols", {}).items():
            state.cols[name].extend(vals)
            st["col_elems_acked"] += len(vals)
        st["ops_acked"] += 1
        state.by_kind[kind] += 1
    running = plan_op(args.seed, gen, len(acks))
    report = {"acked": len(acks), "running": running["kind"]}
    # The vault checks first (opening the vault recovers the WAL), then the
    # integrity check with every vault closed; both run, both are reported.
    problems = []
    try:
        _check_vaults(args, state, gen, acks, running, report)
    except Violation as exc:
        problems.append(str(exc))
    except ambervault.KohakuVaultError:
        problems.append(f"reopening or reading the vault after kill {gen} raised:\n"
                        + traceback.format_exc())
    try:
        _check_integrity(args, state, gen)
    except Violation as exc:
        problems.append(str(exc))
    if problems:
        raise Violation("\n".join(problems))
    return report


def _check_vaults(args, state: State, gen: int, acks: list, running: dict, report: dict):
    st = state.stats
    kv = KVault(args.path, synchronous=args.synchronous)
    cv = None
    try:
        cv = ColumnVault(kv, min_chunk_bytes=args.min_chunk, max_chunk_bytes=args.max_chunk)
        # KV: the running op's keys are all new or all old.
        eff = kv_effects(running)
        if eff:
            st["checks_inflight"] += 1
            keys = list(eff)
            got = kv.get_many(keys, default=_MISSING)
            new = [k for k, v in zip(keys, got) if same(v, eff[k])]
            old = [k for k, v in zip(keys, got) if v is _MISSING and k not in state.kv
                   or k in state.kv and same(v, state.kv[k])]
            if len(new) == len(keys):
                state.kv.update(eff)
                report["kv"] = "committed"
            elif len(old) == len(keys):
                report["kv"] = "absent"
            else:
                bad = [(k, short(v)) for k, v in zip(keys, got) if k not in new and k not in old]
                raise Violation(
                    f"op {gen}/{len(acks)} ({running['kind']}, running at the kill) is partial: "
                    f"{len(new)} of {len(keys)} keys new, {len(old)} old"
                    + (f", {len(bad)} neither: {bad[:3]}" if bad else ""))
        # KV: everything else, exactly (a full scan, len(), and single gets).
        actual = dict(kv.items())
        st["checks_kv_values"] += len(state.kv)
        if len(kv) != len(state.kv):
            raise Violation(f"after kill {gen}: len() is {len(kv)}, expected {len(state.kv)} "
                            f"keys (a scan found {len(actual)})")
        for k in random.Random(gen).sample(list(state.kv), min(50, len(state.kv))):
            v = kv.get(k, _MISSING)
            st["checks_kv_values"] += 1
            if not same(v, state.kv[k]):
                raise Violation(f"after kill {gen}: get({k!r}) = {short(v)}, acknowledged "
                                f"{short(state.kv[k])}")
        if actual != state.kv or any(not same(v, state.kv[k]) for k, v in actual.items()
                                     if not isinstance(v, bytes)):
            lost = [k for k in state.kv if k not in actual]
            extra = [k for k in actual if k not in state.kv]
            wrong = [k for k in state.kv if k in actual and not same(actual[k], state.kv[k])]
            raise Violation(
                f"after kill {gen}: {len(lost)} acknowledged keys lost {lost[:5]}, "
                f"{len(extra)} keys never written {extra[:5]}, {len(wrong)} wrong values "
                + "; ".join(f"{k!r}: {short(actual[k])} != {short(state.kv[k])}"
                            for k in wrong[:3]))

        # Columns: the acknowledged appends, then maybe the running batch.
        listed = {name: (dtype, n) for name, dtype, n in cv.list_columns()}
        for name, dtype in ((I64_COL, "i64"), (STR_COL, "str:utf8")):
            expected = state.cols[name]
            batch = running.get("cols", {}).get(name, [])
            if name not in listed:
                if expected:
                    raise Violation(f"column {name} with {len(expected)} acknowledged "
                                    "elements is missing")
                if batch:
                    st["checks_inflight"] += 1
                continue
            if listed[name][0] != dtype:
                raise Violation(f"column {name} has dtype {listed[name][0]}")
            col = cv[name]
            n = len(col)
            if n != listed[name][1]:
                raise Violation(f"column {name}: len() {n} != list_columns {listed[name][1]}")
            if name == I64_COL and np is not None:
                got = col.to_numpy().tolist() if n else []
            else:
                got = col[0:n] if n else []
            if len(got) != n:
                raise Violation(f"column {name}: read {len(got)} of {n} elements")
            st["checks_col_elems"] += n
            if batch:
                st["checks_inflight"] += 1
            if n == len(expected):
                ok_prefix = got == expected
                if batch:
                    report[name] = "absent"
            elif batch and n == len(expected) + len(batch):
                ok_prefix = got[:len(expected)] == expected
                if got[len(expected):] != batch:
                    raise Violation(
                        f"column {name}: the {len(batch)} elements after the acknowledged "
                        f"{len(expected)} are not the running op's batch")
                expected.extend(batch)
                report[name] = "committed"
            else:
                lo = len(expected)
                alt = (f" or {lo + len(batch)} (the running {running['kind']} appends "
                       f"{len(batch)})" if batch else "")
                if n < lo:
                    what = "acknowledged appends lost"
                elif n < lo + len(batch):
                    what = "the running batch is partial"
                else:
                    what = ("elements never written: "
                            f"{[short(x) for x in got[lo + len(batch):][:3]]}")
                raise Violation(f"column {name}: {n} elements, expected {lo}{alt}: {what}")
            if not ok_prefix:
                i = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
                raise Violation(f"column {name}[{i}] = {short(got[i])}, acknowledged "
                                f"{short(expected[i])}")
            if expected:  # single-element reads too
                for i in {0, len(expected) - 1, random.Random(gen).randrange(len(expected))}:
                    st["checks_col_elems"] += 1
                    if col[i] != expected[i]:
                        raise Violation(f"column {name}[{i}] = {short(col[i])} (a slice "
                                        f"read {short(got[i])}), acknowledged "
                                        f"{short(expected[i])}")
        if any(report.get(k) == "committed" for k in ("kv", I64_COL, STR_COL)):
            st["inflight_committed"] += 1
        elif any(k in report for k in ("kv", I64_COL, STR_COL)):
            st["inflight_absent"] += 1
        else:
            st["inflight_none"] += 1
    finally:
        if cv is not None:
            cv.close()
        kv.close()


def _check_integrity(args, state: State, gen: int) -> None:
    """PRAGMA integrity_check by Python's sqlite3 (the same system
    libsqlite3), read-only, with no vault object open in this process."""
    try:
        con = sqlite3.connect(f"file:{args.path}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise Violation(f"integrity_check after kill {gen} failed: {exc!r}") from None
    state.stats["checks_integrity"] += 1
    if rows != [("ok",)]:
        raise Violation(f"integrity_check after kill {gen}: {rows[:10]}")
    if mode != "wal":
        raise Violation(f"journal_mode is {mode!r} after kill {gen}, not 'wal'")


def prune(args, state: State) -> str:
    """Keeps the file small enough to verify in full after every kill: above
    --max-keys live keys, deletes the oldest half (not the slots) with one
    delete_many; above --max-col elements, deletes the first half of a column
    (del col[0:k]) and, every other time, compacts it. These are acknowledged
    writes by the parent; the oracle follows them."""
    done = []
    if len(state.kv) > args.max_keys:
        target = len(state.kv) - args.max_keys // 2
        victims = []
        for k in state.kv:
            if not k.startswith(b"slot/"):
                victims.append(k)
                if len(victims) >= target:
                    break
        with KVault(args.path, synchronous=args.synchronous) as kv:
            n = kv.delete_many(victims)
        if n != len(victims):
            raise Violation(f"delete_many of {len(victims)} live keys returned {n}")
        for k in victims:
            del state.kv[k]
        state.stats["pruned_keys"] += n
        done.append(f"{n} keys")
    for name in COLUMNS:
        expected = state.cols[name]
        if len(expected) <= args.max_col:
            continue
        k = len(expected) - args.max_col // 2
        with ColumnVault(args.path, min_chunk_bytes=args.min_chunk,
                         max_chunk_bytes=args.max_chunk) as cv:
            col = cv[name]
            if len(col) != len(expected):
                raise Violation(f"column {name}: {len(col)} elements before pruning, "
                                f"expected {len(expected)}")
            del col[0:k]
            state.stats["pruned_cols"] += 1
            compact = state.stats["pruned_cols"] % 2 == 0
            if compact:
                col.compact()
            if len(col) != len(expected) - k:
                raise Violation(f"column {name}: {len(col)} elements after del [0:{k}], "
                                f"expected {len(expected) - k}")
        del expected[:k]
        state.stats["pruned_elems"] += k
        done.append(f"{k} {name}" + (" +compact" if compact else ""))
    return ", ".join(done)


def spawn(body):
    """Forks a child running body(ready_fd); returns (pid, started)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        body(w)  # never returns
    os.close(w)
    ready, _, _ = select.select([r], [], [], 30)
    started = bool(ready) and os.read(r, 1) == b"r"
    os.close(r)
    return pid, started


def threads_in_process() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


# ---------------------------------------------------------------- main loop


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="SIGKILL a KVault+ColumnVault writer at random moments and verify "
                    "the file after every kill (acknowledged writes, all-or-nothing "
                    "groups, column batches, integrity_check).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--kills", type=int, default=200, help="number of writer children to kill")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (None: pick one; it is printed)")
    p.add_argument("--path", default=None,
                   help="database file to create (must not exist; None: in a temporary "
                        "folder, removed after a clean run); the log goes beside it")
    p.add_argument("--min-delay", type=float, default=5.0,
                   help="shortest time (ms) a child runs before SIGKILL")
    p.add_argument("--max-delay", type=float, default=80.0,
                   help="longest time (ms) a child runs before SIGKILL")
    p.add_argument("--max-keys", type=int, default=6000,
                   help="above this many live keys the parent deletes the oldest half")
    p.add_argument("--max-col", type=int, default=6000,
                   help="above this many elements in a column the parent deletes its "
                        "first half (and compacts it every other time)")
    p.add_argument("--synchronous", default="normal", choices=["normal", "full"],
                   help="KVault synchronous mode")
    p.add_argument("--min-chunk", type=int, default=4096, help="ColumnVault min_chunk_bytes")
    p.add_argument("--max-chunk", type=int, default=65536, help="ColumnVault max_chunk_bytes")
    p.add_argument("--reader", action="store_true",
                   help="also run a reader process beside each writer (killed with it)")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per kill")
    args = p.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1 << 31)
    if not 0 <= args.min_delay <= args.max_delay:
        p.error("need 0 <= --min-delay <= --max-delay")

    tmpdir = None
    if args.path is None:
        tmpdir = tempfile.mkdtemp(prefix="crash_loop.")
        args.path = os.path.join(tmpdir, "vault.db")
    else:
        args.path = os.path.abspath(args.path)
        if os.path.exists(args.path):
            p.error(f"{args.path} exists; remove it or choose another --path")
        os.makedirs(os.path.dirname(args.path), exist_ok=True)
    log_path = args.path + ".acklog"
    err_path = args.path + ".writer-error"
    reader_err_path = args.path + ".reader-error"
    open(log_path, "wb").close()

    print(f"crash_loop: seed={args.seed} kills={args.kills} delay={args.min_delay:g}-"
          f"{args.max_delay:g} ms path={args.path} sqlite={ambervault.sqlite_version} "
          f"synchronous={args.synchronous}" + (" +reader" if args.reader else ""), flush=True)
    rng = random.Random(args.seed)
    state = State()
    st = state.stats
    parent = os.getpid()
    t_start = time.monotonic()
    t_check = 0.0
    delays = []
    gen = 0
    base_threads = threads_in_process()
    try:
        for gen in range(args.kills):
            n_threads = threads_in_process()
            if n_threads > base_threads:
                raise Violation(f"{n_threads} threads in the parent with every vault closed "
                                f"({base_threads} before any was opened): a vault left a "
                                "thread running, so forking would not be safe")
            # Delay: uniform or log-uniform in [min, max] (more short kills).
            lo, hi = args.min_delay, args.max_delay
            if rng.random() < 0.5 or lo <= 0:
                delay = rng.uniform(lo, hi)
            else:
                delay = lo * (hi / lo) ** rng.random()
            delays.append(delay)
            children = []  # (role, pid, started, error file)
            if args.reader:
                children.append(("reader",) + spawn(
                    lambda fd: run_reader(args, gen, reader_err_path, fd, parent))
                    + (reader_err_path,))
            children.append(("writer",) + spawn(
                lambda fd: run_writer(args, gen, log_path, err_path, fd, parent))
                + (err_path,))
            if all(c[2] for c in children):
                time.sleep(delay / 1000.0)
            statuses = []
            for role, pid, started, path in reversed(children):  # the writer first
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                statuses.append(os.waitpid(pid, 0)[1])
            for (role, pid, started, path), status in zip(reversed(children), statuses):
                if not started:
                    raise Violation(f"{role} {gen} did not start within 30 s")
                if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                    detail = ""
                    if os.path.exists(path):
                        with open(path) as f:
                            detail = f.read()
                    raise Violation(f"{role} {gen} ended by itself (status {status}) before "
                                    f"the kill:\n{detail}")
            st["kills"] += 1
            t0 = time.monotonic()
            acks = read_acks(state, log_path, gen)
            if not acks:
                st["gens_without_ack"] += 1
            report = check_after_kill(args, state, gen, acks)
            pruned = prune(args, state)
            t_check += time.monotonic() - t0
            if args.verbose:
                extra = " ".join(f"{k}={v}" for k, v in report.items() if k not in ("acked",))
                print(f"kill {gen:5d}: {delay:6.1f} ms, {len(acks):4d} acked, {extra}, "
                      f"live keys {len(state.kv)}, i64 {len(state.cols[I64_COL])}, "
                      f"str {len(state.cols[STR_COL])}"
                      + (f", pruned {pruned}" if pruned else ""), flush=True)
    except Violation as exc:
        print(f"\nVIOLATION (seed {args.seed}, kill {gen}): {exc}", file=sys.stderr)
        print(f"files kept: {args.path} (log {log_path})", file=sys.stderr)
        _summary(args, state, time.monotonic() - t_start, t_check, delays, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        print(f"\nERROR in the harness (seed {args.seed}, kill {gen}); files kept: {args.path}",
              file=sys.stderr)
        return 2
    _summary(args, state, time.monotonic() - t_start, t_check, delays)
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def _summary(args, state: State, elapsed: float, t_check: float, delays, file=sys.stdout):
    st = state.stats
    size = sum(os.path.getsize(args.path + s) for s in ("", "-wal")
               if os.path.exists(args.path + s))
    checks = (st["checks_integrity"] + st["checks_kv_values"] + st["checks_col_elems"]
              + st["checks_inflight"] + st["checks_log"])
    kinds = " ".join(f"{k}={v}" for k, v in state.by_kind.items())
    print(f"kills survived: {st['kills']}/{args.kills} in {elapsed:.1f} s "
          f"(checking {t_check:.1f} s), delays {min(delays or [0]):.1f}-"
          f"{max(delays or [0]):.1f} ms\n"
          f"operations acknowledged: {st['ops_acked']} ({kinds})\n"
          f"  KV writes acknowledged: {st['kv_keys_acked']}, column elements: "
          f"{st['col_elems_acked']}, kills before the first ack: {st['gens_without_ack']}\n"
          f"  op running at the kill: committed {st['inflight_committed']}, absent "
          f"{st['inflight_absent']}, no data {st['inflight_none']}\n"
          f"checks made: {checks} (integrity_check {st['checks_integrity']}, "
          f"KV values {st['checks_kv_values']}, column elements {st['checks_col_elems']}, "
          f"running-op all-or-nothing {st['checks_inflight']}, log lines {st['checks_log']})\n"
          f"final state: {len(state.kv)} live keys ({st['pruned_keys']} pruned), "
          f"{st['pruned_elems']} column elements pruned in {st['pruned_cols']} deletes, "
          f"i64 column {len(state.cols[I64_COL])}, str column {len(state.cols[STR_COL])}, "
          f"file {size / 1e6:.1f} MB", file=file, flush=True)


if __name__ == "__main__":
    sys.exit(main())
