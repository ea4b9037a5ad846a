"""ColumnVault files move between ambervault and the real kohakuvault 0.9.0.

kohakuvault 0.6 to 0.9.0 keep columns in the legacy tables (kohakuvault_meta
schema_version '2', col_meta, col_chunks; a variable-size column is a
``<name>_data`` byte column plus a ``<name>_idx`` column of 12-byte
(chunk, start, end) entries). kohakuvault 1.0+ cannot read that format, so
these tests run kohakuvault 0.9.0 from its own folder (the
``legacy_kohakuvault`` fixture) in a child process; ambervault runs in this
process and is always closed before the child touches the file.

One driver script (``_DRIVER``) runs a list of column operations and then
reads every column back (``col[i]`` for each i, ``col[:]`` and iteration) with
either library; values cross the process boundary as JSON. The tests replay
the same operations on Python lists and compare every element exactly.
Each scenario runs once per module for all dtypes; the tests are then
parametrized per dtype so a failure names the dtype it concerns.
"""

import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import ambervault

from conftest import run_python, subprocess_env

# Runs in this process (with ambervault) and in the kohakuvault 0.9.0 child.
_DRIVER = r'''
import base64, json, sys, traceback
import numpy as np


def _check(cond, what):
    if not cond:
        raise TypeError(what)


def encode(dtype, value):
    """A library's value as JSON; raises TypeError on an unexpected type."""
    if dtype == "i64":
        _check(type(value) is int, f"i64 gave {type(value).__name__}")
        return value
    if dtype == "f64":
        _check(type(value) is float, f"f64 gave {type(value).__name__}")
        return {"f64": value.hex()}
    if dtype == "bytes" or dtype.startswith("bytes:"):
        _check(type(value) is bytes, f"{dtype} gave {type(value).__name__}")
        return {"b64": base64.b64encode(value).decode()}
    if dtype.startswith("str:"):
        _check(type(value) is str, f"{dtype} gave {type(value).__name__}")
        return value
    if dtype.startswith("vec:"):
        arr = np.asarray(value)
        if isinstance(value, np.ndarray):
            _check(value.dtype == np.float32, f"{dtype} gave dtype {value.dtype}")
        return {"f32": [float(x).hex() for x in arr.astype(np.float32).ravel()],
                "type": type(value).__name__, "shape": list(arr.shape)}
    if dtype == "msgpack":
        return _enc_any(value)
    raise ValueError(dtype)


def _enc_any(v):
    # Tagged so that int/float/bool/None/str/bytes/list/dict survive JSON exactly.
    if v is None or type(v) in (bool, int, str):
        return v
    if type(v) is float:
        return {"f64": v.hex()}
    if type(v) is bytes:
        return {"b64": base64.b64encode(v).decode()}
    if type(v) in (list, tuple):
        return {"list": [_enc_any(x) for x in v], "tuple": type(v) is tuple}
    if type(v) is dict:
        return {"dict": [[_enc_any(k), _enc_any(x)] for k, x in v.items()]}
    raise TypeError(f"cannot encode {type(v).__name__}")


def _dec_any(j):
    if not isinstance(j, dict):
        return j
    if "f64" in j:
        return float.fromhex(j["f64"])
    if "b64" in j:
        return base64.b64decode(j["b64"])
    if "list" in j:
        items = [_dec_any(x) for x in j["list"]]
        return tuple(items) if j["tuple"] else items
    if "dict" in j:
        return {_dec_any(k): _dec_any(x) for k, x in j["dict"]}
    raise ValueError(j)


def decode(dtype, j):
    if dtype.startswith("vec:"):
        arr = np.array([float.fromhex(x) for x in j["f32"]], dtype=np.float32)
        arr = arr.reshape(j["shape"])
        return arr if j["type"] == "ndarray" else (j["type"], arr)
    if dtype in ("i64",) or dtype.startswith("str:"):
        return j
    return _dec_any(j)


def _apply(lib, cv, cols, dtypes, op):
    kind, name = op["op"], op.get("col")
    if kind == "vcache_on":
        cv.enable_cache(cap_bytes=op["cap"], flush_threshold=op["threshold"])
        return
    if kind == "vcache_off":
        cv.disable_cache()
        return
    dtype = dtypes[name]
    if kind == "create":
        cols[name] = cv.create_column(name, dtype)
        return
    col = cols.get(name)
    if col is None:
        col = cols[name] = cv[name]
    dec = lambda j: decode(dtype, j)
    if kind == "append":
        col.append(dec(op["v"]))
    elif kind == "extend":
        col.extend([dec(j) for j in op["vs"]])
    elif kind == "set":
        col[op["i"]] = dec(op["v"])
    elif kind == "setslice":
        col[op["start"]:op["stop"]] = [dec(j) for j in op["vs"]]
    elif kind == "del":
        del col[op["i"]]
    elif kind == "insert":
        col.insert(op["i"], dec(op["v"]))
    elif kind == "clear":
        col.clear()
    elif kind == "cache_on":
        col.enable_cache(cap_bytes=op["cap"], flush_threshold=op["threshold"])
    elif kind == "cache_off":
        col.disable_cache()
    else:
        raise ValueError(kind)


def run(lib, path, script):
    """Runs script["ops"] on the file, then reads script["read"] columns back.
    Errors are recorded per column (later ops on that column are skipped)."""
    result = {"version": getattr(lib, "__version__", None), "file": lib.__file__,
              "errors": {}, "columns": {}}
    errors = result["errors"]
    dtypes = script["dtypes"]
    cv = lib.ColumnVault(path, min_chunk_bytes=script["min_chunk"],
                         max_chunk_bytes=script["max_chunk"])
    cols = {}
    for op in script["ops"]:
        name = op.get("col", "*")
        if name in errors or "*" in errors:
            continue
        try:
            _apply(lib, cv, cols, dtypes, op)
        except Exception:
            errors[name] = f"during {op['op']}: " + traceback.format_exc()
    if script["read"]:
        # A fresh handle, so nothing is served from the writer's state.
        cv2 = lib.ColumnVault(path)
        result["list_columns"] = [list(t) for t in cv2.list_columns()]
        for name in script["read"]:
            dtype = dtypes[name]
            try:
                col = cv2[name]
                n = len(col)
                result["columns"][name] = {
                    "len": n,
                    "items": [encode(dtype, col[i]) for i in range(n)],
                    "neg": [encode(dtype, col[-i]) for i in range(1, min(n, 3) + 1)],
                    "slice": [encode(dtype, v) for v in col[:]],
                    "iter": [encode(dtype, v) for v in col],
                }
            except Exception:
                errors.setdefault(name, "during read: " + traceback.format_exc())
        if hasattr(cv2, "close"):
            cv2.close()
    if hasattr(cv, "close"):
        cv.close()
    else:  # kohakuvault 0.9 has no close(); make the WAL durable in the file.
        cv.checkpoint()
    return result


if __name__ == "__main__":
    import kohakuvault
    want = sys.argv[4]
    if kohakuvault.__version__ != want or not kohakuvault.__file__.startswith(sys.argv[5]):
        raise SystemExit(f"wrong kohakuvault: {kohakuvault.__version__} at {kohakuvault.__file__}")
    with open(sys.argv[2]) as f:
        script = json.load(f)
    out = run(kohakuvault, sys.argv[1], script)
    with open(sys.argv[3], "w") as f:
        json.dump(out, f)
'''

