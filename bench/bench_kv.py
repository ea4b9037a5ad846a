#!/usr/bin/env python3
"""KVault benchmark: ambervault vs kohakuvault, side by side, in one run.

The workloads are KohakuVault's own KVault benchmarks (suites 1 and 2 of
its examples/benchmark.py, disk storage), run unchanged against each library:

  write  fresh file; KVault(db); enable_cache(cap_bytes=C MiB,
         flush_threshold=C MiB // 4) when C > 0; value = b"x" * S; timed:
         ``for i in range(N): vault[f"k:{i:08d}"] = value``, then
         flush_cache() when cached, then checkpoint(). close() is untimed.
  read   populate N keys (enable_cache() defaults, flush_cache(), close());
         reopen a fresh KVault; timed: ``_ = vault[f"k:{i:08d}"]`` for every
         key in insertion order.

Every (case, library, repeat) runs in its own fresh Python subprocess on its
own fresh database file; the library that runs first alternates from case to
case (and from repeat to repeat) so that drifting system state hits both.

Usage (from the repository root):
  python bench/bench_kv.py --quick                  # 2,000 entries
  python bench/bench_kv.py                          # 50,000 entries
  python bench/bench_kv.py --libs kohakuvault --quick
  python bench/bench_kv.py --repeat 3 --json out.json

See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import import_repo_aware  # noqa: E402  (bench/ is on sys.path)

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_PYTHON = REPO_ROOT / "python"
RESULT_TAG = "@@BENCH_KV_RESULT "
GOAL_RATIO = 2.0
# A library is a module name, or "name==version" for a pinned release that is
# pip-installed on first use into CACHE_DIR and put on that worker's path.
DEFAULT_LIBS = ["ambervault", "kohakuvault==0.6.0", "kohakuvault"]
CACHE_DIR = Path(os.environ.get("AMBERVAULT_BENCH_CACHE", Path.home() / ".cache" / "ambervault-bench"))


def import_name(lib: str) -> str:
    return lib.split("==", 1)[0]


def pinned_path(lib: str) -> Path | None:
    """For "name==version", the folder holding that release (installed now if needed)."""
    if "==" not in lib:
        return None
    target = CACHE_DIR / lib.replace("==", "-")
    if not (target / ".complete").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), lib],
            check=True,
        )
        (target / ".complete").write_text(lib)
    return target


# ---------------------------------------------------------------------------
# Library loading (used inside the worker subprocesses and the probes)
# ---------------------------------------------------------------------------


def import_lib(lib: str):
    """Import `lib`; for ambervault fall back to <repo>/python."""
    return import_repo_aware(import_name(lib))


def lib_version(mod) -> str:
    for attr in ("__version__", "_distribution_version", "VERSION", "version"):
        v = getattr(mod, attr, None)
        if callable(v):
            try:
                v = v()
            except Exception:
                v = None
        if isinstance(v, str) and v:
            return v
    try:
        from importlib.metadata import version

        return version(mod.__name__)
    except Exception:
        return "unknown"


_SQLITE_VER_RE = re.compile(rb"(?<![0-9A-Za-z._-])3\.(\d{1,2})\.(\d{1,2})\x00")
_SQLITE_SRCID_RE = re.compile(rb"(20\d\d-\d\d-\d\d \d\d:\d\d:\d\d) [0-9a-f]{40,}")


def _sqlite_version_from_binary(path: str) -> str | None:
    """SQLite statically linked into `path`: call sqlite3_libversion() if it
    is exported, else find SQLite's version and source-id strings."""
    try:
        import ctypes

        lib = ctypes.CDLL(path)
        fn = getattr(lib, "sqlite3_libversion", None)
        if fn is not None:
            fn.restype = ctypes.c_char_p
            return fn().decode() + " (linked)"
    except Exception:
        pass
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    srcid = _SQLITE_SRCID_RE.search(data)
    if not srcid and b"sqlite3_" not in data and b"SQLite" not in data:
        return None
    versions = sorted({f"3.{a.decode()}.{b.decode()}" for a, b in _SQLITE_VER_RE.findall(data)})
    if not versions and not srcid:
        return None
    out = "/".join(versions) if versions else "3.?"
    if srcid:
        out += f" (bundled, source id {srcid.group(1).decode()[:10]})"
    else:
        out += " (bundled)"
    return out


