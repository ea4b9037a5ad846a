#!/usr/bin/env python3
"""Many processes on one file: writers and readers checking each other live.

W writer processes and R reader processes (default 2 + 6) share one SQLite
file holding a KVault and two ColumnVault columns (``i64`` and ``str:utf8``)
for ``--seconds``. Processes are forked from this parent, which has imported
ambervault but holds no open vault at fork time; each opens its own.

Writers (writer w, operation n) do, at random:
  * a KV group: 1 to 4 keys ``w{w}/{n:08d}/{i}``, one ``put``, a
    ``with kv.transaction():`` block, a ``put_many`` or a ``with kv.cache():``
    block;
  * an overwrite of the writer's key ``latest/w{w}`` with its number m;
  * a column batch: ``append``, ``extend``, or appends in ``with col.cache():``
    or ``with cv.cache():``, of 1 to 5 elements to the i64 or the str column
    (elements encode (w, seq) so every writer's elements must appear in
    order, each once).
Before an operation a writer publishes it as *attempted* (shared counters);
after the call returns it writes a line to its log with ``os.write`` and
publishes it as *acknowledged*. A ``DatabaseBusy`` is timed (it must come no
sooner than ``busy_timeout * retries``) and the same operation is tried again;
for a ``with ...cache():`` block whose exit raised it (the flush failed and,
as documented, kept the pending writes), the writer checks that the block
still turned the cache off, then retries the flush with ``disable_cache()``.

Readers loop: snapshot the acknowledged counters, then read, and check that
  * every write acknowledged before the read started is visible, exactly
    (latest and random earlier KV groups; each writer's column elements form
    the sequence 0..k-1 with acked <= k <= attempted);
  * a KV group still being written is all-or-nothing;
  * each ``latest/w{w}`` reads an overwrite at least as new as the last one
    acknowledged before the read, and never older than one seen before
    (catches stale read snapshots and stale value caches);
  * lengths never shrink and never exceed what was attempted (nothing that was
    never written appears);
  * every few rounds, a full scan of the KV table is exactly the expected keys.
  * a ``DatabaseBusy`` came no sooner than ``busy_timeout``.

The parent enforces an overall deadline (``--seconds`` + ``--grace``): a
process still running then is reported as hung with its Python stack
(faulthandler), and killed. At the end a fresh vault verifies that no
acknowledged write is lost and the logs agree, and ``PRAGMA integrity_check``
(stdlib sqlite3, read-only, no vault open) is ok.

``--hold-lock S`` adds a process that holds the write lock (BEGIN IMMEDIATE via
stdlib sqlite3) for S seconds at a time, so writers with a short
``--busy-timeout`` really see ``DatabaseBusy``:

  python stress/many_procs.py --seconds 5
  python stress/many_procs.py --seconds 4 --busy-timeout 0.2 --retries 1 --hold-lock 0.5
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # no BLAS thread pool in a forking parent

try:
    import ambervault
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import ambervault
from ambervault import ColumnVault, DatabaseBusy, KVault

import numpy as np

I64_COL = "mp_i64"
STR_COL = "mp_str"
SEQ_BITS = 40
SEQ_MASK = (1 << SEQ_BITS) - 1
# Shared counters per writer (index w * N_CTR + c).
KV_OPS, KV_KEYS, I64_N, STR_N, OVR = range(5)
N_CTR = 5
TEXT = "abcdefé中𝄞"


class Violation(Exception):
    pass


# ------------------------------------------------------------ deterministic data


def kv_group_size(w: int, n: int) -> int:
    return 1 + (n * 2654435761 + w * 97) % 4


def kv_key(w: int, n: int, i: int) -> bytes:
    return b"w%d/%08d/%d" % (w, n, i)


def kv_value(w: int, n: int, i: int) -> bytes:
    head = b"w%d/%d/%d|" % (w, n, i)
    return head + bytes((n * 31 + i * 7 + k) & 0xFF for k in range((n * 13 + i) % 300))


def latest_key(w: int) -> bytes:
    return b"latest/w%d" % w


def latest_value(w: int, m: int) -> bytes:
    return b"%d|" % m + b"w%d" % w * (m % 50)


def parse_latest(v: bytes) -> int:
    return int(v.split(b"|", 1)[0])


def parse_key(key: bytes):
    w, n, i = key.split(b"/")
    return int(w[1:]), int(n), int(i)


def i64_value(w: int, seq: int) -> int:
    return w << SEQ_BITS | seq


def str_value(w: int, seq: int) -> str:
    return f"w{w}:{seq}|" + TEXT * (seq % 7) + "x" * (seq % 41)


def parse_str(s: str):
    head = s.split("|", 1)[0]
    w, seq = head[1:].split(":")
    return int(w), int(seq)


# ------------------------------------------------------------ processes


def open_vaults(args):
    kv = KVault(args.path, busy_timeout=args.busy_timeout, retries=args.retries,
                backoff_base=args.backoff)
    cv = ColumnVault(kv, busy_timeout=args.busy_timeout, retries=args.retries)
    return kv, cv


class Shared:
    def __init__(self, writers: int):
        self.acked = mp.Array("q", writers * N_CTR, lock=False)
        self.attempted = mp.Array("q", writers * N_CTR, lock=False)
        self.start = mp.Value("d", 0.0, lock=False)
        self.ready = mp.Semaphore(0)
        self.go = mp.Event()


def child_main(role: str, idx: int, args, shared: Shared, outdir: str) -> None:
    name = f"{role}-{idx}"
    hang = open(os.path.join(outdir, name + ".stack"), "w")
    faulthandler.dump_traceback_later(args.seconds + args.grace - 2, exit=True, file=hang)
    result = {"name": name, "pid": os.getpid(), "ops": 0, "reads": 0, "checks": 0,
              "busy": [], "violation": None, "error": None}
    try:
        if role == "writer":
            body = writer
        elif role == "reader":
            body = reader
        else:
            body = lock_holder
        body(idx, args, shared, result)
    except Violation as exc:
        result["violation"] = str(exc)
    except BaseException:  # noqa: BLE001 - reported by the parent
        result["error"] = traceback.format_exc()
    faulthandler.cancel_dump_traceback_later()
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(result, f)
    sys.stdout.flush()
    os._exit(0)


def wait_start(shared: Shared) -> float:
    shared.ready.release()
    shared.go.wait()
    return shared.start.value


def timed_busy(result, what: str, bound: float, fn):
    """fn() -> True, or False after a DatabaseBusy (checked for its timing)."""
    t0 = time.monotonic()
    try:
        fn()
        return True
    except DatabaseBusy as exc:
        elapsed = time.monotonic() - t0
        result["busy"].append(round(elapsed, 4))
        if elapsed < bound * 0.99 - 0.001:
            raise Violation(f"{result['name']}: DatabaseBusy from {what} after {elapsed:.3f} s, "
                            f"before the configured {bound:.3f} s ({exc})") from None
        return False


def writer(w: int, args, shared: Shared, result) -> None:
    rng = random.Random(args.seed * 1000 + w)
    log = os.open(os.path.join(args.outdir, f"writer-{w}.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    kv, cv = open_vaults(args)
    cols = {I64_COL: cv[I64_COL], STR_COL: cv[STR_COL]}
    base = w * N_CTR
    att, ack = shared.attempted, shared.acked
    bound = args.busy_timeout * args.retries
    deadline = wait_start(shared) + args.seconds
    pending = None  # an operation that raised DatabaseBusy, tried again

    def cache_block(what: str, run, enabled, disable) -> bool:
        """Runs a ``with ...cache():`` block. If its exit raises DatabaseBusy
        (the flush failed; documented: the pending writes are kept), checks
        that the block still turned the cache back off (else every later
        plain write is silently cached, not written), then retries the flush
        with ``disable_cache()`` until it succeeds. True: acknowledged."""
        if timed_busy(result, what, bound, run):
            return True
        if enabled():
            result["cache_left_on"] = result.get("cache_left_on", 0) + 1
            if not result["violation"]:
                result["violation"] = (
                    f"{result['name']}: `{what}` raised DatabaseBusy at its exit and left the "
                    "write-back cache enabled: later plain writes return without being "
                    "written")
        while not timed_busy(result, f"{what}: disable_cache() retry", bound, disable):
            if time.monotonic() > deadline + args.grace / 2:
                raise Violation(f"{result['name']}: {what}: the flush never succeeded")
        return True

    while time.monotonic() < deadline:
        if pending is None:
            r = rng.random()
            if r < 0.12:
                pending = ("ovr", ack[base + OVR])
            elif r < 0.6:
                n = ack[base + KV_OPS]
                size = kv_group_size(w, n)
                pending = ("kv", n, size, rng.choice(("put", "txn", "many", "cache")))
            else:
                name = rng.choice((I64_COL, STR_COL))
                ctr = I64_N if name == I64_COL else STR_N
                seq0 = ack[base + ctr]
                count = 1 if rng.random() < 0.5 else rng.randint(2, 5)
                how = rng.choice(("plain", "plain", "col_cache", "cv_cache"))
                pending = ("col", name, ctr, seq0, count, how)
        op = pending
        if op[0] == "ovr":
            m = op[1]
            att[base + OVR] = m + 1
            if not timed_busy(result, "overwrite", bound,
                              lambda: kv.put(latest_key(w), latest_value(w, m))):
                continue
            os.write(log, b"ovr %d\n" % m)
            ack[base + OVR] = m + 1
        elif op[0] == "kv":
            _, n, size, how = op
            items = [(kv_key(w, n, i), kv_value(w, n, i)) for i in range(size)]
            att[base + KV_KEYS] = ack[base + KV_KEYS] + size  # keys first: readers
            att[base + KV_OPS] = n + 1                          # read ops, then keys

            def run():
                if size == 1 and how in ("put", "txn"):
                    kv[items[0][0]] = items[0][1]
                elif how == "many":
                    kv.put_many(items)
                elif how == "cache":  # one flush, one transaction, when the block ends
                    with kv.cache():
                        for k, v in items:
                            kv[k] = v
                else:
                    with kv.transaction():
                        for k, v in items:
                            kv[k] = v
            if how == "cache":
                cache_block("with kv.cache()", run, kv.cache_enabled, kv.disable_cache)
            elif not timed_busy(result, f"KV {how}", bound, run):
                continue
            os.write(log, b"kv %d %d\n" % (n, size))
            ack[base + KV_KEYS] += size
            ack[base + KV_OPS] = n + 1
        else:
            _, name, ctr, seq0, count, how = op
            mk = i64_value if name == I64_COL else str_value
            vals = [mk(w, s) for s in range(seq0, seq0 + count)]
            att[base + ctr] = seq0 + count
            col = cols[name]

            def run():
                if how != "plain":
                    with (col.cache() if how == "col_cache" else cv.cache()):
                        for v in vals:
                            col.append(v)
                elif count == 1:
                    col.append(vals[0])
                elif name == I64_COL and count % 2:
                    col.extend(np.array(vals, dtype=np.int64))
                else:
                    col.extend(vals)
            if how != "plain":
                cache_block(f"with {'col' if how == 'col_cache' else 'cv'}.cache()", run,
                            lambda: col._cache_options() is not None,
                            col.disable_cache if how == "col_cache" else cv.disable_cache)
            elif not timed_busy(result, f"{name} append", bound, run):
                continue
            os.write(log, b"%s %d %d\n" % (name.encode(), seq0, count))
            ack[base + ctr] = seq0 + count
        pending = None
        result["ops"] += 1
    cv.close()
    kv.close()
    os.close(log)


def check_col_sequences(name: str, owners, seqs, writers: int, lo, hi, label: str) -> list:
    """Each writer's elements must be 0..k-1 in order with lo[w] <= k <= hi[w]."""
    counts = []
    for w in range(writers):
        mine = seqs[owners == w]
        k = len(mine)
        if not np.array_equal(mine, np.arange(k)):
            bad = int(np.nonzero(mine != np.arange(k))[0][0])
            raise Violation(f"{label}: column {name}: writer {w}'s element #{bad} has seq "
                            f"{int(mine[bad])} (duplicate, gap or reorder)")
        if not lo[w] <= k <= hi[w]:
            raise Violation(f"{label}: column {name}: writer {w} has {k} elements; "
                            f"acknowledged before the read {lo[w]}, attempted {hi[w]}")
        counts.append(k)
    stray = ~np.isin(owners, np.arange(writers))
    if stray.any():
        raise Violation(f"{label}: column {name}: element from unknown writer "
                        f"{int(owners[stray][0])}")
    return counts