_driver = {"__name__": "column_driver"}
exec(compile(_DRIVER, "<column driver>", "exec"), _driver)
encode, decode, run_driver = _driver["encode"], _driver["decode"], _driver["run"]

LEGACY_VERSION = "0.9.0"

# column name -> dtype; every scenario runs all of them in one file.
DTYPES = {
    "ints": "i64",
    "floats": "f64",
    "fixbytes": "bytes:16",
    "varbytes": "bytes",
    "text": "str:utf8",
    "fixtext": "str:32:utf8",
    "packed": "msgpack",
    "vectors": "vec:f32:4",
}
NAMES = list(DTYPES)
SMALL = {"min_chunk": 64, "max_chunk": 256}  # 12-byte index entries: 252-byte stride
# For files that kohakuvault 0.9.0 later slice-updates: its update_varsize_slice
# addresses the _idx column at the data column's stride (panics with 256, as
# the index stride is 252), so the data stride there must be a multiple of 12.
# 240 still leaves str:32 (224) and vec:f32:4 (238) with their own strides.
KV_SMALL = {"min_chunk": 64, "max_chunk": 240}
CAP, THRESHOLD = 1 << 20, 150  # small threshold: caches flush on their own too

_WORDS = ["héllo", "wörld", "琥珀", "🦀", "naïve", "Ωμέγα", "plain", "ß"]