def lib_sqlite_version(mod) -> str:
    """Best effort: the SQLite version the library actually runs on."""
    for holder in (mod, getattr(mod, "_core", None)):
        if holder is None:
            continue
        for attr in ("sqlite_version", "SQLITE_VERSION", "sqlite_libversion"):
            v = getattr(holder, attr, None)
            if callable(v):
                try:
                    v = v()
                except Exception:
                    v = None
            if isinstance(v, str) and v:
                return v + " (reported by library)"
    # Native files of the library (its extension modules). dlsym() on their
    # handle also searches their dependencies, so a dynamically linked
    # libsqlite3 is found through them; a hidden, statically linked SQLite is
    # found by its version/source-id strings. (Python's own sqlite3 module is
    # never imported in the probe, so its libsqlite3 cannot be mistaken.)
    pkg_dir = os.path.dirname(os.path.abspath(getattr(mod, "__file__", "") or ""))
    candidates = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) < 6:
                    continue
                p = parts[5].strip()
                if p.endswith((".so",)) or ".so." in p:
                    if pkg_dir and p.startswith(pkg_dir + os.sep):
                        if p not in candidates:
                            candidates.append(p)
    except OSError:
        pass
    if not candidates and pkg_dir:
        for p in sorted(Path(pkg_dir).glob("*.so")):
            candidates.append(str(p))
    for c in candidates:
        v = _sqlite_version_from_binary(c)
        if v:
            return v
    return "unknown"


def _native_fingerprints(mod) -> dict:
    """sha256 prefix and mtime of the package's extension modules, so that a
    rebuild in the middle of a run can be detected."""
    import hashlib

    out = {}
    for d in getattr(mod, "__path__", []) or []:
        for f in sorted(Path(d).glob("*.so")):
            try:
                h = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
                mtime = _dt.datetime.fromtimestamp(f.stat().st_mtime).astimezone().isoformat(timespec="seconds")
                out[str(f)] = {"sha256_16": h, "mtime": mtime}
            except OSError:
                pass
    return out


def make_vault(mod, path: str):
    """Open a KVault with library defaults; disable auto-packing if the
    library has it (values are bytes, which both store raw anyway)."""
    vault = mod.KVault(path)
    if hasattr(vault, "disable_auto_pack"):
        vault.disable_auto_pack()
    return vault


# ---------------------------------------------------------------------------
# Worker: runs one case of one library and prints one JSON line
# ---------------------------------------------------------------------------


def _db_facts(db: str, expect_rows: int) -> dict:
    """Untimed, after close(): what is in the file (stdlib sqlite3)."""
    import sqlite3  # imported only here, after timing: keep workers lean

    facts = {}
    try:
        con = sqlite3.connect(db)
        try:
            facts["journal_mode"] = con.execute("PRAGMA journal_mode").fetchone()[0]
            facts["page_size"] = con.execute("PRAGMA page_size").fetchone()[0]
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            if "kv" in tables:
                facts["rows"] = con.execute("SELECT COUNT(*) FROM kv").fetchone()[0]
                facts["rows_ok"] = facts["rows"] == expect_rows
        finally:
            con.close()
    except Exception as ex:  # pragma: no cover - diagnostics only
        facts["error"] = f"{type(ex).__name__}: {ex}"
    try:
        facts["db_bytes"] = os.path.getsize(db)
    except OSError:
        pass
    return facts


