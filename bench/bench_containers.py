#!/usr/bin/env python3
"""Ordered in-memory containers: ambervault vs kohakuvault vs sortedcontainers.

The workloads are the four scenarios of KohakuVault's
examples/benchmark_container.py, run on every implementation in one process:

  ambervault.CSBTree(order), ambervault.SkipList(),
  kohakuvault.CSBTree(order), kohakuvault.SkipList(),
  sortedcontainers.SortedDict(), dict

  timestamps  random.seed(42); keys datetime(2024,1,1) + timedelta(seconds=
              randint(0, 1_000_000)); values f"Event_{i}_" + "x"*randint(10,100);
              insert in shuffled order via []=; sorted keys; range query
              between the keys at positions N/4 and N/2 of the unshuffled list
  tuples      random.seed(43); keys (randint(1,1000), randint(0,1_000_000));
              values {"data": "x"*randint(10,50), "count": i}; insert;
              1,000 random lookups via []; sorted keys
  paths       random.seed(44); keys "/" + "/".join(2-5 lowercase parts of
              3-10 chars); values b"metadata_" + 20-200 random bytes; insert;
              sorted keys; prefix "/a" query (dict: startswith filter;
              ordered containers: range with the reference's bounds)
  ints        random.seed(45); keys range(N) shuffled; values dicts with 1-20
              floats, 1-5 tags, a nested dict; insert; iterate and sum
              len(v["data"])

Every workload also gets lookups of 1,000 random existing keys (and of
100,000 when N >= 100,000). Each measurement is the median of --repeat runs;
every run builds a fresh container (the timed insert) from freshly made key
objects, then times the other operations on it.

Usage (from the repository root):
  python bench/bench_containers.py --quick            # N = 10,000
  python bench/bench_containers.py                    # N = 10,000 and 1,000,000 (~7 min)
  python bench/bench_containers.py --repeat-large 1   # 1M measured once (~3 min)
  python bench/bench_containers.py --sizes 100000 --repeat 5 --json out.json

See bench/README.md ("Ordered containers").
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import random
import statistics
import string
import sys
import time
from datetime import datetime, timedelta
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

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_PYTHON = REPO_ROOT / "python"

GOAL_VS_KOHAKU = 1.5
GOAL_VS_SORTED = 1.0
GOAL_OPS = ("insert", "lookup", "range")

# (label, module, attribute, kind, constructor keywords)
IMPLS = [
    ("ambervault CSBTree", "ambervault", "CSBTree", "tree", {}),
    ("ambervault SkipList", "ambervault", "SkipList", "tree", {}),
    ("kohakuvault CSBTree", "kohakuvault", "CSBTree", "tree", {}),
    ("kohakuvault SkipList", "kohakuvault", "SkipList", "tree", {}),
    ("SortedDict", "sortedcontainers", "SortedDict", "sorteddict", {}),
    ("dict", None, None, "dict", {}),
]
# Run only when named in --impls: ambervault without its hash index, to show
# what the index costs on inserts and gains on lookups.
OPTIONAL_IMPLS = [
    ("ambervault CSBTree no-hash", "ambervault", "CSBTree", "tree", {"hash_index": False}),
    ("ambervault SkipList no-hash", "ambervault", "SkipList", "tree", {"hash_index": False}),
]
# ratio columns: (header, numerator, denominator)
RATIOS = [
    ("CSBTree: ambervault / kohakuvault", "ambervault CSBTree", "kohakuvault CSBTree", GOAL_VS_KOHAKU),
    ("SkipList: ambervault / kohakuvault", "ambervault SkipList", "kohakuvault SkipList", GOAL_VS_KOHAKU),
    ("ambervault CSBTree / SortedDict", "ambervault CSBTree", "SortedDict", GOAL_VS_SORTED),
    ("ambervault SkipList / SortedDict", "ambervault SkipList", "SortedDict", GOAL_VS_SORTED),
    ("CSBTree no-hash: ambervault / kohakuvault", "ambervault CSBTree no-hash", "kohakuvault CSBTree", GOAL_VS_KOHAKU),
    ("SkipList no-hash: ambervault / kohakuvault", "ambervault SkipList no-hash", "kohakuvault SkipList", GOAL_VS_KOHAKU),
    ("ambervault CSBTree no-hash / SortedDict", "ambervault CSBTree no-hash", "SortedDict", GOAL_VS_SORTED),
    ("ambervault SkipList no-hash / SortedDict", "ambervault SkipList no-hash", "SortedDict", GOAL_VS_SORTED),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------


def import_module(name: str):
    """Import `name`; for ambervault fall back to <repo>/python."""
    return import_repo_aware(name)






class Impl:
    """One implementation: how to make an empty container and how to run the
    operations whose spelling differs between kinds."""

    def __init__(self, label, modname, attr, kind, order, kwargs=None):
        self.label = label
        self.modname = modname
        self.attr = attr
        self.kind = kind
        self.order = order
        self.kwargs = dict(kwargs or {})
        if attr == "CSBTree":
            self.kwargs["order"] = order
        self.cls = None
        self.module = None
        self.version = None
        self.unavailable = None  # reason string when it cannot run
        self.notes = []  # behaviour differences worth printing in the header
        if kind == "dict":
            self.cls = dict
            self.version = platform.python_version()
            return
        try:
            self.module = import_module(modname)
        except Exception as exc:  # ImportError, or a broken extension
            self.unavailable = f"not installed ({type(exc).__name__}: {exc})"
            return
        self.version = module_version(self.module)
        cls = getattr(self.module, attr, None)
        if cls is None:
            self.unavailable = f"not installed ({modname} {self.version} has no {attr})"
            return
        self.cls = cls
        try:
            self.smoke_test()
        except Exception as exc:
            self.unavailable = f"broken ({type(exc).__name__}: {exc})"

    def new(self):
        return self.cls(**self.kwargs)

    def smoke_test(self):
        c = self.new()
        for k in (5, 1, 3, 9, 7):
            c[k] = str(k)
        assert len(c) == 5 and c[3] == "3" and 9 in c and 4 not in c
        assert self.sorted_keys(c) == [1, 3, 5, 7, 9], self.sorted_keys(c)
        r = self.range(c, 3, 9)
        assert r == [(3, "3"), (5, "5"), (7, "7")], r
        if self.kind == "tree":
            assert list(c) == [(k, str(k)) for k in (1, 3, 5, 7, 9)]
        c[3] = "new"
        if c[3] != "new":
            self.notes.append(
                "`[]=` on an existing key keeps the old value, so where keys repeat "
                "(timestamps) its answers differ from a dict's (marked †)"
            )

    # Timed operations. The insert and lookup loops are shared by all kinds
    # (see run_one); the rest is spelled per kind, as a user would write it.

    def sorted_keys(self, c):
        if self.kind == "tree":
            return c.keys()
        if self.kind == "sorteddict":
            return list(c)
        return sorted(c)

    def range(self, c, lo, hi):
        """Pairs with lo <= key < hi. dict: the reference's filter (a dict)."""
        if self.kind == "tree":
            return c.range(lo, hi)
        if self.kind == "sorteddict":
            return [(k, c[k]) for k in c.irange(lo, hi, inclusive=(True, False))]
        return {k: v for k, v in c.items() if lo <= k < hi}

    def prefix_reference(self, c, prefix, lo, hi):
        """Scenario 3 as upstream: dict filters by startswith, the ordered
        containers run range(lo, hi) with the reference's bounds."""
        if self.kind == "dict":
            return [v for k, v in c.items() if k.startswith(prefix)]
        return self.range(c, lo, hi)

    def iterate_sum(self, c):
        if self.kind == "tree":
            return sum(len(v["data"]) for k, v in c)
        if self.kind == "sorteddict":
            return sum(len(v["data"]) for k, v in c.items())
        return sum(len(v["data"]) for v in c.values())