def value(dtype, k):
    """Deterministic distinct value number k for dtype. Keys >= 1000 give
    bigger var-size values (updates that grow elements); keys ending in 99
    give var-size elements larger than max_chunk_bytes (256)."""
    big = k >= 1000
    huge = k % 100 == 99
    if dtype == "i64":
        if k % 37 == 36:
            return (1 << 63) - 1 if k % 2 == 0 else -(1 << 63)
        return (k * 0x9E3779B97F4A7C15) % (1 << 64) - (1 << 63)
    if dtype == "f64":
        if k % 29 == 28:
            return math.inf if k % 2 == 0 else -math.inf
        return -0.0 if k % 23 == 5 else (-1) ** k * (k * 1.5 + k / 1024)
    if dtype == "bytes:16":
        # Some are shorter: both libraries pad them with zero bytes.
        return hashlib.blake2b(b"%d" % k, digest_size=16 if k % 10 != 7 else k % 15 + 1).digest()
    if dtype == "bytes":
        if k % 13 == 0:
            return b""
        n = (k * 7) % 40 + (300 if huge else 0) + (30 if big else 0)
        return (hashlib.sha512(b"%d" % k).digest() * 8)[:n]
    if dtype == "str:utf8":
        if k % 11 == 0:
            return ""
        words = [_WORDS[(k + j) % len(_WORDS)] for j in range(k % 6 + (4 if big else 1))]
        text = f"{k}:" + " ".join(words)
        return text * 12 if huge else text
    if dtype == "str:32:utf8":
        return f"{_WORDS[k % len(_WORDS)]}-{k}-é"  # at most 32 UTF-8 bytes
    if dtype == "msgpack":
        if k % 9 == 4:
            return [k, f"só {k}", None, True, k * 0.25]  # not only dicts
        obj = {"id": k, "name": f"name-{k}-ü", "ok": k % 2 == 0,
               "tags": [k, -k, k * 0.5, None], "nested": {"x": "z" * (k % 7)}}
        if big:
            obj["pad"] = "p" * 30
        if huge:
            obj["blob"] = "b" * 400
        return obj
    if dtype == "vec:f32:4":
        return np.array([k, k + 0.5, -k / 4, k * 2.0**-10], dtype=np.float32)
    raise ValueError(dtype)