def bench_write(mod, db: str, n: int, size: int, cache_mb: int) -> dict:
    vault = make_vault(mod, db)
    if cache_mb > 0:
        cap = cache_mb << 20
        vault.enable_cache(cap_bytes=cap, flush_threshold=cap // 4)
    value = b"x" * size
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        vault[f"k:{i:08d}"] = value
    if cache_mb > 0:
        vault.flush_cache()
    vault.checkpoint()
    elapsed = time.perf_counter() - t0
    # Untimed sanity check.
    ok = bytes(vault[f"k:{n - 1:08d}"]) == value if n else True
    vault.close()
    return {"elapsed": elapsed, "value_ok": ok}


def bench_read(mod, db: str, n: int, size: int) -> dict:
    vault = make_vault(mod, db)
    vault.enable_cache()
    value = b"x" * size
    for i in range(n):
        vault[f"k:{i:08d}"] = value
    vault.flush_cache()
    vault.close()
    if hasattr(os, "sync"):
        os.sync()  # untimed: population's writeback is not charged to reads

    vault = make_vault(mod, db)
    gc.collect()
    _ = None
    t0 = time.perf_counter()
    for i in range(n):
        _ = vault[f"k:{i:08d}"]
    elapsed = time.perf_counter() - t0
    ok = (bytes(_) == value) if n else True
    vault.close()
    return {"elapsed": elapsed, "value_ok": ok}


def worker_main(spec: dict) -> int:
    lib = spec["lib"]
    out = {"lib": lib, "case": spec["case"]}
    tmp = tempfile.mkdtemp(prefix=f"bench_kv_{lib.replace('==', '-')}_", dir=spec.get("tmpdir"))
    try:
        mod = import_lib(lib)
        w, n, s, c = (spec["case"][k] for k in ("workload", "n", "size", "cache_mb"))
        db = os.path.join(tmp, f"kv_{w}_{n}_{s}_{c}.db")
        if hasattr(os, "sync"):
            os.sync()  # untimed: no dirty pages from an earlier case in flight
        if w == "write":
            r = bench_write(mod, db, n, s, c)
        elif w == "read":
            r = bench_read(mod, db, n, s)
        else:
            raise ValueError(f"unknown workload {w!r}")
        out.update(r)
        out["db"] = _db_facts(db, n)
        t = r["elapsed"]
        out["ops_s"] = n / t if t > 0 else float("inf")
        out["mb_s"] = n * s / 2**20 / t if t > 0 else float("inf")
    except Exception as ex:
        out["error"] = f"{type(ex).__name__}: {ex}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


def probe_main(lib: str) -> int:
    info = {"lib": lib}
    try:
        mod = import_lib(lib)
        if not hasattr(mod, "KVault"):
            where = list(getattr(mod, "__path__", [])) or [getattr(mod, "__file__", "?")]
            raise ImportError(
                f"package found at {where} but it has no KVault (native extension not built yet?)"
            )
        info["installed"] = True
        info["version"] = lib_version(mod)
        info["file"] = getattr(mod, "__file__", None)
        info["sqlite"] = lib_sqlite_version(mod)
        info["native_files"] = _native_fingerprints(mod)
        tmp = tempfile.mkdtemp(prefix=f"bench_kv_probe_{lib.replace('==', '-')}_")
        try:
            v = mod.KVault(os.path.join(tmp, "probe.db"))
            info["has_disable_auto_pack"] = hasattr(v, "disable_auto_pack")
            if hasattr(v, "auto_pack_enabled"):
                info["auto_pack_default"] = bool(v.auto_pack_enabled())
                if info["has_disable_auto_pack"]:
                    v.disable_auto_pack()
                    info["auto_pack_after_disable"] = bool(v.auto_pack_enabled())
            missing = [m for m in ("enable_cache", "flush_cache", "checkpoint", "close") if not hasattr(v, m)]
            if missing:
                info["missing_methods"] = missing
            v.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
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
    if lib is not None:
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


def machine_info(tmpdir: str | None) -> dict:
    import sqlite3

    info = {
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_stdlib_sqlite": sqlite3.sqlite_version,
    }
    try:
        info["nproc_affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            info["mem_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    tdir = tmpdir or tempfile.gettempdir()
    info["tmpdir"] = tdir
    for cmd in (["findmnt", "-n", "-o", "FSTYPE", "-T", tdir], ["stat", "-f", "-c", "%T", tdir]):
        try:
            fs = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        except Exception:
            continue
        if fs.returncode == 0 and fs.stdout.strip():
            info["tmpdir_fs"] = fs.stdout.strip().splitlines()[0]
            break
    return info


def _cpu_snapshot() -> tuple[float, float, float] | None:
    """(wall, machine-wide busy CPU seconds, CPU seconds of our children)."""
    import resource

    try:
        with open("/proc/stat") as fh:
            f = [int(v) for v in fh.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    # user-mode CPU (user + nice) of the whole machine: kernel time is left
    # out, since writeback threads work on this benchmark's own I/O.
    user = (f[0] + f[1]) / tick
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return time.monotonic(), user, ru.ru_utime + me.ru_utime


def _foreign_load(before, after) -> float | None:
    """Average number of cores kept busy (in user mode) by processes other
    than this benchmark and its workers, between two snapshots."""
    if not before or not after or after[0] <= before[0]:
        return None
    other = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, other / (after[0] - before[0]))


def _fmt_num(x, digits=0) -> str:
    if x is None:
        return "-"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def _fmt_size(s: int) -> str:
    if s % (1 << 20) == 0:
        return f"{s >> 20} MiB"
    if s % 1024 == 0:
        return f"{s >> 10} KiB"
    return f"{s} B"


def build_cases(entries, sizes, caches) -> list[dict]:
    cases = []
    for n in entries:
        for s in sizes:
            for c in caches:
                cases.append({"workload": "write", "n": n, "size": s, "cache_mb": c})
    for n in entries:
        for s in sizes:
            cases.append({"workload": "read", "n": n, "size": s, "cache_mb": None})
    return cases


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="KVault write/read benchmark: ambervault vs kohakuvault (same run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--entries", type=int, nargs="+", default=[50000], help="entry counts N")
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 16384], help="value sizes in bytes")
    p.add_argument("--cache", type=int, nargs="+", default=[0, 64], help="write-cache sizes in MiB (0 = no cache)")
    p.add_argument("--libs", nargs="+", default=list(DEFAULT_LIBS), help="libraries to compare")
    p.add_argument("--repeat", type=int, default=1, help="runs per case and library; the median is reported")
    p.add_argument("--json", metavar="PATH", help="also write all results to this JSON file")
    p.add_argument("--quick", action="store_true", help="entries = 2000 (overrides --entries)")
    p.add_argument("--tmpdir", default=None, help="directory for the database files; the system temp dir if unset")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per worker process")
    p.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    p.add_argument("--probe", metavar="LIB", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.quick:
        a.entries = [2000]
    if a.repeat < 1:
        p.error("--repeat must be >= 1")
    if any(n < 1 for n in a.entries) or any(s < 1 for s in a.sizes) or any(c < 0 for c in a.cache):
        p.error("--entries and --sizes must be positive, --cache non-negative")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.worker:
        return worker_main(json.loads(a.worker))
    if a.probe:
        return probe_main(a.probe)

    started = _dt.datetime.now().astimezone()
    machine = machine_info(a.tmpdir)
    print(f"# KVault benchmark: {' vs '.join(a.libs)}")
    print()
    print(f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(
        f"- machine: nproc={machine.get('nproc')}"
        + (f" (affinity {machine['nproc_affinity']})" if "nproc_affinity" in machine else "")
        + f", cpu={machine.get('cpu', '?')}, mem={machine.get('mem_gib', '?')} GiB"
    )
    print(f"- platform: {machine['platform']}, Python {machine['python']}")
    print(f"- db files in: {machine['tmpdir']} ({machine.get('tmpdir_fs', '?')})")
    print(f"- Python stdlib sqlite3 module: SQLite {machine['python_stdlib_sqlite']}")

    probes = {}
    for lib in a.libs:
        info = _run_child(["--probe", lib], timeout=300, lib=lib)
        info.setdefault("installed", False)
        probes[lib] = info
        if info.get("installed"):
            if info.get("has_disable_auto_pack"):
                ap = (
                    f"auto-pack default {'on' if info.get('auto_pack_default') else 'off'}"
                    f" -> disable_auto_pack() called on every vault"
                )
            else:
                ap = "no auto-pack API (bytes only)"
            extra = f"; MISSING {info['missing_methods']}" if info.get("missing_methods") else ""
            print(f"- {lib} {info.get('version')}: SQLite {info.get('sqlite')}; {ap}{extra}")
            print(f"  ({info.get('file')})")
            for f, fp in (info.get("native_files") or {}).items():
                print(f"  {os.path.basename(f)}: sha256 {fp['sha256_16']}..., built {fp['mtime']}")
        else:
            print(f"- {lib}: NOT INSTALLED ({info.get('error', 'import failed')})")
    print(
        f"- workloads: KohakuVault examples/benchmark.py suites 1 (write) and 2 (read), disk; "
        f"entries={a.entries}, sizes={a.sizes}, cache MiB={a.cache}, repeat={a.repeat} (median)"
    )
    print("- each (case, library, repeat) runs in a fresh subprocess on a fresh file; run order alternates")
    print()
    sys.stdout.flush()

    avail = [lib for lib in a.libs if probes[lib].get("installed")]
    cases = build_cases(a.entries, a.sizes, a.cache)
    raw = {i: {lib: [] for lib in a.libs} for i in range(len(cases))}
    total = len(cases) * a.repeat * len(avail)
    done = 0
    t_start = time.perf_counter()
    load_avg_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    snap_start = _cpu_snapshot()
    for r in range(a.repeat):
        for ci, case in enumerate(cases):
            order = list(avail) if (ci + r) % 2 == 0 else list(reversed(avail))
            for lib in order:
                spec = {"lib": lib, "case": case, "tmpdir": a.tmpdir}
                res = _run_child(["--worker", json.dumps(spec)], timeout=a.timeout, lib=lib)
                res["repeat"] = r
                res["order"] = order.index(lib)
                raw[ci][lib].append(res)
                done += 1
                if "error" in res:
                    status = "ERROR " + res["error"]
                else:
                    status = f"{res['elapsed']:.3f}s {res['ops_s']:,.0f} ops/s"
                    if not res.get("value_ok", True) or res.get("db", {}).get("rows_ok") is False:
                        status += " (VALUE/ROW CHECK FAILED)"
                cache = "" if case["cache_mb"] is None else f" cache={case['cache_mb']}MiB"
                print(
                    f"  [{done}/{total}] {case['workload']} N={case['n']} size={case['size']}{cache}"
                    f" {lib}: {status}",
                    file=sys.stderr,
                    flush=True,
                )

    foreign = _foreign_load(snap_start, _cpu_snapshot())
    machine["foreign_cpu_cores_during_run"] = foreign
    machine["loadavg_start"] = load_avg_start
    machine["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None

    # Was a library rebuilt or reinstalled while we ran?
    changed = []
    for lib in avail:
        after = _run_child(["--probe", lib], timeout=300, lib=lib)
        probes[lib]["native_files_after"] = after.get("native_files")
        if after.get("native_files") != probes[lib].get("native_files") or after.get("version") != probes[lib].get(
            "version"
        ):
            changed.append(lib)

    rows = []
    for ci, case in enumerate(cases):
        row = {"case": case, "libs": {}}
        for lib in a.libs:
            runs = raw[ci][lib]
            good = [x for x in runs if "error" not in x]
            entry = {"runs": runs}
            if not probes[lib].get("installed"):
                entry["status"] = "not installed"
            elif not good:
                entry["status"] = "error"
            else:
                entry["status"] = "ok"
                entry["elapsed_median"] = statistics.median(x["elapsed"] for x in good)
                entry["ops_s"] = statistics.median(x["ops_s"] for x in good)
                entry["mb_s"] = statistics.median(x["mb_s"] for x in good)
                entry["checks_ok"] = all(
                    x.get("value_ok", True) and x.get("db", {}).get("rows_ok", True) for x in good
                )
            row["libs"][lib] = entry
        base = "ambervault"
        row["ratios"] = {}
        for other in a.libs:
            if other == base:
                continue
            if (
                row["libs"].get(base, {}).get("status") == "ok"
                and row["libs"].get(other, {}).get("status") == "ok"
            ):
                row["ratios"][other] = row["libs"][base]["ops_s"] / row["libs"][other]["ops_s"]
            else:
                row["ratios"][other] = None
        rows.append(row)

    # --- Markdown table --------------------------------------------------
    def cell(row, lib, key, digits=0):
        e = row["libs"].get(lib)
        if e is None:
            return "not run"
        if e["status"] != "ok":
            return e["status"]
        s = _fmt_num(e[key], digits)
        return s if e.get("checks_ok", True) else s + " (check failed!)"

    others = [lib for lib in a.libs if lib != "ambervault"]
    label = {lib: lib.replace("==", " ") for lib in a.libs}
    header = (
        "| workload | N | size | cache | "
        + " | ".join(f"{label[lib]} ops/s" for lib in a.libs)
        + " | "
        + " | ".join(f"{label[lib]} MB/s" for lib in a.libs)
        + " | "
        + " | ".join(f"ratio vs {label[lib]}" for lib in others)
        + " |"
    )
    print(header)
    print("|---|---:|---:|---:|" + "---:|" * (2 * len(a.libs) + len(others)))
    for row in rows:
        c = row["case"]
        cache = "-" if c["cache_mb"] is None else ("off" if c["cache_mb"] == 0 else f"{c['cache_mb']} MiB")
        ratios = ["n/a" if row["ratios"][o] is None else f"{row['ratios'][o]:.2f}x" for o in others]
        print(
            f"| {c['workload']} | {c['n']:,} | {_fmt_size(c['size'])} | {cache} | "
            + " | ".join(cell(row, lib, "ops_s") for lib in a.libs)
            + " | "
            + " | ".join(cell(row, lib, "mb_s", 1) for lib in a.libs)
            + " | "
            + " | ".join(ratios)
            + " |"
        )
    errors = [
        (row["case"], lib, x["error"])
        for row in rows
        for lib, e in row["libs"].items()
        for x in e["runs"]
        if "error" in x
    ]
    if errors:
        print()
        print("Errors:")
        for c, lib, err in errors:
            print(f"- {c['workload']} N={c['n']} size={c['size']} cache={c['cache_mb']} {lib}: {err}")
    if changed:
        print()
        print(
            f"WARNING: {', '.join(changed)} changed on disk during the run (rebuilt or reinstalled); "
            "the rows may mix builds. Re-run for clean numbers."
        )
    if foreign is not None:
        print()
        note = (
            "  WARNING: the machine was not idle; rerun for clean numbers."
            if foreign > 0.25
            else ""
        )
        print(
            f"Other processes used {foreign:.2f} CPU cores (user time) on average during the run "
            f"(of {machine.get('nproc')}).{note}"
        )
    print()
    print("ratio = ambervault ops/s / that library's ops/s (same as the MB/s ratio); MB = 2^20 bytes of values.")
    print()
    print(f"Goal check (ratio >= {GOAL_RATIO:.1f}; informational, never fails the run):")
    for other in others:
        met = rated = 0
        for row in rows:
            c = row["case"]
            cache = "" if c["cache_mb"] is None else f" cache={c['cache_mb']}MiB"
            r = row["ratios"][other]
            if r is None:
                verdict = "n/a (needs both libraries)"
            else:
                rated += 1
                met += r >= GOAL_RATIO
                verdict = f"{r:.2f}x {'MET' if r >= GOAL_RATIO else 'NOT MET'}"
            print(f"- vs {label[other]}: {c['workload']} N={c['n']} size={c['size']}{cache}: {verdict}")
        if rated:
            print(f"  {met}/{rated} rows meet the {GOAL_RATIO:.1f}x goal against {label[other]}.")
    print(f"(wall time {time.perf_counter() - t_start:.1f}s)")

    if a.json:
        doc = {
            "date": started.isoformat(),
            "machine": machine,
            "libraries": probes,
            "args": {
                "entries": a.entries,
                "sizes": a.sizes,
                "cache_mb": a.cache,
                "libs": a.libs,
                "repeat": a.repeat,
                "tmpdir": a.tmpdir,
            },
            "goal_ratio": GOAL_RATIO,
            "rows": rows,
        }
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        with open(a.json, "w") as fh:
            json.dump(doc, fh, indent=2)
        print(f"results written to {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