# ---------------------------------------------------------------------------
# Workload data (made once per workload and size; key objects re-made per run)
# ---------------------------------------------------------------------------


def lookup_positions(rng: random.Random, n: int, big: int) -> dict:
    """Positions (into the unshuffled key list) of the keys to look up.
    random.sample picks the same positions whatever the population holds, so
    sample(range(n), k) matches the reference's random.sample(keys, k)."""
    out = {1000: rng.sample(range(n), min(1000, n))}
    if n >= big:
        out[big] = rng.sample(range(n), big)
    return out


class Workload:
    name = ""
    seed = 0

    def __init__(self, n: int, big_lookups: int):
        self.n = n
        self.big = big_lookups
        self.prepare()

    def prepare(self):
        raise NotImplementedError

    def make_keys(self):
        """Fresh key objects for one run: (unshuffled keys, insertion order)."""
        raise NotImplementedError

    def values(self):
        return self.vals


class Timestamps(Workload):
    name = "timestamps"
    seed = 42
    base = datetime(2024, 1, 1)

    def prepare(self):
        rng = random.Random(self.seed)
        n = self.n
        self.offsets = [rng.randint(0, 1_000_000) for _ in range(n)]
        self.perm = list(range(n))
        rng.shuffle(self.perm)  # same permutation as shuffling the key list
        self.vals = [f"Event_{i}_" + "x" * rng.randint(10, 100) for i in range(n)]
        self.lookups = lookup_positions(rng, n, self.big)

    def make_keys(self):
        base = self.base
        keys = [base + timedelta(seconds=s) for s in self.offsets]
        return keys, [keys[p] for p in self.perm]

    def range_bounds(self, keys):
        return keys[len(keys) // 4], keys[len(keys) // 2]


class Tuples(Workload):
    name = "tuples"
    seed = 43

    def prepare(self):
        rng = random.Random(self.seed)
        n = self.n
        pairs = [(rng.randint(1, 1000), rng.randint(0, 1_000_000)) for _ in range(n)]
        self.a = [p[0] for p in pairs]
        self.b = [p[1] for p in pairs]
        self.perm = list(range(n))
        rng.shuffle(self.perm)
        self.vals = [{"data": "x" * rng.randint(10, 50), "count": i} for i in range(n)]
        # upstream: test_keys = random.sample(keys, min(1000, n)) right here
        self.lookups = lookup_positions(rng, n, self.big)

    def make_keys(self):
        keys = list(zip(self.a, self.b))
        return keys, [keys[p] for p in self.perm]


class Paths(Workload):
    name = "paths"
    seed = 44
    prefix = "/a"

    def prepare(self):
        rng = random.Random(self.seed)
        n = self.n
        letters = string.ascii_lowercase

        def random_path():
            depth = rng.randint(2, 5)
            parts = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(depth)]
            return "/" + "/".join(parts)

        self.paths = [random_path() for _ in range(n)]
        self.perm = list(range(n))
        rng.shuffle(self.perm)
        # Upstream builds each value from 20-200 randint(0, 255) calls, which
        # takes minutes at N = 1M. Same lengths, bytes from randbytes(); the
        # keys and the insertion order come before this, so they are
        # identical to upstream's.
        self.vals = [b"metadata_" + rng.randbytes(rng.randint(20, 200)) for _ in range(n)]
        self.lookups = lookup_positions(rng, n, self.big)
        pre = [p for p in self.paths if p.startswith(self.prefix)]
        # upstream's bounds: min prefixed path .. itself.rstrip("/") + "0"
        self.ref_lo = min(pre) if pre else None
        self.ref_hi = self.ref_lo.rstrip("/") + "0" if pre else None

    def make_keys(self):
        # Fresh str objects each run: a str caches its hash, which would let
        # dict and SortedDict skip hashing in every run after the first.
        keys = [p.encode().decode() for p in self.paths]
        return keys, [keys[p] for p in self.perm]