def _direct(fn, *a):
    return fn(*a)


def read_columns(cv, name: str, call=_direct):
    """(owners, seqs) of the elements [0, len) of a column; `call` runs each
    vault call (readers time it for DatabaseBusy)."""
    col = call(cv.__getitem__, name)
    n = call(len, col)
    if name == I64_COL:
        arr = call(col.to_numpy, 0, n) if n else np.zeros(0, np.int64)
        if len(arr) != n:
            raise Violation(f"column {name}: to_numpy(0, {n}) gave {len(arr)} elements")
        return arr >> SEQ_BITS, arr & SEQ_MASK, None
    vals = call(col.__getitem__, slice(0, n)) if n else []
    if len(vals) != n:
        raise Violation(f"column {name}: slice gave {len(vals)} of {n}")
    parsed = [parse_str(s) for s in vals]
    owners = np.array([p[0] for p in parsed], dtype=np.int64)
    seqs = np.array([p[1] for p in parsed], dtype=np.int64)
    for s, (w, q) in zip(vals, parsed):
        if s != str_value(w, q):
            raise Violation(f"column {name}: element {s[:40]!r} is not writer {w}'s #{q}")
    return owners, seqs, vals


class _Busy(Exception):
    """A reader call raised DatabaseBusy (timed and recorded): skip the round."""