def no_grow(dtype, old, k):
    """Value k for dtype, made no bigger than `old` for var-size dtypes."""
    if dtype == "bytes":
        return hashlib.sha256(b"%d" % k).digest()[: len(old) // 2 + len(old) % 2]
    if dtype == "str:utf8":
        for text in (f"ü{k}·{old[:3]}", f"ü{k}", f"{k}", ""):
            if len(text.encode()) <= len(old.encode()):
                return text
    if dtype == "msgpack":
        return {"k": k % 100}  # 4 bytes packed; every other value is bigger
    return value(dtype, k)


def expected_value(dtype, v):
    if dtype == "bytes:16":
        return v.ljust(16, b"\0")
    if dtype == "vec:f32:4":
        return np.asarray(v, dtype=np.float32)
    return v


def same(a, b):
    """Exact equality: types, float bits (sign of zero), float32 arrays;
    dict key order is ignored (kohakuvault's msgpack packer sorts keys)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype == np.float32 and a.shape == b.shape
                and np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    return a == b


class Ops:
    """Builds a script and replays it on a Python-list model."""

    def __init__(self, model=None):
        self.ops = []
        self.model = model if model is not None else {}
        self.dtypes = {}

    def _add(self, op):
        self.ops.append(op)
        name = op.get("col")
        m = self.model.get(name)
        kind = op["op"]
        if kind == "create":
            assert name not in self.model
            self.model[name] = []
        elif kind == "append":
            m.append(op["v"])
        elif kind == "extend":
            m.extend(op["vs"])
        elif kind == "set":
            m[op["i"]] = op["v"]
        elif kind == "setslice":
            assert len(m[op["start"]:op["stop"]]) == len(op["vs"])
            m[op["start"]:op["stop"]] = op["vs"]
        elif kind == "del":
            del m[op["i"]]
        elif kind == "insert":
            m.insert(op["i"], op["v"])
        elif kind == "clear":
            m.clear()

    def create(self, name, dtype):
        self.dtypes[name] = dtype
        self._add({"op": "create", "col": name})

    def append(self, name, k):
        self._add({"op": "append", "col": name, "v": value(self.dtypes[name], k)})

    def extend(self, name, ks):
        self._add({"op": "extend", "col": name, "vs": [value(self.dtypes[name], k) for k in ks]})

    def set(self, name, i, k):
        self._add({"op": "set", "col": name, "i": i, "v": value(self.dtypes[name], k)})

    def setslice(self, name, start, stop, ks):
        vs = [value(self.dtypes[name], k) for k in ks]
        self._add({"op": "setslice", "col": name, "start": start, "stop": stop, "vs": vs})

    # kohakuvault 0.9.0 often fails to grow var-size elements in place with
    # small chunks ("Blob size is insufficient", "would create chunk larger
    # than 2x max"), so its scripts update var-size elements with values no
    # bigger than the old ones (its direct-replace path, which leaves holes).
    def set_no_grow(self, name, i, k):
        v = no_grow(self.dtypes[name], self.model[name][i], k)
        self._add({"op": "set", "col": name, "i": i, "v": v})

    def setslice_no_grow(self, name, start, stop, ks):
        dtype, old = self.dtypes[name], self.model[name][start:stop]
        vs = [no_grow(dtype, o, k) for o, k in zip(old, ks)]
        self._add({"op": "setslice", "col": name, "start": start, "stop": stop, "vs": vs})

    def delete(self, name, i):
        self._add({"op": "del", "col": name, "i": i})

    def insert(self, name, i, k):
        self._add({"op": "insert", "col": name, "i": i, "v": value(self.dtypes[name], k)})

    def clear(self, name):
        self._add({"op": "clear", "col": name})

    def cache_on(self, name):
        self._add({"op": "cache_on", "col": name, "cap": CAP, "threshold": THRESHOLD})

    def cache_off(self, name):
        self._add({"op": "cache_off", "col": name})

    def vcache_on(self):
        self._add({"op": "vcache_on", "cap": CAP, "threshold": THRESHOLD})

    def vcache_off(self):
        self._add({"op": "vcache_off"})

    def script(self, chunks, read=()):
        def enc_op(op):
            out = dict(op)
            dtype = self.dtypes.get(op.get("col"))
            if "v" in op:
                out["v"] = encode(dtype, op["v"])
            if "vs" in op:
                out["vs"] = [encode(dtype, v) for v in op["vs"]]
            return out

        return {**chunks, "dtypes": dict(self.dtypes), "read": list(read),
                "ops": [enc_op(op) for op in self.ops]}


def continue_ops(previous):
    """New Ops on the same model (and dtypes) as `previous`."""
    ops = Ops(previous.model)
    ops.dtypes = previous.dtypes
    return ops


def run_kohaku(folder, path, script, tmp_path, tag):
    """Runs the driver with kohakuvault 0.9.0 in a child process."""
    script_file = tmp_path / f"{tag}-script.json"
    out_file = tmp_path / f"{tag}-result.json"
    script_file.write_text(json.dumps(script))
    env = subprocess_env()
    env["PYTHONPATH"] = folder + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(path), str(script_file), str(out_file),
         LEGACY_VERSION, folder],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out_file.read_text())


def run_amber(path, script):
    """Runs the driver with ambervault in this process; script and result
    go through JSON, as they do for the child."""
    return json.loads(json.dumps(run_driver(ambervault, str(path), json.loads(json.dumps(script)))))


_INTEGRITY = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("PRAGMA integrity_check").fetchall())
print(con.execute("SELECT value FROM kohakuvault_meta WHERE key = 'schema_version'").fetchall())
con.close()
"""


def integrity(path):
    proc = run_python(_INTEGRITY, path)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def check_column(result, name, dtype, want, reader):
    """Every read of column `name` in a driver result equals the model."""
    assert name not in result["errors"], f"{reader}: {result['errors'][name]}"
    got = result["columns"][name]
    want = [expected_value(dtype, v) for v in want]
    assert got["len"] == len(want), f"{reader}: len {got['len']} != {len(want)}"
    for how in ("items", "slice", "iter"):
        values = [decode(dtype, j) for j in got[how]]
        assert len(values) == len(want), f"{reader} {how}: {len(values)} values"
        for i, (g, w) in enumerate(zip(values, want)):
            assert same(g, w), f"{reader} {how}[{i}]: got {g!r}, want {w!r}"
    negs = [decode(dtype, j) for j in got["neg"]]
    for i, g in enumerate(negs, 1):
        assert same(g, want[-i]), f"{reader} [-{i}]: got {g!r}, want {want[-i]!r}"


def check_errors_free(result, reader):
    assert "*" not in result["errors"], f"{reader}: {result['errors']['*']}"


def kohaku_list_entries(model, dtypes):
    """What kohakuvault 0.9.0's list_columns shows: var-size columns as their
    _data (dtype) and _idx ('adaptive_idx', length) halves; the _data
    length is not compared."""
    entries = {}
    for name, values in model.items():
        dtype = dtypes[name]
        if dtype in ("bytes", "str:utf8", "msgpack"):
            entries[name + "_data"] = (dtype, None)
            entries[name + "_idx"] = ("adaptive_idx", len(values))
        else:
            entries[name] = (dtype, len(values))
    return entries


def assert_kohaku_list(result, model, dtypes):
    got = {n: (d, length) for n, d, length in result["list_columns"]}
    want = kohaku_list_entries(model, dtypes)
    assert set(got) == set(want)
    for name, (dtype, length) in want.items():
        assert got[name][0] == dtype, name
        if length is not None:
            assert got[name][1] == length, name


def assert_amber_list(result, model, dtypes):
    got = sorted(tuple(t) for t in result["list_columns"])
    want = sorted((n, dtypes[n], len(v)) for n, v in model.items())
    assert got == want


# ---------------------------------------------------------------- scenarios


def _kohaku_write_ops():
    """(1) kohakuvault 0.9.0 writes: append, extend, with and without column
    and vault caches, item and slice updates (var-size ones shrinking), a
    chunk-sized element, deletes at the front, middle and end, clear."""
    ops = Ops()
    for name, dtype in DTYPES.items():
        ops.create(name, dtype)
        ops.extend(name, range(0, 25))
        for k in range(25, 35):
            ops.append(name, k)
        # Bigger than a chunk. kohakuvault 0.9.0 stores such elements only
        # with an uncached append (its extend and cache flush fail on them).
        ops.append(name, 99)
        ops.cache_on(name)
        for k in range(35, 50):
            ops.append(name, k)
        ops.extend(name, range(50, 60))
        ops.cache_off(name)
    ops.vcache_on()
    for name in NAMES:
        for k in range(60, 65):
            ops.append(name, k)
        ops.extend(name, range(65, 70))
    ops.vcache_off()
    for name in NAMES:
        ops.set_no_grow(name, 0, 1000)
        ops.set_no_grow(name, 17, 1001)
        ops.set_no_grow(name, -1, 1002)
        ops.set_no_grow(name, 40, 1003)
        ops.setslice_no_grow(name, 5, 9, range(1004, 1008))
        ops.setslice_no_grow(name, 20, 23, range(1008, 1011))
        ops.extend(name, range(70, 73))
        ops.append(name, 73)
        # Deletes come last: kohakuvault 0.9.0 fails ("Blob size is
        # insufficient") to extend str:32 and vec:f32:4 columns after two.
        ops.delete(name, 30)
        ops.delete(name, 0)
        ops.delete(name, -1)
        ops.delete(name, 3)
        # kohakuvault 0.9.0 also fails ("Blob size is insufficient") to
        # append after clearing a column that spanned several chunks.
        cleared = name + "_c"
        ops.create(cleared, DTYPES[name])
        ops.extend(cleared, range(200, 203))
        ops.clear(cleared)
        ops.extend(cleared, range(230, 236))
        ops.append(cleared, 236)
    return ops


def _amber_write_ops():
    """(2) ambervault writes the same, plus insert (also var-size), updates
    that grow var-size elements, chunk-sized elements through extend and the
    cache, and clear-then-append on a column that spanned several chunks."""
    ops = Ops()
    for name, dtype in DTYPES.items():
        ops.create(name, dtype)
        ops.extend(name, range(0, 25))
        for k in range(25, 35):
            ops.append(name, k)
        ops.extend(name, range(95, 100))  # 99: bigger than a chunk
        ops.cache_on(name)
        for k in range(35, 50):
            ops.append(name, k)
        ops.append(name, 199)  # bigger than a chunk, through the cache
        ops.extend(name, range(50, 60))
        ops.cache_off(name)
    ops.vcache_on()
    for name in NAMES:
        for k in range(60, 65):
            ops.append(name, k)
        ops.extend(name, range(65, 70))
    ops.vcache_off()
    for name in NAMES:
        ops.set(name, 0, 1000)  # grows var-size elements (keys >= 1000)
        ops.set(name, 17, 1001)
        ops.set(name, -1, 1002)
        ops.set_no_grow(name, 40, 1003)
        ops.setslice(name, 5, 9, range(1004, 1008))
        ops.setslice_no_grow(name, 20, 23, range(1008, 1011))
        ops.setslice(name, 50, 62, range(1010, 1022))  # spans chunks
        ops.set(name, 30, 299)  # becomes bigger than a chunk
        ops.insert(name, 0, 1020)
        ops.insert(name, 31, 1021)
        ops.insert(name, -2, 1022)
        ops.insert(name, 10_000, 1023)  # past the end: appends
        ops.delete(name, 30)
        ops.delete(name, 0)
        ops.delete(name, -1)
        ops.delete(name, 3)
        ops.extend(name, range(70, 73))
        ops.append(name, 73)
        cleared = name + "_c"
        ops.create(cleared, DTYPES[name])
        ops.extend(cleared, range(200, 230))
        ops.set(cleared, 4, 1200)
        ops.clear(cleared)
        ops.extend(cleared, range(230, 236))
        ops.append(cleared, 236)
        ops.insert(cleared, 1, 1237)
    return ops


def _all_names(ops):
    return list(ops.model)


@pytest.fixture(scope="module")
def legacy(legacy_kohakuvault):
    return legacy_kohakuvault


@pytest.fixture(scope="module")
def kohaku_written(legacy, tmp_path_factory):
    """(1) kohakuvault 0.9.0 writes; it and then ambervault read back."""
    tmp = tmp_path_factory.mktemp("kohaku_written")
    path = tmp / "columns.db"
    ops = _kohaku_write_ops()
    names = _all_names(ops)
    kohaku = run_kohaku(legacy, path, ops.script(KV_SMALL, read=names), tmp, "write")
    amber = run_amber(path, Ops().script(SMALL, read=names) | {"dtypes": ops.dtypes})
    return {"ops": ops, "kohaku": kohaku, "amber": amber, "path": path}


@pytest.fixture(scope="module")
def amber_written(legacy, tmp_path_factory):
    """(2) ambervault writes; it and then kohakuvault 0.9.0 read back."""
    tmp = tmp_path_factory.mktemp("amber_written")
    path = tmp / "columns.db"
    ops = _amber_write_ops()
    names = _all_names(ops)
    amber = run_amber(path, ops.script(SMALL, read=names))
    check = integrity(path)
    kohaku = run_kohaku(legacy, path, Ops().script(SMALL, read=names) | {"dtypes": ops.dtypes},
                        tmp, "read")
    return {"ops": ops, "kohaku": kohaku, "amber": amber, "integrity": check}


@pytest.fixture(scope="module")
def kohaku_then_amber(legacy, tmp_path_factory):
    """(3a) kohakuvault writes, ambervault continues (with other default
    chunk sizes and a new column), kohakuvault appends once more; both
    read back."""
    tmp = tmp_path_factory.mktemp("kohaku_then_amber")
    path = tmp / "columns.db"
    first = Ops()
    for name, dtype in DTYPES.items():
        first.create(name, dtype)
        first.extend(name, range(0, 20))
        first.append(name, 20)
        first.set_no_grow(name, 2, 21)
    step1 = run_kohaku(legacy, path, first.script(KV_SMALL), tmp, "step1")

    second = continue_ops(first)
    for name, dtype in DTYPES.items():
        second.append(name, 30)
        second.cache_on(name)
        second.extend(name, range(31, 50))
        second.append(name, 50)
        second.cache_off(name)
        second.set(name, 1, 1051)
        second.setslice(name, 10, 13, range(1052, 1055))
        second.delete(name, 4)
        second.insert(name, 3, 1056)
        second.extend(name, [298, 299])
        second.create(name + "_new", dtype)
        second.extend(name + "_new", range(300, 320))
    step2 = run_amber(path, second.script({"min_chunk": 32, "max_chunk": 512}))
    check = integrity(path)

    third = continue_ops(second)
    for name in NAMES:
        third.append(name, 60)
        third.extend(name, range(61, 70))
        third.append(name, 399)
        third.append(name + "_new", 320)
        third.cache_on(name + "_new")
        third.extend(name + "_new", range(321, 330))
        third.cache_off(name + "_new")
    names = _all_names(third)
    kohaku = run_kohaku(legacy, path, third.script(SMALL, read=names), tmp, "step3")
    amber = run_amber(path, Ops().script(SMALL, read=names) | {"dtypes": third.dtypes})
    return {"ops": third, "steps": [step1, step2], "kohaku": kohaku, "amber": amber,
            "integrity": check}


@pytest.fixture(scope="module")
def amber_then_kohaku(legacy, tmp_path_factory):
    """(3b) ambervault writes, kohakuvault continues (with other default
    chunk sizes and a new column), ambervault appends once more; both read
    back."""
    tmp = tmp_path_factory.mktemp("amber_then_kohaku")
    path = tmp / "columns.db"
    first = Ops()
    for name, dtype in DTYPES.items():
        first.create(name, dtype)
        first.extend(name, range(0, 20))
        first.append(name, 20)
        first.insert(name, 5, 21)
        first.extend(name, [98, 99])
        first.delete(name, 7)
        first.set(name, 2, 1022)
    step1 = run_amber(path, first.script(KV_SMALL))

    second = continue_ops(first)
    for name, dtype in DTYPES.items():
        second.append(name, 30)
        second.cache_on(name)
        second.extend(name, range(31, 50))
        second.append(name, 50)
        second.cache_off(name)
        second.set_no_grow(name, 1, 1051)
        second.setslice_no_grow(name, 10, 13, range(1052, 1055))
        second.delete(name, 4)
        second.append(name, 199)
        second.create(name + "_new", dtype)
        second.extend(name + "_new", range(300, 320))
    step2 = run_kohaku(legacy, path, second.script({"min_chunk": 32, "max_chunk": 512}),
                       tmp, "step2")

    third = continue_ops(second)
    for name in NAMES:
        third.append(name, 60)
        third.extend(name, range(61, 70))
        third.set(name, 0, 1070)
        third.append(name + "_new", 320)
        third.cache_on(name + "_new")
        third.extend(name + "_new", range(321, 330))
        third.append(name + "_new", 399)
        third.cache_off(name + "_new")
        third.insert(name + "_new", 2, 1331)
    names = _all_names(third)
    amber = run_amber(path, third.script(SMALL, read=names))
    check = integrity(path)
    kohaku = run_kohaku(legacy, path, Ops().script(SMALL, read=names) | {"dtypes": third.dtypes},
                        tmp, "read")
    return {"ops": third, "steps": [step1, step2], "kohaku": kohaku, "amber": amber,
            "integrity": check}


ids = [DTYPES[n] for n in NAMES]
by_dtype = pytest.mark.parametrize("name", NAMES, ids=ids)


# ------------------------------------------------ (1) kohakuvault writes


def test_legacy_kohakuvault_is_0_9_0(kohaku_written):
    assert kohaku_written["kohaku"]["version"] == LEGACY_VERSION


@by_dtype
def test_kohaku_written_reads_in_kohaku(kohaku_written, name):
    # Sanity check of the model against kohakuvault itself.
    res, ops = kohaku_written["kohaku"], kohaku_written["ops"]
    check_errors_free(res, "kohakuvault")
    for col in (name, name + "_c"):
        check_column(res, col, DTYPES[name], ops.model[col], "kohakuvault")


@by_dtype
def test_kohaku_written_reads_in_ambervault(kohaku_written, name):
    res, ops = kohaku_written["amber"], kohaku_written["ops"]
    check_errors_free(res, "ambervault")
    for col in (name, name + "_c"):
        check_column(res, col, DTYPES[name], ops.model[col], "ambervault")


def test_kohaku_written_list_columns(kohaku_written):
    ops = kohaku_written["ops"]
    assert_kohaku_list(kohaku_written["kohaku"], ops.model, ops.dtypes)
    assert_amber_list(kohaku_written["amber"], ops.model, ops.dtypes)


# ------------------------------------------------- (2) ambervault writes


def test_amber_written_integrity(amber_written):
    assert amber_written["integrity"] == ["[('ok',)]", "[('2',)]"]


@by_dtype
def test_amber_written_reads_in_ambervault(amber_written, name):
    res, ops = amber_written["amber"], amber_written["ops"]
    check_errors_free(res, "ambervault")
    for col in (name, name + "_c"):
        check_column(res, col, DTYPES[name], ops.model[col], "ambervault")


@by_dtype
def test_amber_written_reads_in_kohaku(amber_written, name):
    res, ops = amber_written["kohaku"], amber_written["ops"]
    assert res["version"] == LEGACY_VERSION
    check_errors_free(res, "kohakuvault")
    for col in (name, name + "_c"):
        check_column(res, col, DTYPES[name], ops.model[col], "kohakuvault")


def test_amber_written_list_columns(amber_written):
    ops = amber_written["ops"]
    assert_kohaku_list(amber_written["kohaku"], ops.model, ops.dtypes)
    assert_amber_list(amber_written["amber"], ops.model, ops.dtypes)


# -------------------------------------------------------------- (3) mixed


@pytest.mark.parametrize("scenario", ["kohaku_then_amber", "amber_then_kohaku"])
def test_mixed_steps_ran_and_file_is_sound(request, scenario):
    data = request.getfixturevalue(scenario)
    for step in data["steps"]:
        assert step["errors"] == {}, step["errors"]
    assert data["integrity"] == ["[('ok',)]", "[('2',)]"]


@pytest.mark.parametrize("scenario", ["kohaku_then_amber", "amber_then_kohaku"])
@by_dtype
def test_mixed_both_read_the_same(request, scenario, name):
    data = request.getfixturevalue(scenario)
    ops = data["ops"]
    # Per-step errors for this column are reported first: they explain the rest.
    for i, step in enumerate(data["steps"], 1):
        for col in (name, name + "_new"):
            assert col not in step["errors"], f"step {i}: {step['errors'][col]}"
    for reader in ("kohaku", "amber"):
        check_errors_free(data[reader], reader)
        for col in (name, name + "_new"):
            check_column(data[reader], col, DTYPES[name], ops.model[col], reader)


@pytest.mark.parametrize("scenario", ["kohaku_then_amber", "amber_then_kohaku"])
def test_mixed_list_columns(request, scenario):
    data = request.getfixturevalue(scenario)
    ops = data["ops"]
    assert_kohaku_list(data["kohaku"], ops.model, ops.dtypes)
    assert_amber_list(data["amber"], ops.model, ops.dtypes)


_KOHAKU_RECREATE = r"""
import sys
sys.path.insert(0, sys.argv[2])
from kohakuvault import ColumnVault
cv = ColumnVault(sys.argv[1])
cv.delete_column("f")
cv.create_column("v", "bytes").append(b"kohaku")
print(dict((n, d) for n, d, _ in cv.list_columns()))
"""


def test_handle_of_a_column_kohakuvault_replaced_raises_notfound(legacy, tmp_path):
    # kohakuvault 0.9.0 reuses col_ids: after it deletes "f" (the newest
    # column), its new "v" gets f's col_id. A stale "f" handle must raise,
    # not read or append through f's fixed-size layout into "v".
    path = tmp_path / "replaced.db"
    with ambervault.ColumnVault(path) as cv:
        f = cv.create_column("f", "i64")
        f.extend([1, 2, 3])
        proc = run_python(_KOHAKU_RECREATE, path, legacy)
        assert proc.returncode == 0, proc.stderr
        v = cv["v"]
        assert v[:] == [b"kohaku"]
        for op in (lambda: len(f), lambda: f[:], lambda: f.append(9)):
            with pytest.raises(ambervault.NotFound):
                op()
        v.append(b"amber")
    with ambervault.ColumnVault(path) as cv:
        assert cv["v"][:] == [b"kohaku", b"amber"]
        assert "f" not in cv