class Ints(Workload):
    name = "ints"
    seed = 45

    def prepare(self):
        rng = random.Random(self.seed)
        n = self.n
        self.keys_shuffled = list(range(n))
        rng.shuffle(self.keys_shuffled)
        vals = []
        for i in range(n):
            size = rng.randint(1, 20)
            vals.append(
                {
                    "id": i,
                    "data": [rng.random() for _ in range(size)],
                    "tags": ["tag_" + str(rng.randint(0, 100)) for _ in range(rng.randint(1, 5))],
                    "metadata": {"key": "value_" + str(i)},
                }
            )
        self.vals = vals
        self.lookups = lookup_positions(rng, n, self.big)

    def make_keys(self):
        # unshuffled list = range(N); lookups sample positions in it
        return list(range(self.n)), list(self.keys_shuffled)


WORKLOADS = [Timestamps, Tuples, Paths, Ints]


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


class Timer:
    """perf_counter around a block, with the cyclic GC off (as timeit does)
    unless --keep-gc."""

    keep_gc = False

    def __enter__(self):
        gc.collect()
        if not self.keep_gc:
            gc.disable()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.dt = time.perf_counter() - self.t0
        gc.enable()
        return False


def time_query(fn, max_reps=1000, min_seconds=0.02):
    """(seconds per query, last answer): fn() run back to back in one timed
    region until it has taken min_seconds or run max_reps times, so a query
    that returns few pairs is not timed as one cold call right after
    gc.collect(), and a slow one (dict's filter over 1M items) runs once."""
    reps = 0
    with Timer() as t:
        start = time.perf_counter()
        while True:
            r = fn()
            reps += 1
            if reps >= max_reps or time.perf_counter() - start >= min_seconds:
                break
    return t.dt / reps, r