def reader(r: int, args, shared: Shared, result) -> None:
    rng = random.Random(args.seed * 1000 + 500 + r)
    kv, cv = open_vaults(args)
    W = args.writers
    att, ack = shared.attempted, shared.acked
    deadline = wait_start(shared) + args.seconds
    last_len = 0
    last_counts = {I64_COL: [0] * W, STR_COL: [0] * W}
    last_latest = [-1] * W
    label = result["name"]
    rounds = 0

    def call(fn, *a):
        t0 = time.monotonic()
        try:
            return fn(*a)
        except DatabaseBusy as exc:
            elapsed = time.monotonic() - t0
            result["busy"].append(round(elapsed, 4))
            if elapsed < args.busy_timeout * 0.99 - 0.001:
                raise Violation(f"{label}: DatabaseBusy from a read after {elapsed:.3f} s, "
                                f"before busy_timeout {args.busy_timeout:.3f} s ({exc})") from None
            raise _Busy() from None

    while time.monotonic() < deadline:
        rounds += 1
        before = list(ack)  # acknowledged before this read started
        try:
            # 1. The latest and a random earlier acknowledged group of each writer.
            for w in range(W):
                n_ops = before[w * N_CTR + KV_OPS]
                for n in {n_ops - 1, rng.randrange(n_ops) if n_ops else -1}:
                    if n < 0:
                        continue
                    keys = [kv_key(w, n, i) for i in range(kv_group_size(w, n))]
                    got = call(kv.get_many, keys)
                    result["checks"] += len(keys)
                    for k, v in zip(keys, got):
                        if v != kv_value(*parse_key(k)):
                            raise Violation(f"{label}: key {k!r}, acknowledged before the read "
                                            f"started, reads "
                                            f"{'missing' if v is None else v[:30]!r}")
            # 1b. The overwritten key of each writer: at least the value acknowledged
            # before the read, never older than one this reader saw (a stale cache
            # or read snapshot would show an old value).
            for w in range(W):
                key = latest_key(w)
                v = call(kv.get, key) if rounds % 2 else call(kv.get_many, [key])[0]
                m_lo = before[w * N_CTR + OVR] - 1
                m_hi = att[w * N_CTR + OVR] - 1
                m = -1 if v is None else parse_latest(v)
                result["checks"] += 1
                if v is not None and v != latest_value(w, m):
                    raise Violation(f"{label}: {key!r} holds {v[:30]!r}")
                if not max(m_lo, last_latest[w]) <= m <= m_hi:
                    raise Violation(f"{label}: {key!r} reads overwrite #{m}; acknowledged "
                                    f"before the read #{m_lo}, attempted #{m_hi}, seen by "
                                    f"this reader before #{last_latest[w]}")
                last_latest[w] = m
            # 2. A group possibly being written: all or nothing (get_many is one snapshot).
            for w in range(W):
                n = att[w * N_CTR + KV_OPS] - 1
                if n >= 0:
                    keys = [kv_key(w, n, i) for i in range(kv_group_size(w, n))]
                    got = call(kv.get_many, keys)
                    present = sum(v is not None for v in got)
                    result["checks"] += 1
                    if present not in (0, len(keys)):
                        raise Violation(f"{label}: group {w}/{n} half visible: {present} "
                                        f"of {len(keys)} keys")
                    for k, v in zip(keys, got):
                        if v is not None and v != kv_value(*parse_key(k)):
                            raise Violation(f"{label}: key {k!r} reads {v[:30]!r}")
            # 3. Lengths: monotonic, >= acknowledged before, <= attempted after.
            n_keys = call(len, kv)
            counts = {}
            for name, ctr in ((I64_COL, I64_N), (STR_COL, STR_N)):
                if name == STR_COL and rounds % 4:
                    continue  # the str column is slower to parse: every 4th round
                owners, seqs, _ = read_columns(cv, name, call)
                after = list(att)
                counts[name] = check_col_sequences(
                    name, owners, seqs, W, [before[w * N_CTR + ctr] for w in range(W)],
                    [after[w * N_CTR + ctr] for w in range(W)], label)
                result["checks"] += len(seqs)
            after = list(att)
            lo = sum(before[w * N_CTR + KV_KEYS] + (before[w * N_CTR + OVR] > 0)
                     for w in range(W))
            hi = sum(after[w * N_CTR + KV_KEYS] + (after[w * N_CTR + OVR] > 0)
                     for w in range(W))
            result["checks"] += 1
            if not (lo <= n_keys <= hi and n_keys >= last_len):
                raise Violation(f"{label}: len(kv) = {n_keys}: acknowledged before {lo}, "
                                f"attempted {hi}, seen before {last_len}")
            last_len = n_keys
            for name, c in counts.items():
                for w in range(W):
                    if c[w] < last_counts[name][w]:
                        raise Violation(f"{label}: column {name}: writer {w} went from "
                                        f"{last_counts[name][w]} to {c[w]} elements")
                last_counts[name] = c
            # 4. Every 8th round, the whole KV table: acknowledged groups complete,
            # nothing beyond what was attempted. (A scan reads page by page, not
            # in one snapshot, so a group committed meanwhile may show in part.)
            if rounds % 8 == 0:
                snap_ops = [before[w * N_CTR + KV_OPS] for w in range(W)]
                seen = {}
                for k, v in call(lambda: list(kv.items())):
                    if k.startswith(b"latest/"):
                        w = int(k[8:])
                        m = parse_latest(v)
                        if (v != latest_value(w, m)
                                or not before[w * N_CTR + OVR] - 1 <= m < att[w * N_CTR + OVR]):
                            raise Violation(f"{label}: scan: {k!r} holds {v[:30]!r}")
                        continue
                    w, n, i = parse_key(k)
                    if v != kv_value(w, n, i):
                        raise Violation(f"{label}: key {k!r} holds {v[:30]!r}")
                    seen.setdefault((w, n), set()).add(i)
                after = list(att)
                for (w, n), idx in seen.items():
                    full = set(range(kv_group_size(w, n)))
                    if n >= after[w * N_CTR + KV_OPS] or not idx <= full:
                        raise Violation(f"{label}: group {w}/{n} has keys {sorted(idx)} "
                                        f"(writer {w} attempted {after[w * N_CTR + KV_OPS]} "
                                        "groups)")
                    if n < snap_ops[w] and idx != full:
                        raise Violation(f"{label}: acknowledged group {w}/{n} has only keys "
                                        f"{sorted(idx)} in a scan")
                for w in range(W):
                    missing = [n for n in range(snap_ops[w]) if (w, n) not in seen]
                    if missing:
                        raise Violation(f"{label}: acknowledged groups of writer {w} not "
                                        f"visible in a scan: {missing[:5]} ({len(missing)})")
                result["checks"] += len(seen)
        except _Busy:
            continue
        result["reads"] += 1
        if args.reader_pause:
            time.sleep(args.reader_pause)
    cv.close()
    kv.close()


def lock_holder(_idx: int, args, shared: Shared, result) -> None:
    con = sqlite3.connect(args.path, timeout=30, isolation_level=None)
    deadline = wait_start(shared) + args.seconds
    rng = random.Random(args.seed)
    while time.monotonic() < deadline - args.hold_lock:
        time.sleep(rng.uniform(0.05, 0.3))
        con.execute("BEGIN IMMEDIATE")
        time.sleep(args.hold_lock)
        con.execute("ROLLBACK")
        result["ops"] += 1
    con.close()


# ------------------------------------------------------------ parent


def final_check(args, shared: Shared) -> dict:
    W = args.writers
    acked = list(shared.acked)
    stats = {"kv_keys": 0, "i64": 0, "str": 0}
    # The logs must agree with the shared counters.
    for w in range(W):
        with open(os.path.join(args.outdir, f"writer-{w}.log"), "rb") as f:
            lines = f.read().splitlines()
        kv_ops = [ln for ln in lines if ln.startswith(b"kv ")]
        ovr = [ln for ln in lines if ln.startswith(b"ovr ")]
        if len(ovr) != acked[w * N_CTR + OVR]:
            raise Violation(f"writer {w}: {len(ovr)} overwrite log lines, counter "
                            f"{acked[w * N_CTR + OVR]}")
        if len(kv_ops) != acked[w * N_CTR + KV_OPS]:
            raise Violation(f"writer {w}: {len(kv_ops)} KV log lines, counter "
                            f"{acked[w * N_CTR + KV_OPS]}")
        for name, ctr in ((I64_COL, I64_N), (STR_COL, STR_N)):
            total = sum(int(ln.split()[2]) for ln in lines if ln.startswith(name.encode()))
            if total != acked[w * N_CTR + ctr]:
                raise Violation(f"writer {w}: log has {total} {name} elements, counter "
                                f"{acked[w * N_CTR + ctr]}")
    kv = KVault(args.path)
    cv = ColumnVault(kv)
    try:
        seen = {}
        latest = {}
        for k, v in kv.items():
            if k.startswith(b"latest/"):
                latest[k] = v
                continue
            w, n, i = parse_key(k)
            if v != kv_value(w, n, i):
                raise Violation(f"final: key {k!r} holds {v[:30]!r}")
            seen.setdefault((w, n), set()).add(i)
        want = {latest_key(w): latest_value(w, acked[w * N_CTR + OVR] - 1)
                for w in range(W) if acked[w * N_CTR + OVR]}
        if latest != want:
            raise Violation(f"final: overwritten keys {[(k, v[:12]) for k, v in latest.items()]}"
                            f", expected {[(k, v[:12]) for k, v in want.items()]}")
        for w in range(W):
            n_ops = acked[w * N_CTR + KV_OPS]
            missing = [n for n in range(n_ops)
                       if seen.get((w, n)) != set(range(kv_group_size(w, n)))]
            if missing:
                raise Violation(f"final: writer {w}: acknowledged groups lost or partial: "
                                f"{missing[:5]} ({len(missing)})")
        extra = [g for g in seen if g[1] >= acked[g[0] * N_CTR + KV_OPS]]
        if extra:
            raise Violation(f"final: groups never acknowledged are present: {extra[:5]}")
        stats["kv_keys"] = len(kv)
        for name, ctr in ((I64_COL, I64_N), (STR_COL, STR_N)):
            owners, seqs, _ = read_columns(cv, name)
            exact = [acked[w * N_CTR + ctr] for w in range(W)]
            check_col_sequences(name, owners, seqs, W, exact, exact, "final")
            stats["i64" if name == I64_COL else "str"] = len(seqs)
    finally:
        cv.close()
        kv.close()
    con = sqlite3.connect(f"file:{args.path}?mode=ro", uri=True)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    if rows != [("ok",)]:
        raise Violation(f"final: integrity_check: {rows[:10]}")
    return stats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="Writers and readers in separate processes on one AmberVault file, "
                    "checking visibility, monotonic growth, no lost acknowledged write, "
                    "no hang, and DatabaseBusy timing.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0, help="how long the processes work")
    p.add_argument("--writers", type=int, default=2, help="writer processes")
    p.add_argument("--readers", type=int, default=6, help="reader processes")
    p.add_argument("--busy-timeout", type=float, default=5.0,
                   help="busy_timeout (s) of every vault")
    p.add_argument("--retries", type=int, default=4, help="retries of every vault")
    p.add_argument("--backoff", type=float, default=0.02, help="KVault backoff_base (s)")
    p.add_argument("--hold-lock", type=float, default=0.0,
                   help="if > 0, one more process holds the write lock this long at a time")
    p.add_argument("--reader-pause", type=float, default=0.001,
                   help="sleep (s) between reader rounds")
    p.add_argument("--grace", type=float, default=30.0,
                   help="a process still running this long after --seconds is hung")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (None: pick one; it is printed)")
    p.add_argument("--path", default=None,
                   help="database file to create (must not exist; None: in a temporary "
                        "folder, removed after a clean run); logs go to a folder beside it")
    args = p.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1 << 31)
    if args.writers < 1 or args.readers < 0 or args.retries < 1:
        p.error("need --writers >= 1, --readers >= 0, --retries >= 1")

    if args.path is None:
        tmpdir = tempfile.mkdtemp(prefix="many_procs.")
        args.path = os.path.join(tmpdir, "vault.db")
    else:
        args.path = os.path.abspath(args.path)
        if os.path.exists(args.path):
            p.error(f"{args.path} exists; remove it or choose another --path")
        os.makedirs(os.path.dirname(args.path), exist_ok=True)
        # logs, results and stacks beside it
        tmpdir = tempfile.mkdtemp(prefix="many_procs.", dir=os.path.dirname(args.path))
    args.outdir = tmpdir

    # Create the file and the columns, then close everything before forking.
    with KVault(args.path) as kv, ColumnVault(kv) as cv:
        cv.ensure(I64_COL, "i64")
        cv.ensure(STR_COL, "str:utf8")
    procs_spec = ([("writer", w) for w in range(args.writers)]
                  + [("reader", r) for r in range(args.readers)]
                  + ([("lockholder", 0)] if args.hold_lock > 0 else []))
    print(f"many_procs: seed={args.seed} {args.writers} writers, {args.readers} readers"
          + (", 1 lock holder" if args.hold_lock > 0 else "")
          + f", {args.seconds:g} s, busy_timeout={args.busy_timeout:g} s retries={args.retries}"
          + (f" hold-lock={args.hold_lock:g} s" if args.hold_lock > 0 else "")
          + f", sqlite {ambervault.sqlite_version}, path={args.path}", flush=True)

    ctx = mp.get_context("fork")
    shared = Shared(args.writers)
    procs = []
    for role, idx in procs_spec:
        pr = ctx.Process(target=child_main, args=(role, idx, args, shared, tmpdir),
                         name=f"{role}-{idx}", daemon=True)
        pr.start()
        procs.append(pr)
    t0 = time.monotonic()
    problems = []
    for _ in procs:
        if not shared.ready.acquire(timeout=30):
            problems.append("a process did not start within 30 s")
            break
    shared.start.value = time.monotonic()
    shared.go.set()
    hard_deadline = shared.start.value + args.seconds + args.grace
    for pr in procs:
        pr.join(max(0.0, hard_deadline - time.monotonic()))
    elapsed = time.monotonic() - t0
    results = {}
    all_reported = True  # every process ended and wrote its result
    for pr in procs:
        stack_file = os.path.join(tmpdir, pr.name + ".stack")
        stack = open(stack_file).read() if os.path.exists(stack_file) else ""
        if pr.is_alive():
            pr.kill()
            pr.join(5)
            problems.append(f"{pr.name} (pid {pr.pid}) hung: still running "
                            f"{args.grace:g} s after the end")
            all_reported = False
            continue
        res_file = os.path.join(tmpdir, pr.name + ".json")
        if not os.path.exists(res_file):
            what = "hung (faulthandler timeout)" if stack.strip() else "died"
            problems.append(f"{pr.name} (pid {pr.pid}) {what}, exit code {pr.exitcode}"
                            + (f"\n{stack}" if stack.strip() else ""))
            all_reported = False
            continue
        with open(res_file) as f:
            res = json.load(f)
        results[pr.name] = res
        if res["violation"]:
            problems.append(res["violation"])
        if res["error"]:
            problems.append(f"{pr.name} raised:\n{res['error']}")

    final = {}
    if all_reported:  # a writer still running would make the final state unknown
        try:
            final = final_check(args, shared)
        except Violation as exc:
            problems.append(str(exc))

    writers = [r for n, r in results.items() if n.startswith("writer")]
    readers = [r for n, r in results.items() if n.startswith("reader")]
    busy = [b for r in results.values() for b in r["busy"]]
    busy_w = sum(len(r["busy"]) for r in writers)
    busy_r = sum(len(r["busy"]) for r in readers)
    acked = list(shared.acked)
    w_ops = sum(r["ops"] for r in writers)
    print(f"processes: {len(procs)} ({len(writers)} writers, {len(readers)} readers"
          + (", 1 lock holder" if args.hold_lock > 0 else "") + f") finished in {elapsed:.1f} s")
    print(f"writers: {w_ops} operations acknowledged ("
          f"{sum(acked[w * N_CTR + KV_OPS] for w in range(args.writers))} KV groups, "
          f"{sum(acked[w * N_CTR + KV_KEYS] for w in range(args.writers))} keys, "
          f"{sum(acked[w * N_CTR + OVR] for w in range(args.writers))} overwrites, "
          f"{sum(acked[w * N_CTR + I64_N] for w in range(args.writers))} i64 and "
          f"{sum(acked[w * N_CTR + STR_N] for w in range(args.writers))} str elements); "
          f"per writer {[r['ops'] for r in writers]}")
    print(f"readers: {sum(r['reads'] for r in readers)} read rounds, "
          f"{sum(r['checks'] for r in readers)} checks; per reader "
          f"{[r['reads'] for r in readers]}")
    if args.hold_lock > 0:
        holds = sum(r["ops"] for n, r in results.items() if n.startswith("lockholder"))
        print(f"lock holder: {holds} holds of {args.hold_lock:g} s")
    bound = args.busy_timeout * args.retries
    left_on = sum(r.get("cache_left_on", 0) for r in writers)
    print(f"DatabaseBusy: {len(busy)} (writers {busy_w}, readers {busy_r})"
          + (f", after {min(busy):.3f}-{max(busy):.3f} s (writers must wait >= "
             f"{bound:.3f} s, readers >= {args.busy_timeout:.3f} s)" if busy else "")
          + (f"; {left_on} cache blocks left the cache enabled" if left_on else ""))
    if final:
        print(f"final check: {final['kv_keys']} keys, {final['i64']} i64 and {final['str']} "
              f"str elements, all acknowledged writes present, integrity_check ok")
    if problems:
        print(f"\nFAILED (seed {args.seed}; files kept in {tmpdir}):", file=sys.stderr)
        for msg in problems:
            print(f"  - {msg}", file=sys.stderr)
        return 1
    shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