def insert_all(c, keys, vals):
    for k, v in zip(keys, vals):
        c[k] = v


def lookup_all(c, keys):
    for k in keys:
        _ = c[k]


class Expected:
    """Answers computed once per workload and size (untimed), with a dict."""

    def __init__(self, wl: Workload):
        keys, order = wl.make_keys()
        ref = {}
        insert_all(ref, order, wl.values())
        self.ref = ref
        self.size = len(ref)
        self.sorted = sorted(ref)
        self.range = None
        self.prefix_ref = None
        self.prefix_full = None
        if isinstance(wl, Timestamps):
            lo, hi = wl.range_bounds(keys)
            self.range_bounds_desc = (lo, hi)
            self.range = [(k, ref[k]) for k in self.sorted if lo <= k < hi]
            # extra: bounds at sorted positions N/4 and N/2, never empty
            self.sorted_lo = self.sorted[self.size // 4]
            self.sorted_hi = self.sorted[self.size // 2]
            self.range_sorted = [(k, ref[k]) for k in self.sorted[self.size // 4 : self.size // 2]]
        if isinstance(wl, Paths) and wl.ref_lo is not None:
            self.prefix_ref = [(k, ref[k]) for k in self.sorted if wl.ref_lo <= k < wl.ref_hi]
            self.prefix_dict_count = sum(1 for k in ref if k.startswith(wl.prefix))
            self.prefix_full = [(k, ref[k]) for k in self.sorted if wl.prefix <= k < "/b"]
        if isinstance(wl, Ints):
            self.iter_total = sum(len(v["data"]) for v in ref.values())


def ops_for(wl: Workload, exp: Expected):
    """(op id, category, label, unit) in display order."""
    n = wl.n
    ops = [("insert", "insert", f"insert {n:,} (shuffled, []=)", "inserts/s")]
    for m in sorted(wl.lookups):
        ops.append((f"lookup{m}", "lookup", f"lookup {m:,} random keys ([])", "lookups/s"))
    if isinstance(wl, Ints):
        ops.append(("iterate", "iteration", f"iterate {exp.size:,} + sum len(v['data'])", "items/s"))
    else:
        ops.append(("sorted", "sorted keys", f"sorted keys ({exp.size:,})", "keys/s"))
    if isinstance(wl, Timestamps):
        ops.append(("range", "range", f"range [keys[N/4], keys[N/2]) -> {len(exp.range):,} pairs", "queries/s"))
        ops.append(
            ("range_sorted", "range", f"range [sorted[N/4], sorted[N/2]) -> {len(exp.range_sorted):,} pairs (extra)", "queries/s")
        )
    if isinstance(wl, Paths) and exp.prefix_ref is not None:
        ops.append(
            (
                "prefix_ref",
                "range",
                f"prefix '/a' as upstream (dict: {exp.prefix_dict_count:,} values; "
                f"range: {len(exp.prefix_ref):,} pairs)",
                "queries/s",
            )
        )
        ops.append(("prefix_full", "range", f"prefix '/a' as range ['/a', '/b') -> {len(exp.prefix_full):,} pairs (extra)", "queries/s"))
    return ops


def run_one(impl: Impl, wl: Workload, exp: Expected) -> tuple[dict, list]:
    """One run: fresh keys, fresh container, every operation once.
    Returns ({op: seconds}, [check failures])."""
    keys, order = wl.make_keys()
    vals = wl.values()
    lookups = {m: [keys[i] for i in pos] for m, pos in wl.lookups.items()}
    times, bad = {}, []

    c = impl.new()
    with Timer() as t:
        insert_all(c, order, vals)
    times["insert"] = t.dt
    if len(c) != exp.size:
        bad.append(f"insert: len {len(c)} != {exp.size}")

    for m, lk in sorted(lookups.items()):
        with Timer() as t:
            lookup_all(c, lk)
        times[f"lookup{m}"] = t.dt
        probe = lk[:1000]
        if [c[k] for k in probe] != [exp.ref[k] for k in probe]:
            bad.append(f"lookup{m}: wrong values")

    if isinstance(wl, Ints):
        with Timer() as t:
            total = impl.iterate_sum(c)
        times["iterate"] = t.dt
        if total != exp.iter_total:
            bad.append(f"iterate: total {total} != {exp.iter_total}")
    else:
        with Timer() as t:
            r = impl.sorted_keys(c)
        times["sorted"] = t.dt
        if list(r) != exp.sorted:
            bad.append("sorted keys: wrong list")
        del r

    if isinstance(wl, Timestamps):
        lo, hi = wl.range_bounds(keys)
        times["range"], r = time_query(lambda: impl.range(c, lo, hi))
        want = dict(exp.range) if impl.kind == "dict" else exp.range
        if r != want:
            bad.append(f"range: wrong pairs ({len(r)} results, expected {len(want)})")
        del r
        # sorted-position bounds: fresh key objects equal to the expected ones
        lo = wl.base + (exp.sorted_lo - wl.base)
        hi = wl.base + (exp.sorted_hi - wl.base)
        times["range_sorted"], r = time_query(lambda: impl.range(c, lo, hi))
        want = dict(exp.range_sorted) if impl.kind == "dict" else exp.range_sorted
        if r != want:
            bad.append(f"range_sorted: wrong pairs ({len(r)} results, expected {len(want)})")
        del r

    if isinstance(wl, Paths) and exp.prefix_ref is not None:
        times["prefix_ref"], r = time_query(lambda: impl.prefix_reference(c, wl.prefix, wl.ref_lo, wl.ref_hi))
        want_n = exp.prefix_dict_count if impl.kind == "dict" else len(exp.prefix_ref)
        if len(r) != want_n or (impl.kind != "dict" and r != exp.prefix_ref):
            bad.append(f"prefix_ref: wrong pairs ({len(r)} results, expected {want_n})")
        del r
        times["prefix_full"], r = time_query(lambda: impl.range(c, wl.prefix, "/b"))
        want = dict(exp.prefix_full) if impl.kind == "dict" else exp.prefix_full
        if r != want:
            bad.append(f"prefix_full: wrong pairs ({len(r)} results, expected {len(want)})")
        del r

    del c, keys, order, lookups
    gc.collect()
    return times, bad


def op_count(op: str, wl: Workload, exp: Expected) -> int:
    """Units of work per run, for ops/s."""
    if op == "insert":
        return wl.n
    if op.startswith("lookup"):
        return int(op[len("lookup"):])
    if op in ("sorted", "iterate"):
        return exp.size
    return 1  # one range query


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def fmt_ratio(r: float | None, goal: float | None) -> str:
    if r is None:
        return "-"
    s = f"{r:.2f}x"
    return f"**{s}**" if goal is not None and r >= goal else s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="entry counts N (default 10000 1000000)")
    ap.add_argument("--quick", action="store_true", help="N = 10,000 only (overrides --sizes)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the table shows the median (default 3)")
    ap.add_argument(
        "--repeat-large", type=int, default=0, metavar="R",
        help="runs for N >= 1,000,000 (default 0 = same as --repeat; one 1M pass takes ~2.3 min)",
    )
    ap.add_argument("--order", type=int, default=63, help="CSBTree order for both libraries (default 63)")
    ap.add_argument("--big-lookups", type=int, default=100_000, help="extra lookup row with this many keys when N >= it (default 100000)")
    ap.add_argument("--impls", nargs="+", default=None, metavar="LABEL", help='subset, e.g. "SortedDict" "dict" (default: all)')
    ap.add_argument("--workloads", nargs="+", default=None, choices=[w.name for w in WORKLOADS])
    ap.add_argument("--keep-gc", action="store_true", help="leave the cyclic GC on during timed regions")
    ap.add_argument("--json", metavar="PATH", help="also write every run as JSON")
    args = ap.parse_args(argv)
    sizes = [10_000] if args.quick else args.sizes
    Timer.keep_gc = args.keep_gc

    candidates = IMPLS + (OPTIONAL_IMPLS if args.impls else [])
    impls = [Impl(label, mod, attr, kind, args.order, kw) for label, mod, attr, kind, kw in candidates]
    if args.impls:
        wanted = {s.lower() for s in args.impls}
        impls = [i for i in impls if i.label.lower() in wanted]
    workloads = [w for w in WORKLOADS if not args.workloads or w.name in args.workloads]
    fingerprints = {i.modname: native_fingerprint(i.module) for i in impls if i.module is not None}

    started = _dt.datetime.now(_dt.timezone.utc)
    wall0, busy0, own0 = time.perf_counter(), cpu_busy_jiffies(), os.times()

    results = {}  # (workload, n, op) -> {label: [seconds...]}
    failures = {}  # (workload, n, op, label) -> [messages]
    errors = {}  # (workload, n, label) -> message
    meta_ops = []  # (workload, n, op, category, label, unit, count)

    for n in sizes:
        repeat = args.repeat_large if (args.repeat_large and n >= 1_000_000) else args.repeat
        for wi, W in enumerate(workloads):
            t0 = time.perf_counter()
            wl = W(n, args.big_lookups)
            exp = Expected(wl)
            # The workload's data lives until the workload ends: move it out of
            # the GC's generations so the gc.collect() before each timed region
            # does not walk a million value dicts each time.
            gc.collect()
            gc.freeze()
            log(f"[{W.name} N={n:,}] data ready in {time.perf_counter() - t0:.1f}s ({exp.size:,} distinct keys)")
            ops = ops_for(wl, exp)
            for op, cat, label, unit in ops:
                meta_ops.append((W.name, n, op, cat, label, unit, op_count(op, wl, exp)))
            runnable = [i for i in impls if i.unavailable is None]
            for r in range(repeat):
                k = (r + wi) % max(1, len(runnable))
                for impl in runnable[k:] + runnable[:k]:
                    if (W.name, n, impl.label) in errors:
                        continue
                    t1 = time.perf_counter()
                    try:
                        times, bad = run_one(impl, wl, exp)
                    except Exception as exc:
                        errors[(W.name, n, impl.label)] = f"{type(exc).__name__}: {exc}"
                        log(f"  {impl.label}: ERROR {type(exc).__name__}: {exc}")
                        gc.collect()
                        continue
                    for op, dt in times.items():
                        results.setdefault((W.name, n, op), {}).setdefault(impl.label, []).append(dt)
                    for msg in bad:
                        op = msg.split(":", 1)[0].replace("sorted keys", "sorted")
                        failures.setdefault((W.name, n, op, impl.label), []).append(msg)
                        log(f"  {impl.label}: CHECK FAILED {msg}")
                    log(
                        f"  run {r + 1}/{repeat} {impl.label:<21} {time.perf_counter() - t1:6.2f}s  "
                        f"insert {times['insert'] * 1e3:9.2f} ms"
                    )
            gc.unfreeze()
            del wl, exp
            gc.collect()

    wall = time.perf_counter() - wall0
    busy1, own1 = cpu_busy_jiffies(), os.times()
    other_cores = None
    if busy0 is not None and busy1 is not None:
        hz = os.sysconf("SC_CLK_TCK")
        own = (own1.user + own1.system) - (own0.user + own0.system)
        other_cores = max(0.0, ((busy1 - busy0) / hz - own) / wall)
    changed = [
        m for m, fp in fingerprints.items()
        if fp and native_fingerprint(next(i.module for i in impls if i.modname == m)) != fp
    ]

    # ---- header ----
    labels = [i.label for i in impls]
    print("# Ordered containers: ambervault vs kohakuvault vs sortedcontainers\n")
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu_model()}), {mem_total()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}. "
        f"Wall time {wall / 60:.1f} min."
    )
    print()
    for impl in impls:
        state = impl.unavailable or "ok"
        extra = "".join(f", {k}={v}" for k, v in impl.kwargs.items())
        print(f"- {impl.label}: {impl.modname or 'builtins'} {impl.version or '-'}{extra} — {state}")
        for note in impl.notes:
            print(f"  - note: {note}")
    reps = f"median of {args.repeat}"
    if args.repeat_large and args.repeat_large != args.repeat and any(n >= 1_000_000 for n in sizes):
        reps += f" ({args.repeat_large} for N >= 1,000,000)"
    print(
        f"- {reps} runs; fresh container and fresh key objects per run; "
        f"cyclic GC {'on' if args.keep_gc else 'off'} in timed regions; time.perf_counter()"
    )
    if other_cores is not None:
        warn = "  **WARNING: the machine was busy; numbers are disturbed**" if other_cores > 0.25 else ""
        print(f"- other processes' CPU use during the run: {other_cores:.2f} cores{warn}")
    if changed:
        print(f"- **WARNING: native modules of {', '.join(changed)} changed on disk during the run (rebuilt?); the run used the build loaded at its start**")
    print()

    by_label = {i.label: i for i in impls}

    def cell(key, label, count):
        w, n, op = key
        why = by_label[label].unavailable
        if why:
            return "not installed" if why.startswith("not installed") else "broken"
        if (w, n, label) in errors:
            return "error"
        ts = results.get(key, {}).get(label)
        if not ts:
            return "-"
        s = fmt_rate(count / statistics.median(ts))
        if (w, n, op, label) in failures:
            s += " †"
        return s

    def rate(key, label, count):
        ts = results.get(key, {}).get(label)
        if not ts or (key[0], key[1], label) in errors:
            return None
        return count / statistics.median(ts)

    print("## Throughput (higher is better)\n")
    print("| workload | N | operation | unit | " + " | ".join(labels) + " |")
    print("|---|---:|---|---|" + "---:|" * len(labels))
    for w, n, op, cat, label, unit, count in meta_ops:
        cells = [cell((w, n, op), lab, count) for lab in labels]
        print(f"| {w} | {n:,} | {label} | {unit} | " + " | ".join(cells) + " |")
    print()

    ratio_cols = [rc for rc in RATIOS if rc[1] in labels and rc[2] in labels]
    goal_tally = {}  # numerator label -> [met, total, misses]
    if ratio_cols:
        print("## Ratios (ambervault ops/s ÷ other ops/s; bold = meets the goal on insert, lookup and range)\n")
        print("| workload | N | operation | " + " | ".join(rc[0] for rc in ratio_cols) + " |")
        print("|---|---:|---|" + "---:|" * len(ratio_cols))
        for w, n, op, cat, label, unit, count in meta_ops:
            cells = []
            for head, num, den, goal in ratio_cols:
                a, b = rate((w, n, op), num, count), rate((w, n, op), den, count)
                r = a / b if a is not None and b is not None else None
                in_goal = cat in GOAL_OPS
                mark = " †" if any((w, n, op, x) in failures for x in (num, den)) and r is not None else ""
                cells.append(fmt_ratio(r, goal if in_goal else None) + mark)
                if in_goal and r is not None:
                    t = goal_tally.setdefault((num, den), [0, 0, []])
                    t[1] += 1
                    if r >= goal:
                        t[0] += 1
                    else:
                        t[2].append(f"{w} {n:,} {op} {r:.2f}x")
            short = {"insert": "insert", "iteration": "iteration", "sorted keys": "sorted keys"}.get(cat, label)
            print(f"| {w} | {n:,} | {short if cat != 'lookup' else label.split(' (')[0]} | " + " | ".join(cells) + " |")
        print()
        print(
            f"Goal (informational only, never fails): ambervault >= {GOAL_VS_KOHAKU}x kohakuvault (same class) "
            f"and >= {GOAL_VS_SORTED}x SortedDict on insert, lookup and range."
        )
        print()
        for (num, den), (met, total, misses) in goal_tally.items():
            line = f"- {num} vs {den}: met in {met} of {total} rows"
            if misses:
                line += "; missed: " + ", ".join(misses)
            print(line)
        if not goal_tally:
            print("- no ratios available (an implementation is missing)")
        print()

    if errors:
        print("Errors:\n")
        for (w, n, lab), msg in errors.items():
            print(f"- {lab}, {w}, N={n:,}: {msg}")
        print()
    if failures:
        print("† = a check failed: the answer differed from a dict's (the time is still shown):\n")
        for (w, n, op, lab), msgs in failures.items():
            print(f"- {lab}, {w}, N={n:,}: {msgs[0]} (in {len(msgs)} of the runs)")
        print()

    if args.json:
        out = {
            "started": started.isoformat(),
            "wall_s": wall,
            "other_cores": other_cores,
            "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "mem": mem_total(), "python": platform.python_version()},
            "args": vars(args),
            "impls": {i.label: {"version": i.version, "state": i.unavailable or "ok"} for i in impls},
            "ops": [
                {"workload": w, "n": n, "op": op, "category": cat, "label": label, "unit": unit, "count": count,
                 "seconds": results.get((w, n, op), {})}
                for w, n, op, cat, label, unit, count in meta_ops
            ],
            "errors": {f"{w}|{n}|{lab}": m for (w, n, lab), m in errors.items()},
            "failures": {f"{w}|{n}|{op}|{lab}": m for (w, n, op, lab), m in failures.items()},
        }
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
