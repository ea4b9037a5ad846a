"""Behaviour tests for ambervault.ColumnVault, Column and VarSizeColumn.

Covers the Python API (vault methods, the MutableSequence protocol against a
plain-list oracle, to_numpy), one regression test per defect of KohakuVault's
ColumnVault that AmberVault fixes (/work/shared/research/kohakuvault.md
sections 2.4-2.6 and 7.1: items 7-13, 16, 22, the API mismatches), and
threads/processes sharing one file.

Most tests use tiny chunks (min_chunk_bytes=64, max_chunk_bytes=256) so a few
dozen elements already span several chunks. Other connections that inspect
the raw tables run Python's sqlite3 in a subprocess (see conftest.py: two
SQLite copies in one process do not share POSIX locks).
"""

import collections
import json
import os
import pathlib
import random
import subprocess
import sys
import threading
import time
from collections.abc import MutableSequence, Sequence

import numpy as np
import pytest

import ambervault
from ambervault import (
    ClosedError,
    Column,
    ColumnVault,
    DatabaseBusy,
    InvalidArgument,
    InvalidTypeError,
    KohakuVaultError,
    KVault,
    NotFound,
    OutOfRangeError,
    VarSizeColumn,
)

from conftest import run_python, strict_same, subprocess_env, wait_until

SMALL = dict(min_chunk_bytes=64, max_chunk_bytes=256)


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "cols.db")


@pytest.fixture
def open_cv(db_path):
    """Factory: open_cv(path=db_path, **options) -> ColumnVault (small chunks
    unless given), closed at teardown."""
    opened = []

    def make(path=None, **options):
        for k, v in SMALL.items():
            options.setdefault(k, v)
        vault = ColumnVault(db_path if path is None else path, **options)
        opened.append(vault)
        return vault

    yield make
    for vault in reversed(opened):
        try:
            vault.close()
        except Exception:  # teardown only; the test already reported
            pass


@pytest.fixture
def cv(open_cv):
    return open_cv()


_INSPECT = r"""
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=30)
meta = con.execute(
    "SELECT col_id, name, dtype, elem_size, length FROM col_meta ORDER BY col_id").fetchall()
chunks = con.execute("SELECT col_id, COUNT(*) FROM col_chunks GROUP BY col_id").fetchall()
print(json.dumps({"meta": meta, "chunks": chunks}))
"""


def inspect_tables(path):
    """col_meta rows and chunk counts per col_id, read by Python's sqlite3 in
    another process: {"meta": [(id, name, dtype, elem_size, length)],
    "chunks": {col_id: count}}."""
    res = run_python(_INSPECT, path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    return {
        "meta": [tuple(r) for r in out["meta"]],
        "chunks": {cid: n for cid, n in out["chunks"]},
    }


def contents(path, name, **options):
    """Everything committed in column `name`, read through a fresh vault."""
    with ColumnVault(path, **options) as other:
        return other[name][:]


# ====================================================================== vault API


def test_open_with_kvault_shares_its_file(db_path):
    kv = KVault(db_path)
    try:
        kv["greeting"] = b"hello"
        cv = ColumnVault(kv, **SMALL)
        assert cv.path == db_path
        col = cv.create_column("nums", "i64")
        col.extend(range(50))
        kv["after"] = b"columns"  # both connections keep working side by side
        col.append(50)
        assert kv["greeting"] == b"hello"
        cv.close()
    finally:
        kv.close()
    with ColumnVault(db_path) as again:
        assert again["nums"][:] == list(range(51))
        assert again.list_columns() == [("nums", "i64", 51)]
    with KVault(db_path) as kv2:
        assert kv2["greeting"] == b"hello"
        assert kv2["after"] == b"columns"


@pytest.mark.parametrize("kind", ["str", "pathlib"])
def test_open_with_str_and_pathlib(tmp_path, kind):
    p = tmp_path / "p.db"
    arg = str(p) if kind == "str" else p  # KohakuVault: Path -> AttributeError
    with ColumnVault(arg) as cv:
        assert cv.path == str(p)
        cv.create_column("x", "f64").append(1.5)
    with ColumnVault(pathlib.Path(p)) as cv:
        assert cv["x"][:] == [1.5]


def test_open_with_bad_argument_type():
    with pytest.raises(TypeError) as info:
        ColumnVault(12345)
    assert isinstance(info.value, KohakuVaultError)


def test_bad_chunk_sizes(db_path):
    with pytest.raises(InvalidArgument):
        ColumnVault(db_path, min_chunk_bytes=256, max_chunk_bytes=64)
    with pytest.raises(InvalidArgument):
        ColumnVault(db_path, min_chunk_bytes=0, max_chunk_bytes=64)


def test_memory_vault_is_private():
    with ColumnVault(":memory:") as a, ColumnVault(":memory:") as b:
        a.create_column("x", "i64").append(1)
        assert "x" in a
        assert "x" not in b
        assert b.list_columns() == []


def test_create_column_types_and_properties(cv):
    fixed = cv.create_column("f", "i64")
    var = cv.create_column("v", "str:utf8")
    vec = cv.create_column("e", "vec:f32:3")
    assert type(fixed) is Column
    assert type(var) is VarSizeColumn
    assert type(vec) is Column
    for col in (fixed, var, vec):
        assert isinstance(col, MutableSequence)
        assert isinstance(col, Sequence)
        assert isinstance(col, Column)
        assert len(col) == 0
    assert (fixed.name, fixed.dtype, fixed.elem_size, fixed.is_var_size) == ("f", "i64", 8, False)
    assert (var.name, var.dtype, var.elem_size, var.is_var_size) == ("v", "str:utf8", 0, True)
    assert vec.elem_size == 13  # 1-byte vec header + 3 * 4 bytes (KohakuVault's format)
    # accepted for KohakuVault compatibility and ignored
    cv.create_column("g", "f64", chunk_bytes=1024, use_rust_packer=False).append(2.0)
    assert cv["g"][:] == [2.0]


def test_create_duplicate_name_raises(cv):
    cv.create_column("a", "i64")
    cv.create_column("s", "bytes")
    for name, dtype in [("a", "i64"), ("a", "f64"), ("s", "bytes"), ("s", "i64"),
                        ("s_data", "i64"), ("s_idx", "bytes")]:
        with pytest.raises(InvalidArgument):
            cv.create_column(name, dtype)
    assert [c[0] for c in cv.list_columns()] == ["a", "s"]


@pytest.mark.parametrize("dtype", ["i64", "str:utf8"])
def test_ensure_returns_same_instance(cv, dtype):
    a = cv.ensure("c", dtype)
    b = cv.ensure("c", dtype)
    c = cv["c"]
    assert a is b is c
    assert cv.create_column("other", dtype) is cv["other"] is cv.ensure("other", dtype)
    a.append(a.dtype == "i64" and 7 or "seven")
    assert len(b) == 1


def test_ensure_with_other_dtype_raises(cv):
    col = cv.ensure("c", "i64")
    col.append(1)
    with pytest.raises(InvalidArgument) as info:  # KohakuVault returned the i64 column
        cv.ensure("c", "f64")
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidArgument):
        cv.ensure("c", "str:utf8")
    var = cv.ensure("v", "bytes")
    with pytest.raises(InvalidArgument):
        cv.ensure("v", "i64")
    assert cv.ensure("c", "I64") is col  # dtype strings are case-insensitive
    assert cv.ensure("v", "bytes") is var
    assert col[:] == [1]


def test_getitem_missing_raises_notfound(cv):
    with pytest.raises(NotFound) as info:
        cv["nope"]
    assert isinstance(info.value, KeyError)
    cv.create_column("v", "bytes")
    for name in ("V", "", "v_"):
        with pytest.raises(NotFound):
            cv[name]
    assert "v" in cv
    assert "nope" not in cv
    assert 3 not in cv


def test_internal_row_names_are_not_columns(cv):
    # A var-size column "v" is stored as rows "v_data" and "v_idx"; only the
    # logical name is a column. The file is healthy, so asking for an internal
    # name must not report corruption.
    cv.create_column("v", "bytes").append(b"a")
    for name in ("v_idx", "v_data"):
        with pytest.raises(NotFound):
            cv[name]
        assert name not in cv
        with pytest.raises(InvalidArgument):
            cv.ensure(name, "bytes")  # like create_column: the name is in use
    assert cv["v"][:] == [b"a"]


def test_list_columns_logical_names(cv):
    cv.create_column("a", "i64").extend([1, 2, 3])
    cv.create_column("texts", "str:utf8").extend(["x", "yy"])
    cv.create_column("blobs", "bytes")
    cv.create_column("emb", "vec:f32:2").append([1.0, 2.0])
    cv.create_column("m", "msgpack").extend([{"a": 1}] * 5)
    assert cv.list_columns() == [
        ("a", "i64", 3),
        ("texts", "str:utf8", 2),
        ("blobs", "bytes", 0),
        ("emb", "vec:f32:2", 1),
        ("m", "msgpack", 5),
    ]


def test_list_columns_counts_pending_cache(cv):
    a = cv.create_column("a", "i64")
    t = cv.create_column("t", "str:utf8")
    cv.enable_cache()
    a.extend([1, 2])
    t.append("x")
    assert cv.list_columns() == [("a", "i64", 2), ("t", "str:utf8", 1)]


def test_delete_column_fixed_and_var_size(cv, db_path):
    cv.create_column("keep", "i64").extend(range(100))
    cv.create_column("fixed", "i64").extend(range(200))  # several 256-byte chunks
    cv.create_column("var", "str:utf8").extend(["value %d" % i for i in range(200)])
    before = inspect_tables(db_path)
    ids = {name: cid for cid, name, *_ in before["meta"]}
    assert set(ids) == {"keep", "fixed", "var_data", "var_idx"}
    for name in ("fixed", "var_data", "var_idx"):
        assert before["chunks"][ids[name]] > 1

    assert cv.delete_column("var") is True  # KohakuVault: False for var-size
    assert cv.delete_column("fixed") is True
    assert cv.delete_column("fixed") is False
    assert cv.delete_column("never") is False
    with pytest.raises(NotFound):
        cv["var"]
    with pytest.raises(NotFound):
        cv["fixed"]
    assert cv.list_columns() == [("keep", "i64", 100)]

    after = inspect_tables(db_path)
    assert [r[1] for r in after["meta"]] == ["keep"]
    assert set(after["chunks"]) == {ids["keep"]}  # no orphaned chunk rows
    assert after["chunks"][ids["keep"]] == before["chunks"][ids["keep"]]

    # the names are free again, with any dtype
    cv.create_column("var", "i64").append(5)
    cv.create_column("fixed", "bytes").append(b"z")
    assert cv["var"][:] == [5] and cv["fixed"][:] == [b"z"]


def test_delete_column_discards_pending_cache(cv, db_path):
    col = cv.create_column("x", "i64")
    col.enable_cache()
    col.extend(range(10))
    assert cv.delete_column("x") is True
    cv.flush_cache()
    cv.create_column("x", "i64")
    assert cv["x"][:] == []
    assert contents(db_path, "x") == []


def test_handle_of_deleted_column_raises_notfound(cv):
    old = cv.create_column("a", "i64")
    old.extend([1, 2, 3])
    assert cv.delete_column("a")
    with pytest.raises(NotFound):
        len(old)
    with pytest.raises(NotFound):
        old.append(4)


def test_handle_of_deleted_column_does_not_reach_a_recreated_one(cv, db_path):
    # The old handle must not read or write the new column that took the name
    # (nor reinterpret its bytes with the old dtype).
    old = cv.create_column("a", "i64")
    old.extend([1, 2, 3])
    assert cv.delete_column("a")
    new = cv.create_column("a", "f64")
    new.append(0.5)
    with pytest.raises(NotFound):
        len(old)
    with pytest.raises(NotFound):
        old[:]
    with pytest.raises(NotFound):
        old.append(7)
    assert new[:] == [0.5]
    assert contents(db_path, "a") == [0.5]


def test_column_deleted_and_recreated_by_another_vault(open_cv, db_path):
    a = open_cv()
    b = open_cv()
    stale = a.create_column("x", "i64")
    stale.extend([1, 2])
    assert b.delete_column("x")
    b.create_column("x", "str:utf8").append("s")
    fresh = a["x"]  # lookups are fresh, like lengths
    assert isinstance(fresh, VarSizeColumn) and fresh.dtype == "str:utf8"
    assert fresh[:] == ["s"]
    assert a.list_columns() == [("x", "str:utf8", 1)]
    with pytest.raises(NotFound):
        stale.append(9)  # must not write i64 bytes into the str column
    assert contents(db_path, "x") == ["s"]


def test_read_only_vault(cv, db_path):
    cv.create_column("c", "i64").extend([1, 2])
    cv.create_column("s", "bytes").append(b"q")
    with ColumnVault(db_path, read_only=True) as ro:
        assert ro["c"][:] == [1, 2] and ro["s"][:] == [b"q"]
        assert ro.list_columns() == [("c", "i64", 2), ("s", "bytes", 1)]
        for fn in (lambda: ro["c"].append(3), lambda: ro["s"].append(b"z"),
                   lambda: ro.create_column("z", "i64"), lambda: ro["c"].__setitem__(0, 5)):
            with pytest.raises(ambervault.ReadOnlyError):
                fn()
        cv["c"].append(3)
        assert ro["c"][:] == [1, 2, 3]
    assert contents(db_path, "c") == [1, 2, 3]


def test_deleting_an_internal_row_name_is_refused(cv):
    cv.create_column("v", "bytes").append(b"a")
    assert cv.delete_column("v_idx") is False
    assert cv["v"][:] == [b"a"]


def test_checkpoint_flushes_cache(cv, db_path):
    col = cv.create_column("x", "i64")
    cv.enable_cache()
    col.extend(range(20))
    assert contents(db_path, "x") == []
    cv.checkpoint()
    assert contents(db_path, "x") == list(range(20))
    assert col[:] == list(range(20))


def test_close_flushes_and_is_idempotent(open_cv, db_path):
    cv = open_cv()
    col = cv.create_column("x", "str:utf8")
    cv.enable_cache()
    col.extend(["a", "b"])
    assert not cv.closed
    cv.close()
    assert cv.closed
    cv.close()
    assert contents(db_path, "x") == ["a", "b"]


def test_context_manager(db_path):
    with ColumnVault(db_path, **SMALL) as cv:
        assert isinstance(cv, ColumnVault)
        col = cv.create_column("x", "i64")
        col.enable_cache()
        col.append(1)
    assert cv.closed
    assert contents(db_path, "x") == [1]
    with pytest.raises(RuntimeError):
        with ColumnVault(db_path) as cv2:
            cv2["x"].append(2)
            raise RuntimeError("boom")
    assert cv2.closed
    assert contents(db_path, "x") == [1, 2]


def test_repr(cv, db_path):
    col = cv.create_column("loss", "f64")
    var = cv.create_column("names", "str:utf8")
    col.extend([1.0, 2.0])
    var.append("x")
    assert repr(col) == "Column(name='loss', dtype='f64', length=2)"
    assert repr(var) == "VarSizeColumn(name='names', dtype='str:utf8', length=1)"
    assert repr(cv) == f"ColumnVault({db_path!r}, 2 columns)"
    cv.close()
    assert repr(cv) == f"ColumnVault({db_path!r}, closed)"


@pytest.mark.parametrize("dtype", ["nope", "i65", "vec:f32:0", "bytes:-1", "", "str:utf9"])
def test_bad_dtype_raises_invalid_argument(cv, dtype):
    with pytest.raises(InvalidArgument):
        cv.create_column("x", dtype)
    with pytest.raises(InvalidArgument):
        cv.ensure("x", dtype)
    assert cv.list_columns() == []
    assert "x" not in cv


def test_closed_vault_raises_closed_error(open_cv):
    cv = open_cv()
    col = cv.create_column("x", "i64")
    var = cv.create_column("v", "str:utf8")
    col.extend([1, 2])
    var.extend(["a"])
    cv.close()
    ops = [
        lambda: len(col), lambda: col[0], lambda: col[0:1], lambda: list(col),
        lambda: col.append(3), lambda: col.extend([3]), lambda: col.__setitem__(0, 5),
        lambda: col.__delitem__(0), lambda: col.insert(0, 1), lambda: col.clear(),
        lambda: col.to_numpy(), lambda: col.flush_cache(), lambda: col.enable_cache(),
        lambda: len(var), lambda: var[0], lambda: var.append("b"), lambda: var.__setitem__(0, "z"),
        lambda: cv.create_column("y", "i64"), lambda: cv["x"], lambda: cv.ensure("x", "i64"),
        lambda: cv.list_columns(), lambda: cv.delete_column("x"), lambda: cv.flush_cache(),
        lambda: cv.checkpoint(), lambda: cv.enable_cache(),
    ]
    for i, op in enumerate(ops):
        with pytest.raises(ClosedError):
            op()
            pytest.fail(f"op {i} did not raise")


# ============================================== MutableSequence: single behaviours


@pytest.fixture(params=["i64", "str:utf8"])
def seq(request, cv):
    """A column of 10 elements and its list oracle, fixed and var-size."""
    dtype = request.param
    col = cv.create_column("c", dtype)
    values = list(range(10)) if dtype == "i64" else [f"s{i}" for i in range(10)]
    col.extend(values)
    return col, values


def test_getitem_index(seq):
    col, ref = seq
    for i in range(-10, 10):
        assert col[i] == ref[i]
    assert col[True] == ref[1]
    assert col[np.int64(3)] == ref[3]
    for i in (10, 11, -11, 2**70, -(2**70)):
        with pytest.raises(IndexError):
            col[i]
    for bad in (1.5, "a", None, b"0", [0], 1.0):
        with pytest.raises(TypeError):
            col[bad]


def test_getitem_slice(seq):
    col, ref = seq
    for a in (None, -12, -3, 0, 2, 9, 10, 15):
        for b in (None, -12, -1, 0, 3, 10, 20):
            assert col[a:b] == ref[a:b]
            assert type(col[a:b]) is list
    assert col[::1] == ref
    for step in (2, -1, 0, 3):
        with pytest.raises(ValueError):
            col[::step]


def test_setitem_index(seq):
    col, ref = seq
    new = (lambda i: 100 + i) if col.dtype == "i64" else (lambda i: "new" * i)
    for i in (0, 5, -1, -10):
        col[i] = new(i)
        ref[i] = new(i)
    assert col[:] == ref
    for i in (10, -11):
        with pytest.raises(IndexError):
            col[i] = new(0)
    with pytest.raises(TypeError):
        col[1.5] = new(0)
    assert col[:] == ref


def test_setitem_slice(seq):
    col, ref = seq
    new = (lambda i: 100 + i) if col.dtype == "i64" else (lambda i: "x" * (i * 7))
    col[2:5] = [new(i) for i in range(3)]
    ref[2:5] = [new(i) for i in range(3)]
    col[-2:] = (new(i) for i in range(2))  # any iterable of the right length
    ref[-2:] = [new(i) for i in range(2)]
    col[4:4] = []
    col[20:30] = []
    assert col[:] == ref
    for bad in ([new(0)] * 2, [new(0)] * 4, []):
        with pytest.raises(ValueError):
            col[2:5] = bad
    with pytest.raises(ValueError):
        col[3:3] = [new(1)]  # no list-style resizing
    with pytest.raises(ValueError):
        col[::2] = [new(0)] * 5
    assert col[:] == ref


def test_delitem(seq):
    col, ref = seq
    del col[0]
    del ref[0]
    del col[-1]
    del ref[-1]
    del col[2:4]
    del ref[2:4]
    del col[10:20]
    del col[3:3]
    assert col[:] == ref
    with pytest.raises(IndexError):
        del col[len(ref)]
    with pytest.raises(TypeError):
        del col["a"]
    with pytest.raises(ValueError):
        del col[::2]
    assert col[:] == ref
    del col[:]
    assert len(col) == 0


def test_insert_clamps_like_list(seq):
    col, ref = seq
    v = (lambda i: -i - 1) if col.dtype == "i64" else (lambda i: f"ins{i}")
    for n, i in enumerate([0, 3, -1, -100, 100, len(ref) + 1, -3, 2**62, -(2**62)]):
        col.insert(i, v(n))
        ref.insert(i, v(n))
        assert col[:] == ref, i
    with pytest.raises(TypeError):
        col.insert(1.5, v(0))
    assert col[:] == ref


def test_append_extend_variants(seq):
    col, ref = seq
    mk = (lambda i: i * 3) if col.dtype == "i64" else (lambda i: f"e{i}")
    col.append(mk(1))
    ref.append(mk(1))
    col.extend([mk(2), mk(3)])
    col.extend((mk(4),))
    col.extend(mk(i) for i in range(5, 8))
    col.extend([])
    col.extend(iter([]))
    col.extend({mk(8)})
    col += [mk(9)]
    ref.extend([mk(i) for i in range(2, 10)])
    assert col[:] == ref
    for bad in (5, None, {mk(0): 1}):  # a dict is refused, not iterated
        with pytest.raises(TypeError):
            col.extend(bad)
    if col.dtype == "str:utf8":
        with pytest.raises(TypeError):
            col.extend("abc")  # a str is not taken as an iterable of chars
    assert col[:] == ref


def test_mixin_methods(seq):
    col, ref = seq
    assert list(col) == ref
    assert list(reversed(col)) == ref[::-1]
    assert ref[3] in col and ref[3] in ref
    absent = 999 if col.dtype == "i64" else "absent"
    assert absent not in col
    assert col.index(ref[4]) == 4
    assert col.index(ref[4], 2, 6) == 4
    with pytest.raises(ValueError):
        col.index(ref[4], 5)
    with pytest.raises(ValueError):
        col.index(absent)
    col.extend([ref[2], ref[2]])
    ref.extend([ref[2], ref[2]])
    assert col.count(ref[2]) == 3 and col.count(absent) == 0
    assert col.pop() == ref.pop()
    assert col.pop(0) == ref.pop(0)
    assert col.pop(-3) == ref.pop(-3)
    col.remove(ref[1])
    ref.remove(ref[1])
    with pytest.raises(ValueError):
        col.remove(absent)
    col.reverse()
    ref.reverse()
    assert col[:] == ref
    col.clear()
    assert len(col) == 0 and list(col) == []
    with pytest.raises(IndexError):
        col.pop()


def test_reverse_is_one_change(cv, db_path):
    col = cv.create_column("c", "bytes")
    values = [bytes([i]) * (i * 10) for i in range(30)]
    col.extend(values)
    col.reverse()
    assert col[:] == values[::-1]
    assert contents(db_path, "c") == values[::-1]


def test_iteration_spans_batches(cv):
    col = cv.create_column("c", "i64")
    col.extend(range(3000))
    assert list(col) == list(range(3000))
    var = cv.create_column("v", "str:utf8")
    var.extend(str(i) for i in range(2500))
    assert list(var) == [str(i) for i in range(2500)]


@pytest.mark.parametrize(
    "dtype,values,expected",
    [
        ("i64", [0, -1, 2**63 - 1, -(2**63), True, np.int32(5)], [0, -1, 2**63 - 1, -(2**63), 1, 5]),
        ("u8", [0, 255, np.uint8(7)], [0, 255, 7]),
        ("f64", [0.5, -0.0, float("inf"), 3, np.float32(1.5)], [0.5, -0.0, float("inf"), 3.0, 1.5]),
        ("f32", [0.5, -2.0], [0.5, -2.0]),
        ("bool", [True, False, 1], [True, False, True]),
        ("bytes:4", [b"ab", b"abcd", bytearray(b"x"), memoryview(b"yz")],
         [b"ab\0\0", b"abcd", b"x\0\0\0", b"yz\0\0"]),
        ("str:6", ["hi", "", "héllo"], ["hi", "", "héllo"]),
        ("str:utf8", ["", "ascii", "中文😀", "a\0b"], ["", "ascii", "中文😀", "a\0b"]),
        ("str:utf16le", ["", "héllo"], ["", "héllo"]),
        ("bytes", [b"", b"\0\xff", bytearray(b"ba")], [b"", b"\0\xff", b"ba"]),
        ("msgpack", [None, 1, 1.0, "s", b"b", [1, [2]], {"z": 1, "a": {"b": None}}, True, 2**64 - 1],
         [None, 1, 1.0, "s", b"b", [1, [2]], {"z": 1, "a": {"b": None}}, True, 2**64 - 1]),
        ("cbor", [None, -5, "x", {"k": [1.5]}], [None, -5, "x", {"k": [1.5]}]),
    ],
)
def test_roundtrip_per_dtype(cv, db_path, dtype, values, expected):
    col = cv.create_column("c", dtype)
    col.extend(values[:2])
    for v in values[2:]:
        col.append(v)
    assert strict_same(col[:], expected)
    assert strict_same([col[i] for i in range(len(expected))], expected)
    assert strict_same(contents(db_path, "c"), expected)


def test_vec_columns(cv):
    fixed = cv.create_column("e", "vec:f32:3")
    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    fixed.extend(rows[:2])
    fixed.append(rows[2])
    fixed.append([9.0, 10.0, 11.0])
    got = fixed[:]
    assert len(got) == 4
    for g, r in zip(got, rows):
        assert strict_same(g, r)
    with pytest.raises(ValueError):
        fixed.append([1.0, 2.0])
    anyshape = cv.create_column("a", "vec:i16")
    assert isinstance(anyshape, VarSizeColumn)
    arrays = [np.arange(6, dtype=np.int16).reshape(2, 3), np.array([], dtype=np.int16), np.array([7], dtype=np.int16)]
    anyshape.extend(arrays)
    for g, r in zip(anyshape[:], arrays):
        assert strict_same(g, r)
    assert len(fixed) == 4


# ================================================== randomized list-oracle test

ORACLE_DTYPES = ["i64", "f64", "bytes:8", "str:utf8", "msgpack", "bytes"]
_CHARS = "abcxyz0 é中😀\0"


def _rand_msgpack(rng, depth=0):
    r = rng.random()
    if depth < 2 and r < 0.15:
        return [_rand_msgpack(rng, depth + 1) for _ in range(rng.randrange(4))]
    if depth < 2 and r < 0.3:
        return {"".join(rng.choices(_CHARS, k=rng.randrange(4))): _rand_msgpack(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return rng.choice([
        None, True, False, rng.randrange(-10, 10), rng.randrange(-(2**63), 2**64),
        rng.uniform(-1e6, 1e6), "".join(rng.choices(_CHARS, k=rng.randrange(8))),
        rng.randbytes(rng.randrange(8)),
    ])


def _fresh(dtype, rng):
    """(value to store, value read back)."""
    if dtype == "i64":
        v = rng.choice([rng.randrange(-5, 5), rng.randrange(-(2**63), 2**63), 2**63 - 1, -(2**63)])
        return v, v
    if dtype == "f64":
        v = rng.choice([rng.uniform(-1e9, 1e9), float(rng.randrange(-3, 3)), -0.0,
                        float("inf"), float("-inf"), 5e-324])
        return v, v
    if dtype == "bytes:8":
        v = rng.randbytes(rng.randrange(9))
        return v, v.ljust(8, b"\0")
    if dtype == "str:utf8":
        n = rng.randrange(6) if rng.random() < 0.9 else rng.randrange(60, 200)  # up to 800 bytes
        v = "".join(rng.choices(_CHARS, k=n))
        return v, v
    if dtype == "msgpack":
        v = _rand_msgpack(rng)
        return v, v
    if dtype == "bytes":
        n = rng.randrange(12) if rng.random() < 0.9 else rng.randrange(200, 700)
        v = rng.randbytes(n)
        return v, v
    raise AssertionError(dtype)


class _Gen:
    """Values for one dtype, with a small pool so duplicates occur."""

    def __init__(self, dtype, rng):
        self.dtype, self.rng = dtype, rng
        self.pool = [_fresh(dtype, rng) for _ in range(6)]

    def __call__(self):
        if self.rng.random() < 0.4:
            return self.rng.choice(self.pool)
        return _fresh(self.dtype, self.rng)

    def many(self, k):
        pairs = [self() for _ in range(k)]
        return [p[0] for p in pairs], [p[1] for p in pairs]


N_ORACLE_OPS = 6000


@pytest.mark.parametrize("run", range(3))
@pytest.mark.parametrize("dtype", ORACLE_DTYPES)
def test_random_ops_match_list_oracle(db_path, dtype, run):
    seed = 1000 + 10 * ORACLE_DTYPES.index(dtype) + run
    rng = random.Random(seed)
    gen = _Gen(dtype, rng)
    vault = ColumnVault(db_path, **SMALL)
    col = vault.create_column("c", dtype)
    ref = []
    log = collections.deque(maxlen=25)

    def same():
        assert len(col) == len(ref)
        assert strict_same(col[:], ref)

    def rand_index(n, slack=3):
        return rng.randrange(-n - slack, n + slack)

    def rand_bound(n):
        return rng.choice([None, rng.randrange(-n - 3, n + 4)])

    def op_append():
        v, e = gen()
        log.append(("append", v))
        col.append(v)
        ref.append(e)

    def op_extend():
        vs, es = gen.many(rng.randrange(0, 9))
        how = rng.choice(["list", "tuple", "gen", "iadd"])
        log.append(("extend", how, vs))
        if how == "list":
            col.extend(vs)
        elif how == "tuple":
            col.extend(tuple(vs))
        elif how == "gen":
            col.extend(v for v in vs)
        else:
            target = col
            target += vs  # __iadd__ extends in place and returns the column
            assert target is col
        ref.extend(es)

    def op_getitem():
        i = rand_index(len(ref))
        log.append(("getitem", i))
        if -len(ref) <= i < len(ref):
            assert strict_same(col[i], ref[i]), i
        else:
            with pytest.raises(IndexError):
                col[i]

    def op_getslice():
        a, b = rand_bound(len(ref)), rand_bound(len(ref))
        log.append(("getslice", a, b))
        assert strict_same(col[a:b], ref[a:b])

    def op_setitem():
        i = rand_index(len(ref), slack=1)
        v, e = gen()
        log.append(("setitem", i, v))
        if -len(ref) <= i < len(ref):
            col[i] = v
            ref[i] = e
        else:
            with pytest.raises(IndexError):
                col[i] = v

    def op_setslice():
        a, b = rand_bound(len(ref)), rand_bound(len(ref))
        k = len(range(*slice(a, b).indices(len(ref))))
        wrong = rng.random() < 0.1
        vs, es = gen.many(k + (rng.choice([-1, 1]) if wrong and k else (1 if wrong else 0)))
        log.append(("setslice", a, b, vs))
        if len(vs) != k:
            with pytest.raises(ValueError):
                col[a:b] = vs
        else:
            col[a:b] = vs
            ref[a:b] = es

    def op_delitem():
        i = rand_index(len(ref), slack=1)
        log.append(("delitem", i))
        if -len(ref) <= i < len(ref):
            del col[i]
            del ref[i]
        else:
            with pytest.raises(IndexError):
                del col[i]

    def op_delslice():
        a, b = rand_bound(len(ref)), rand_bound(len(ref))
        if rng.random() < 0.7 and len(ref) > 4:  # mostly short ranges
            a = rng.randrange(len(ref))
            b = a + rng.randrange(1, 6)
        log.append(("delslice", a, b))
        del col[a:b]
        del ref[a:b]

    def op_insert():
        i = rand_index(len(ref), slack=5)
        v, e = gen()
        log.append(("insert", i, v))
        col.insert(i, v)
        ref.insert(i, e)

    def op_pop():
        if rng.random() < 0.5:
            log.append(("pop",))
            if ref:
                assert strict_same(col.pop(), ref.pop())
            else:
                with pytest.raises(IndexError):
                    col.pop()
        else:
            i = rand_index(len(ref), slack=1)
            log.append(("pop", i))
            if -len(ref) <= i < len(ref):
                assert strict_same(col.pop(i), ref.pop(i))
            else:
                with pytest.raises(IndexError):
                    col.pop(i)

    def probe():
        if ref and rng.random() < 0.7:
            return rng.choice(ref)
        return gen()[1]

    def op_remove():
        e = probe()
        log.append(("remove", e))
        if e in ref:
            col.remove(e)
            ref.remove(e)
        else:
            with pytest.raises(ValueError):
                col.remove(e)

    def op_index():
        e = probe()
        log.append(("index", e))
        if e in ref:
            assert col.index(e) == ref.index(e)
        else:
            with pytest.raises(ValueError):
                col.index(e)

    def op_count_contains():
        e = probe()
        log.append(("count/in", e))
        assert col.count(e) == ref.count(e)
        assert (e in col) == (e in ref)

    def op_iter():
        log.append(("iter",))
        assert strict_same(list(col), ref)
        assert len(col) == len(ref)

    def op_reverse():
        log.append(("reverse",))
        col.reverse()
        ref.reverse()

    def op_clear():
        log.append(("clear",))
        col.clear()
        ref.clear()

    def op_cache():
        what = rng.choice(["col_on", "col_off", "col_flush", "cv_on", "cv_off", "cv_flush"])
        cap = rng.choice([64, 300, 4096, 1 << 20])
        thr = rng.choice([16, 200, cap])
        log.append(("cache", what, cap, thr))
        if what == "col_on":
            col.enable_cache(cap, thr)
        elif what == "col_off":
            col.disable_cache()
        elif what == "col_flush":
            assert col.flush_cache() >= 0
        elif what == "cv_on":
            vault.enable_cache(cap, thr)
        elif what == "cv_off":
            vault.disable_cache()
        else:
            assert vault.flush_cache() >= 0

    def op_reopen():
        nonlocal vault, col
        log.append(("reopen",))
        vault.close()
        assert strict_same(contents(db_path, "c"), ref)
        vault = ColumnVault(db_path, **SMALL)
        col = vault["c"]

    growing = [
        (op_append, 10), (op_extend, 8), (op_insert, 5), (op_setitem, 6), (op_setslice, 5),
        (op_getitem, 8), (op_getslice, 6), (op_delitem, 5), (op_delslice, 2), (op_pop, 3),
        (op_remove, 2), (op_index, 2), (op_count_contains, 2), (op_iter, 1), (op_reverse, 0.5),
        (op_clear, 0.3), (op_cache, 4), (op_reopen, 0.2),
    ]
    shrinking = [(op_delitem, 3), (op_delslice, 3), (op_pop, 2), (op_remove, 1), (op_getslice, 1)]
    try:
        for step in range(N_ORACLE_OPS):
            table = shrinking if len(ref) > 120 else growing
            ops, weights = zip(*table)
            rng.choices(ops, weights)[0]()
            if step % 50 == 0:
                same()
        same()
        vault.close()
        assert strict_same(contents(db_path, "c"), ref)
    except BaseException as exc:
        raise AssertionError(
            f"dtype={dtype} seed={seed} after ops (oldest first): {list(log)!r}"
        ) from exc
    finally:
        vault.close()


@pytest.mark.parametrize("dtype", ["i64", "str:utf8", "bytes"])
def test_random_ops_through_two_vaults_match_list_oracle(db_path, dtype):
    # Two ColumnVault objects on one file take turns at random: every read
    # must see every change the other made (no stale lengths, chunk rows or
    # index entries kept between calls).
    seed = 2000 + ["i64", "str:utf8", "bytes"].index(dtype)
    rng = random.Random(seed)
    gen = _Gen(dtype, rng)
    vaults = [ColumnVault(db_path, **SMALL), ColumnVault(db_path, **SMALL)]
    cols = [vaults[0].create_column("c", dtype), vaults[1]["c"]]
    ref = []
    log = collections.deque(maxlen=25)
    try:
        for step in range(5000):
            who = rng.randrange(2)
            col = cols[who]
            n = len(ref)
            r = rng.random()
            if r < 0.2 or n == 0:
                vs, es = gen.many(rng.randrange(1, 6))
                log.append((who, "extend", vs))
                col.extend(vs)
                ref.extend(es)
            elif r < 0.3:
                v, e = gen()
                log.append((who, "append", v))
                col.append(v)
                ref.append(e)
            elif r < 0.45:
                i = rng.randrange(-n, n)
                v, e = gen()
                log.append((who, "set", i, v))
                col[i] = v
                ref[i] = e
            elif r < 0.55:
                a = rng.randrange(n)
                b = min(n, a + rng.randrange(1, 6))
                vs, es = gen.many(b - a)
                log.append((who, "setslice", a, b, vs))
                col[a:b] = vs
                ref[a:b] = es
            elif r < 0.62 or n > 150:
                a = rng.randrange(n)
                b = min(n, a + rng.randrange(1, 4))
                log.append((who, "del", a, b))
                del col[a:b]
                del ref[a:b]
            elif r < 0.67:
                i = rng.randrange(-n - 2, n + 2)
                v, e = gen()
                log.append((who, "insert", i, v))
                col.insert(i, v)
                ref.insert(i, e)
            elif r < 0.68:
                log.append((who, "clear"))
                col.clear()
                ref.clear()
            else:
                i = rng.randrange(-n - 2, n + 2)
                log.append((who, "read", i))
                assert len(col) == len(ref)
                if -n <= i < n:
                    assert strict_same(col[i], ref[i])
                else:
                    with pytest.raises(IndexError):
                        col[i]
                a = rng.randrange(n + 1)
                assert strict_same(col[a:a + 7], ref[a:a + 7])
            if step % 100 == 0:
                for c in cols:
                    assert strict_same(c[:], ref)
        for c in cols:
            assert strict_same(c[:], ref)
            assert strict_same(list(c), ref)
    except BaseException as exc:
        raise AssertionError(
            f"dtype={dtype} seed={seed} after ops (oldest first): {list(log)!r}"
        ) from exc
    finally:
        for v in vaults:
            v.close()
    assert strict_same(contents(db_path, "c"), ref)


# ========================================================================= to_numpy


@pytest.mark.parametrize(
    "dtype,np_dtype,values",
    [
        ("i64", np.int64, [5, -3, 2**62, 0, 7, 8, 9]),
        ("f64", np.float64, [0.5, -1.25, 1e300, 0.0, 3.0, 4.0, 5.0]),
        ("f32", np.float32, [0.5, -1.25, 2.0, 0.0, 3.0, 4.0, 5.0]),
        ("u8", np.uint8, [0, 255, 1, 2, 3, 4, 5]),
    ],
)
def test_to_numpy_scalars(cv, dtype, np_dtype, values):
    col = cv.create_column("c", dtype)
    col.extend(np.array(values[:3], dtype=np_dtype))
    col.extend(values[3:5])
    col.enable_cache()
    col.extend(values[5:])  # pending: must be included
    ref = np.array(values, dtype=np_dtype)
    assert strict_same(col.to_numpy(), ref)
    for a, b in [(None, None), (1, None), (None, 4), (2, 6), (-3, None), (-5, -1), (4, 2), (0, 100), (50, 60)]:
        assert strict_same(col.to_numpy(a, b), ref[a:b]), (a, b)
    assert strict_same(col.to_numpy(start=3), ref[3:])
    col.disable_cache()
    assert strict_same(col.to_numpy(), ref)


def test_to_numpy_many_chunks(cv):
    col = cv.create_column("c", "i64")
    col.extend(np.arange(5000, dtype=np.int64))
    col.enable_cache()
    col.extend(np.arange(5000, 5100))
    assert strict_same(col.to_numpy(), np.arange(5100, dtype=np.int64))
    assert strict_same(col.to_numpy(4990, 5010), np.arange(4990, 5010, dtype=np.int64))


def test_extend_with_numpy_arrays(cv):
    i = cv.create_column("i", "i64")
    i.extend(np.arange(10, dtype=np.int32))
    i.extend(np.arange(10, 20, dtype=np.int64)[::2])  # non-contiguous
    assert i[:] == list(range(10)) + list(range(10, 20, 2))
    assert all(type(x) is int for x in i[:])
    f = cv.create_column("f", "f64")
    f.extend(np.linspace(0, 1, 5))
    assert f[:] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert type(f[0]) is float
    u = cv.create_column("u", "u8")
    u.extend(np.array([1, 2, 255], dtype=np.uint8))
    assert u[:] == [1, 2, 255]


def test_to_numpy_fixed_vec(cv):
    col = cv.create_column("e", "vec:f32:3")
    rows = np.arange(30, dtype=np.float32).reshape(10, 3)
    col.extend(rows[:6])
    col.enable_cache()
    col.extend(rows[6:9])
    col.append(rows[9])
    assert strict_same(col.to_numpy(), rows)
    assert strict_same(col.to_numpy(2, 5), rows[2:5])
    empty = col.to_numpy(5, 5)
    assert empty.shape == (0, 3) and empty.dtype == np.float32


@pytest.mark.parametrize("dtype", ["str:utf8", "str:8", "bytes", "msgpack", "vec:f32"])
def test_to_numpy_rejects_non_numeric(cv, dtype):
    col = cv.create_column("c", dtype)
    with pytest.raises(TypeError):
        col.to_numpy()


# ================================================= defect fixes: atomicity (7.1 #16)


def _failing_gen(values, fail_at):
    for i, v in enumerate(values):
        if i == fail_at:
            raise RuntimeError("generator failed")
        yield v


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize(
    "dtype,values",
    [("i64", list(range(100))), ("str:utf8", [f"value-{i}" for i in range(100)]),
     ("msgpack", [{"i": i} for i in range(100)]), ("bytes", [bytes(i) for i in range(100)])],
)
def test_extend_with_failing_generator_changes_nothing(cv, db_path, dtype, values, cached):
    col = cv.create_column("c", dtype)
    col.extend(values[:10])
    if cached:
        col.enable_cache()
        col.extend(values[10:15])
    before = col[:]
    with pytest.raises(RuntimeError, match="generator failed"):
        col.extend(_failing_gen(values[20:], fail_at=60))
    assert len(col) == len(before)
    assert col[:] == before
    col.append(values[99])  # later appends land right after (KohakuVault: overwrote entries)
    assert col[:] == before + [values[99]]
    col.flush_cache()
    assert contents(db_path, "c") == before + [values[99]]


@pytest.mark.parametrize(
    "dtype,good,bad,exc",
    [
        ("i64", [1, 2], 2**70, OutOfRangeError),
        ("i64", [1, 2], -(2**63) - 1, OutOfRangeError),
        ("u8", [1, 2], 300, OutOfRangeError),
        ("u8", [1, 2], -1, OutOfRangeError),
        ("i64", [1, 2], "x", InvalidTypeError),
        ("i64", [1, 2], 1.5, InvalidTypeError),
        ("i64", [1, 2], None, InvalidTypeError),
        ("f64", [1.0], "x", InvalidTypeError),
        ("bytes:4", [b"ab"], b"abcde", InvalidArgument),
        ("bytes:4", [b"ab"], "ab", InvalidTypeError),
        ("str:utf8", ["a"], 5, InvalidTypeError),
        ("str:ascii", ["a"], "é", InvalidArgument),
        ("bytes", [b"a"], "text", InvalidTypeError),
        ("msgpack", [1], object(), InvalidTypeError),
        ("msgpack", [1], 2**64, OutOfRangeError),
        ("vec:f32:3", [[1.0, 2.0, 3.0]], [1.0, 2.0], InvalidArgument),
    ],
)
def test_bad_element_raises_typed_error_and_changes_nothing(cv, db_path, dtype, good, bad, exc):
    col = cv.create_column("c", dtype)
    col.extend(good)
    before = col[:]

    def check(fn):
        with pytest.raises(exc) as info:
            fn()
        assert isinstance(info.value, KohakuVaultError)
        assert strict_same(col[:], before)

    check(lambda: col.append(bad))
    check(lambda: col.extend(list(good) + [bad] + list(good)))
    check(lambda: col.extend(v for v in list(good) * 3 + [bad]))
    check(lambda: col.__setitem__(0, bad))
    check(lambda: col.__setitem__(slice(0, 2), [good[0], bad]) if len(good) > 1
          else col.__setitem__(slice(0, 1), [bad]))
    check(lambda: col.insert(0, bad))
    col.enable_cache()
    check(lambda: col.append(bad))
    check(lambda: col.extend(list(good) + [bad]))
    col.disable_cache()
    assert strict_same(contents(db_path, "c"), before)


def test_busy_extend_changes_nothing(open_cv, db_path, write_lock):
    cv = open_cv(retries=0, busy_timeout=0.05)
    fixed = cv.create_column("f", "i64")
    var = cv.create_column("v", "str:utf8")
    fixed.extend(range(10))
    var.extend(["a", "b"])
    with write_lock(db_path):
        for fn in (lambda: fixed.extend(range(100)), lambda: var.extend(["x"] * 100),
                   lambda: fixed.append(1), lambda: var.__setitem__(0, "longer value"),
                   lambda: fixed.insert(0, 5), lambda: var.__delitem__(0), lambda: fixed.clear()):
            with pytest.raises(DatabaseBusy):
                fn()
        assert fixed[:] == list(range(10))
        assert var[:] == ["a", "b"]
    fixed.append(10)
    assert fixed[:] == list(range(11))
    assert contents(db_path, "v") == ["a", "b"]


def test_failed_flush_keeps_pending(open_cv, db_path, write_lock):
    cv = open_cv(retries=0, busy_timeout=0.05)
    col = cv.create_column("c", "i64")
    var = cv.create_column("v", "bytes")
    col.enable_cache()
    var.enable_cache()
    col.extend(range(5))
    var.extend([b"a", b"bb"])
    with write_lock(db_path):
        with pytest.raises(DatabaseBusy):
            col.flush_cache()
        with pytest.raises(DatabaseBusy):
            cv.flush_cache()
        with pytest.raises(DatabaseBusy):
            cv.close()
        assert not cv.closed
        assert col[:] == list(range(5))
        assert var[:] == [b"a", b"bb"]
    assert cv.flush_cache() == 5 * 8 + 3
    assert contents(db_path, "c") == list(range(5))
    assert contents(db_path, "v") == [b"a", b"bb"]


# ====================================== defect fixes: fresh length (7.1 #7, §2.5)


@pytest.mark.parametrize("dtype", ["i64", "str:utf8"])
def test_second_vault_on_same_file_is_seen(open_cv, dtype):
    a = open_cv()
    b = open_cv()
    mk = (lambda i: i) if dtype == "i64" else (lambda i: f"v{i}")
    col_a = a.create_column("c", dtype)
    col_a.extend([mk(0), mk(1)])
    col_b = b["c"]
    assert len(col_b) == 2
    col_b.extend([mk(2), mk(3)])
    col_b.append(mk(4))
    assert len(col_a) == 5
    assert col_a[4] == mk(4) and col_a[-1] == mk(4)
    assert col_a[1:] == [mk(i) for i in range(1, 5)]
    assert list(col_a) == [mk(i) for i in range(5)]
    col_a.append(mk(5))  # placed after b's appends, not over them
    assert col_b[:] == [mk(i) for i in range(6)]
    col_b[0] = mk(100)
    assert col_a[0] == mk(100)
    del col_b[0:3]
    assert col_a[:] == [mk(i) for i in range(3, 6)]
    col_b.clear()
    assert len(col_a) == 0
    with pytest.raises(IndexError):
        col_a[0]
    col_a.append(mk(7))
    assert col_b[:] == [mk(7)]


def test_subprocess_append_is_seen(cv, db_path):
    nums = cv.create_column("nums", "i64")
    texts = cv.create_column("texts", "str:utf8")
    nums.extend([1, 2])
    texts.append("a")
    code = r"""
import sys, ambervault
with ambervault.ColumnVault(sys.argv[1]) as cv:
    cv["nums"].extend(range(10, 20))
    cv["nums"].append(99)
    cv["texts"].extend(["b", "c"])
"""
    res = run_python(code, db_path)
    assert res.returncode == 0, res.stderr
    assert len(nums) == 13
    assert nums[-1] == 99 and nums[2:4] == [10, 11]
    assert texts[:] == ["a", "b", "c"]
    assert cv.list_columns() == [("nums", "i64", 13), ("texts", "str:utf8", 3)]
    nums.append(100)
    assert nums[:] == [1, 2] + list(range(10, 20)) + [99, 100]


# ============================= defect fixes: concurrent writers never overwrite


def _check_writer_values(values, writers, per_writer, key):
    assert len(values) == writers * per_writer
    by_writer = collections.defaultdict(list)
    for v in values:
        w, i = key(v)
        by_writer[w].append(i)
    assert sorted(by_writer) == list(range(writers))
    for w, seq in by_writer.items():
        assert seq == list(range(per_writer)), w  # exact set, in each writer's order


def test_threads_with_separate_vaults_append_concurrently(db_path, open_cv):
    setup = open_cv()
    setup.create_column("nums", "i64")
    setup.create_column("texts", "str:utf8")
    writers, per_writer = 4, 150
    errors = []
    barrier = threading.Barrier(writers)

    def work(w):
        try:
            with ColumnVault(db_path, **SMALL) as cv:
                nums, texts = cv["nums"], cv["texts"]
                barrier.wait()
                i = 0
                while i < per_writer:
                    if i % 5 == 4:
                        batch = range(i, min(i + 3, per_writer))
                        nums.extend(w * 1_000_000 + j for j in batch)
                        texts.extend(f"{w}:{j}" for j in batch)
                        i += len(batch)
                    else:
                        nums.append(w * 1_000_000 + i)
                        texts.append(f"{w}:{i}")
                        i += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "writer threads hung"
    assert not errors, errors
    _check_writer_values(contents(db_path, "nums"), writers, per_writer, lambda v: divmod(v, 1_000_000))
    _check_writer_values(contents(db_path, "texts"), writers, per_writer,
                         lambda v: tuple(map(int, v.split(":"))))


_PROC_APPENDER = r"""
import os, sys, time, ambervault
path, w, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cv = ambervault.ColumnVault(path, min_chunk_bytes=64, max_chunk_bytes=256)
nums = cv.ensure("nums", "i64")      # concurrent ensure: one creates, all share
texts = cv.ensure("texts", "str:utf8")
deadline = time.time() + 30
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.005)
i = 0
while i < n:
    if i % 5 == 4:
        batch = range(i, min(i + 3, n))
        nums.extend([w * 1000000 + j for j in batch])
        texts.extend([f"{w}:{j}" for j in batch])
        i += len(batch)
    else:
        nums.append(w * 1000000 + i)
        texts.append(f"{w}:{i}")
        i += 1
cv.close()
print("ok")
"""


def _run_processes(db_path, tmp_path, writers, per_writer):
    go = str(tmp_path / "go")
    procs = [
        subprocess.Popen([sys.executable, "-c", _PROC_APPENDER, db_path, str(w), str(per_writer), go],
                         env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for w in range(writers)
    ]
    time.sleep(0.3)
    pathlib.Path(go).touch()
    try:
        for p in procs:
            out, err = p.communicate(timeout=90)
            assert p.returncode == 0 and out == "ok\n", err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


@pytest.mark.parametrize("writers", [2, 4])
def test_processes_append_concurrently(db_path, tmp_path, writers):
    # The file exists (no columns yet): the processes race on ensure(), then
    # on appends. Opening a *fresh* file concurrently has its own test below.
    ColumnVault(db_path).close()
    per_writer = 200
    _run_processes(db_path, tmp_path, writers, per_writer)
    _check_writer_values(contents(db_path, "nums"), writers, per_writer, lambda v: divmod(v, 1_000_000))
    _check_writer_values(contents(db_path, "texts"), writers, per_writer,
                         lambda v: tuple(map(int, v.split(":"))))
    with ColumnVault(db_path) as cv:
        assert cv.list_columns() == [("nums", "i64", writers * per_writer),
                                     ("texts", "str:utf8", writers * per_writer)]


_FRESH_OPEN = r"""
import json, os, sys, tempfile, time, ambervault
trials, procs = int(sys.argv[1]), int(sys.argv[2])
for trial in range(trials):
    path = os.path.join(tempfile.mkdtemp(dir=sys.argv[3]), "fresh.db")
    go = time.time() + 0.03
    pids = []
    for w in range(procs):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                start = go + w * 0.0003 * (trial % 5)  # staggered: open while others set the file up
                while time.time() < start:
                    pass
                cv = ambervault.ColumnVault(path)
                cv.ensure("c", "i64").append(w)
                cv.close()
            except BaseException as exc:
                sys.stdout.write(json.dumps([trial, type(exc).__name__, str(exc)]) + "\n")
                sys.stdout.flush()
                code = 1
            os._exit(code)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    with ambervault.ColumnVault(path) as cv:
        if "c" in cv and sorted(cv["c"][:]) != list(range(procs)):
            sys.stdout.write(json.dumps([trial, "data", cv["c"][:]]) + "\n")
"""


def test_processes_open_fresh_file_concurrently(tmp_path):
    # Several processes starting on a file that does not exist yet (a common
    # "workers share one store" start-up): every open must succeed (wait for
    # the others like any other busy moment), not raise DatabaseBusy.
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    res = run_python(_FRESH_OPEN, 50, 8, tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    failures = [json.loads(line) for line in res.stdout.splitlines()]
    assert failures == [], f"{len(failures)} failed opens, first: {failures[:3]}"


# ================================ defect fixes: the cache is visible (7.1 #8, #13)


@pytest.mark.parametrize("dtype", ["i64", "str:utf8", "bytes:4"])
def test_reads_see_pending_appends(cv, db_path, dtype):
    mk = {"i64": lambda i: i * 11, "str:utf8": lambda i: "p" * i,
          "bytes:4": lambda i: bytes([i]) * 4}[dtype]
    col = cv.create_column("c", dtype)
    col.extend([mk(i) for i in range(20)])
    col.enable_cache()
    col.extend([mk(i) for i in range(20, 40)])
    col.append(mk(40))
    ref = [mk(i) for i in range(41)]
    assert contents(db_path, "c") == ref[:20]  # really pending
    assert len(col) == 41
    assert col[25] == ref[25] and col[-1] == ref[-1] and col[40] == ref[40]
    assert col[15:30] == ref[15:30]
    assert col[:] == ref
    assert list(col) == ref
    assert mk(33) in col and col.index(mk(33)) == 33 and col.count(mk(40)) == 1
    with pytest.raises(IndexError):
        col[41]
    assert contents(db_path, "c") == ref[:20]


def test_reads_see_pending_vault_cache_and_flush_interval(open_cv, db_path):
    cv = open_cv()
    col = cv.create_column("c", "msgpack")
    cv.enable_cache(flush_interval=30)
    col.extend([{"i": i} for i in range(10)])
    assert col[:] == [{"i": i} for i in range(10)]
    assert col[9] == {"i": 9}
    assert contents(db_path, "c") == []


@pytest.mark.parametrize("dtype", ["i64", "str:utf8"])
def test_changes_to_pending_elements(cv, db_path, dtype):
    mk = (lambda i: i) if dtype == "i64" else (lambda i: f"val{i}")
    col = cv.create_column("c", dtype)
    col.extend([mk(i) for i in range(5)])
    col.enable_cache()
    col.extend([mk(i) for i in range(5, 15)])
    ref = [mk(i) for i in range(15)]
    col[10] = mk(100)  # KohakuVault: lost (overwritten at flush)
    ref[10] = mk(100)
    col[12:14] = [mk(101), mk(102)]
    ref[12:14] = [mk(101), mk(102)]
    col.append(mk(15))
    ref.append(mk(15))
    del col[-1]  # KohakuVault (var-size): no flush, index corrupted
    del ref[-1]
    col.append(mk(16))
    ref.append(mk(16))
    del col[6:8]
    del ref[6:8]
    col.append(mk(17))
    ref.append(mk(17))
    col.insert(len(col) - 1, mk(18))
    ref.insert(len(ref) - 1, mk(18))
    col.append(mk(19))
    ref.append(mk(19))
    assert col.pop() == mk(19)
    ref.pop()
    assert col[:] == ref
    col.flush_cache()
    assert col[:] == ref
    assert contents(db_path, "c") == ref


@pytest.mark.parametrize("dtype", ["i64", "str:utf8"])
def test_pending_appends_land_after_other_writers(open_cv, db_path, dtype):
    mk = (lambda i: i) if dtype == "i64" else (lambda i: f"v{i}")
    a = open_cv()
    b = open_cv()
    ca = a.create_column("c", dtype)
    cb = b["c"]
    ca.extend([mk(1), mk(2)])
    ca.enable_cache()
    ca.extend([mk(10), mk(11)])
    cb.append(mk(99))  # committed while a's appends are pending
    expected = [mk(1), mk(2), mk(99), mk(10), mk(11)]
    assert len(ca) == 5
    assert ca[:] == expected and list(ca) == expected
    assert ca[2] == mk(99) and ca[-1] == mk(11)
    ca.flush_cache()
    assert cb[:] == expected
    ca.append(mk(12))
    cb.clear()
    assert ca[:] == [mk(12)]
    ca.flush_cache()
    assert contents(db_path, "c") == [mk(12)]


def test_empty_var_size_element_in_cache_is_flushed(cv, db_path):
    b = cv.create_column("b", "bytes")
    s = cv.create_column("s", "str:utf8")
    b.enable_cache()
    s.enable_cache()
    b.append(b"")  # KohakuVault: never flushed (cache looks empty)
    s.append("")
    assert len(b) == 1 and b[0] == b""
    b.disable_cache()
    s.flush_cache()
    assert contents(db_path, "b") == [b""]
    assert contents(db_path, "s") == [""]
    s.extend(["", "", "x", ""])
    s.flush_cache()
    assert contents(db_path, "s") == ["", "", "", "x", ""]


@pytest.mark.parametrize("dtype", ["i64", "str:utf8"])
def test_enabling_cache_twice_keeps_pending(cv, db_path, dtype):
    mk = (lambda i: i) if dtype == "i64" else (lambda i: f"v{i}")
    col = cv.create_column("c", dtype)
    col.enable_cache()
    col.extend([mk(i) for i in range(5)])
    col.enable_cache(cap_bytes=1 << 20, flush_threshold=1 << 19)  # KohakuVault: discarded
    col.append(mk(5))
    cv.enable_cache()
    col.append(mk(6))
    cv.enable_cache(cap_bytes=4096, flush_threshold=2048)
    col.append(mk(7))
    assert col[:] == [mk(i) for i in range(8)]
    col.disable_cache()
    assert contents(db_path, "c") == [mk(i) for i in range(8)]


def test_nested_column_cache_contexts_keep_data(cv, db_path):
    col = cv.create_column("c", "str:utf8")
    with col.cache() as outer:
        assert outer is col
        col.extend(["a", "b"])
        with col.cache(cap_bytes=1 << 16, flush_threshold=1 << 15):
            col.append("c")
            assert col._cache_options() == (1 << 16, 1 << 15)
        # outer settings restored; outer pending kept
        assert col._cache_options() == (64 << 20, 16 << 20)
        col.append("d")
        assert col[:] == ["a", "b", "c", "d"]
    assert col._cache_options() is None
    assert contents(db_path, "c") == ["a", "b", "c", "d"]


def test_nested_vault_cache_contexts_keep_data(cv, db_path):
    a = cv.create_column("a", "i64")
    b = cv.create_column("b", "bytes")
    with cv.cache() as outer:
        assert outer is cv
        a.extend([1, 2])
        with cv.cache():
            b.append(b"x")
            a.append(3)
        a.append(4)
        b.append(b"y")
        assert a[:] == [1, 2, 3, 4] and b[:] == [b"x", b"y"]
    assert contents(db_path, "a") == [1, 2, 3, 4]
    assert contents(db_path, "b") == [b"x", b"y"]


def test_column_cache_inside_vault_cache_keeps_data(cv, db_path):
    a = cv.create_column("a", "i64")
    with cv.cache():
        a.append(1)
        with a.cache():
            a.append(2)
        a.append(3)
    with a.cache():
        a.append(4)
        with cv.cache():
            a.append(5)
        a.append(6)
    assert contents(db_path, "a") == [1, 2, 3, 4, 5, 6]


def test_vault_cache_covers_columns_opened_later(open_cv, db_path):
    cv = open_cv()
    cv.create_column("old", "i64")
    cv.enable_cache()
    new_fixed = cv.create_column("new", "i64")  # KohakuVault: not cached
    new_var = cv.ensure("newvar", "str:utf8")
    old = cv["old"]
    for col, v in ((new_fixed, 1), (new_var, "x"), (old, 2)):
        col.append(v)
        assert col._cache_options() is not None
    assert contents(db_path, "new") == []
    assert contents(db_path, "newvar") == []
    assert contents(db_path, "old") == []
    other = open_cv()  # a column of a vault opened after enable_cache elsewhere
    other.create_column("elsewhere", "i64")
    assert cv["elsewhere"]._cache_options() is not None
    cv["elsewhere"].append(5)
    assert contents(db_path, "elsewhere") == []
    assert cv.flush_cache() == 8 + 8 + 1 + 8
    assert contents(db_path, "new") == [1]
    assert contents(db_path, "newvar") == ["x"]
    assert contents(db_path, "old") == [2]
    assert contents(db_path, "elsewhere") == [5]
    cv.disable_cache()
    assert new_fixed._cache_options() is None
    new_fixed.append(9)
    assert contents(db_path, "new") == [1, 9]


def test_flush_cache_returns_bytes(cv):
    col = cv.create_column("c", "i64")
    var = cv.create_column("v", "bytes")
    assert col.flush_cache() == 0  # cache off
    col.enable_cache()
    var.enable_cache()
    col.extend(range(10))
    assert col.flush_cache() == 80
    assert col.flush_cache() == 0
    var.extend([b"abc", b"", b"12345"])
    var.append(b"z" * 1000)
    assert var.flush_cache() == 1008
    col.append(1)
    var.append(b"xy")
    assert cv.flush_cache() == 10
    assert cv.flush_cache() == 0


def test_threshold_flush(cv, db_path):
    col = cv.create_column("c", "i64")
    col.enable_cache(cap_bytes=1024, flush_threshold=80)
    col.extend(range(9))
    assert contents(db_path, "c") == []
    col.append(9)  # 80 pending bytes: flushed
    assert contents(db_path, "c") == list(range(10))
    col.extend(range(10, 300))  # larger than the cap: written straight through
    assert contents(db_path, "c") == list(range(300))


def test_background_flush_and_lock_cache(open_cv, db_path):
    cv = open_cv()
    nums = cv.create_column("nums", "i64")
    texts = cv.create_column("texts", "str:utf8")  # KohakuVault: never daemon-flushed
    reader = open_cv()
    r_nums, r_texts = reader["nums"], reader["texts"]
    cv.enable_cache(flush_interval=0.25)
    nums.append(1)
    texts.append("a")
    assert len(nums) == 1 and len(texts) == 1
    assert wait_until(lambda: len(r_nums) == 1 and len(r_texts) == 1, 10)
    with cv.lock_cache() as locked:
        assert locked is cv
        nums.append(2)
        texts.append("b")
        with cv.lock_cache():
            pass  # nested: still locked after the inner block
        time.sleep(1.0)
        assert len(r_nums) == 1 and len(r_texts) == 1
        assert nums[:] == [1, 2] and texts[:] == ["a", "b"]
    assert wait_until(lambda: len(r_nums) == 2 and len(r_texts) == 2, 10)
    assert r_nums[:] == [1, 2] and r_texts[:] == ["a", "b"]
    with cv.lock_cache():
        nums.append(3)
        assert cv.flush_cache() == 8  # explicit flushes still happen
        assert r_nums[:] == [1, 2, 3]
    cv.disable_cache()
    nums.append(4)
    assert r_nums[:] == [1, 2, 3, 4]


def test_bad_cache_options(cv):
    col = cv.create_column("c", "i64")
    for kwargs in (dict(cap_bytes=0), dict(flush_threshold=0), dict(cap_bytes=-5)):
        with pytest.raises(InvalidArgument):
            col.enable_cache(**kwargs)
        with pytest.raises(InvalidArgument):
            cv.enable_cache(**kwargs)
    with pytest.raises(InvalidArgument):
        cv.enable_cache(flush_interval=0)
    with pytest.raises(InvalidArgument):
        cv.enable_cache(flush_interval=-1)
    assert col._cache_options() is None


# ================================== defect fixes: shrinking and regrowing (7.1 #10)


@pytest.mark.parametrize("dtype", ["i64", "bytes:3", "str:utf8"])
def test_append_after_clear_of_multichunk_column(cv, db_path, dtype):
    mk = {"i64": lambda i: i, "bytes:3": lambda i: (b"%03d" % (i % 1000)),
          "str:utf8": lambda i: f"element {i}"}[dtype]
    col = cv.create_column("c", dtype)
    col.extend([mk(i) for i in range(300)])
    col.clear()
    assert len(col) == 0 and col[:] == []
    col.append(mk(1000))
    col.extend([mk(i) for i in range(1001, 1100)])
    assert col[:] == [mk(i) for i in range(1000, 1100)]
    assert contents(db_path, "c") == [mk(i) for i in range(1000, 1100)]


@pytest.mark.parametrize("dtype", ["i64", "bytes:3", "str:utf8"])
def test_append_after_deletes_shrink_multichunk_column(cv, db_path, dtype):
    mk = {"i64": lambda i: i, "bytes:3": lambda i: (b"%03d" % (i % 1000)),
          "str:utf8": lambda i: f"element {i}"}[dtype]
    col = cv.create_column("c", dtype)
    ref = [mk(i) for i in range(300)]
    col.extend(ref)
    del col[37:]  # the end moves back into an early chunk
    del ref[37:]
    col.append(mk(500))
    ref.append(mk(500))
    for _ in range(200):
        col.pop()
        ref.pop()
        if not ref:
            break
    col.extend([mk(i) for i in range(600, 800)])
    ref.extend([mk(i) for i in range(600, 800)])
    del col[5:190]
    del ref[5:190]
    for i in range(900, 960):
        col.append(mk(i))
        ref.append(mk(i))
    assert col[:] == ref
    assert contents(db_path, "c") == ref


# ================================ defect fixes: var-size updates (7.1 #11, big elems)


def test_var_size_slice_update_growing_across_chunks(cv, db_path):
    rng = random.Random(5)
    col = cv.create_column("c", "bytes")
    ref = [bytes([i % 251]) * rng.randrange(5, 40) for i in range(120)]
    col.extend(ref)
    # one part of the slice grows a lot, the rest shrinks: total may be smaller
    new = [b"G" * 200] + [b"s"] * 29
    col[10:40] = new
    ref[10:40] = new
    assert col[:] == ref
    for _ in range(60):
        a = rng.randrange(len(ref))
        b = min(len(ref), a + rng.randrange(1, 25))
        new = [bytes([rng.randrange(256)]) * rng.choice([0, 1, 3, 50, 120, 300]) for _ in range(b - a)]
        col[a:b] = new
        ref[a:b] = new
        assert col[max(0, a - 3):b + 3] == ref[max(0, a - 3):b + 3]
    assert col[:] == ref
    assert contents(db_path, "c") == ref


def test_var_size_single_update_growing(cv, db_path):
    col = cv.create_column("c", "str:utf8")
    ref = [f"item-{i}" for i in range(100)]
    col.extend(ref)
    for i, n in [(0, 100), (50, 300), (99, 20), (50, 0), (10, 1000), (11, 2), (-1, 500)]:
        col[i] = "x" * n
        ref[i] = "x" * n
        assert col[:] == ref
    assert contents(db_path, "c") == ref


@pytest.mark.parametrize("cached", [False, True])
def test_var_size_element_larger_than_max_chunk(cv, db_path, cached):
    col = cv.create_column("c", "bytes")
    if cached:
        col.enable_cache(cap_bytes=4096, flush_threshold=2048)
    big = [bytes([i]) * n for i, n in enumerate([257, 1000, 10_000, 256, 255, 70_000])]
    ref = [b"a", b"b"]
    col.extend(ref)
    col.append(big[0])
    ref.append(big[0])
    col.extend([b"c", big[1], b"d", big[2], big[3]])
    ref.extend([b"c", big[1], b"d", big[2], big[3]])
    col.append(b"e")
    ref.append(b"e")
    col.extend(iter([big[4], big[5], b"f"]))
    ref.extend([big[4], big[5], b"f"])
    assert col[:] == ref
    assert [col[i] for i in range(len(ref))] == ref
    col[0] = big[2]
    ref[0] = big[2]
    col.insert(3, big[1])
    ref.insert(3, big[1])
    col[5:7] = [big[5], b""]
    ref[5:7] = [big[5], b""]
    assert col[:] == ref
    col.flush_cache()
    assert contents(db_path, "c") == ref


def test_storage_info_and_compact_keep_data(cv, db_path):
    col = cv.create_column("c", "bytes")
    ref = [bytes([i]) * 30 for i in range(60)]
    col.extend(ref)
    for i in range(0, 60, 3):
        col[i] = b"longer-" * 10
        ref[i] = b"longer-" * 10
    del col[10:20]
    del ref[10:20]
    info = col.storage_info()
    assert set(info) == {"chunks", "allocated_bytes", "garbage_bytes"}
    assert info["chunks"] > 1 and info["garbage_bytes"] > 0
    col.compact()
    assert col.storage_info()["garbage_bytes"] == 0
    assert col[:] == ref
    col.append(b"after")
    ref.append(b"after")
    assert contents(db_path, "c") == ref
    fixed = cv.create_column("f", "i64")
    fixed.extend(range(100))
    fixed.compact()
    assert fixed[:] == list(range(100))


def test_large_var_size_column_updates_in_late_index_chunks(tmp_path):
    # KohakuVault used the wrong index-chunk stride in updates, corrupting
    # columns past ~1.4M elements at 16 MiB chunks. With 1200-byte chunks the
    # index column (12-byte entries) has 100 entries per chunk: 500 chunks here.
    path = str(tmp_path / "big.db")
    n = 50_000
    ref = [f"{i:06d}" for i in range(n)]
    with ColumnVault(path, min_chunk_bytes=1200, max_chunk_bytes=1200) as cv:
        col = cv.create_column("c", "str:utf8")
        col.extend(ref)
        assert len(col) == n
        updates = {49_000: "grown " * 40, 49_999: "last-" * 50, 45_123: "", 30_001: "z" * 1100,
                   -2: "second to last", 40_050: "mid"}
        for i, v in updates.items():
            col[i] = v
            ref[i] = v
        col[47_990:48_010] = [f"slice-{j}" * (j % 7) for j in range(20)]
        ref[47_990:48_010] = [f"slice-{j}" * (j % 7) for j in range(20)]
        col.insert(46_000, "inserted")
        ref.insert(46_000, "inserted")
        del col[20_000:20_050]
        del ref[20_000:20_050]
        for i in list(range(44_900, 45_200)) + list(range(len(ref) - 150, len(ref))):
            assert col[i] == ref[i], i
        assert col[:] == ref
    assert contents(path, "c") == ref


# ======================================================== threads and processes


@pytest.mark.parametrize("cached", [False, True])
def test_threads_share_one_vault(cv, db_path, cached):
    nums = cv.create_column("nums", "i64")
    texts = cv.create_column("texts", "str:utf8")
    if cached:
        cv.enable_cache(cap_bytes=4096, flush_threshold=1024)
    threads_n, per_thread = 8, 120
    errors = []
    barrier = threading.Barrier(threads_n)

    def valid_num(v):
        return 0 <= v % 1_000_000 < per_thread and 0 <= v // 1_000_000 < threads_n

    def work(t):
        rng = random.Random(t)
        try:
            barrier.wait()
            i = 0
            while i < per_thread:
                r = rng.random()
                if r < 0.35:
                    nums.append(t * 1_000_000 + i)
                    texts.append(f"{t}:{i}")
                    i += 1
                elif r < 0.5:
                    batch = range(i, min(i + 4, per_thread))
                    nums.extend([t * 1_000_000 + j for j in batch])
                    texts.extend(f"{t}:{j}" for j in batch)
                    i += len(batch)
                elif r < 0.6:
                    n = len(nums)
                    if n:
                        assert valid_num(nums[rng.randrange(n)])
                        assert all(valid_num(v) for v in nums[max(0, n - 20):n])
                elif r < 0.7:
                    n = len(texts)
                    if n:
                        assert ":" in texts[rng.randrange(n)]
                elif r < 0.75:
                    assert all(valid_num(v) for v in nums)
                elif r < 0.8:
                    arr = nums.to_numpy()
                    assert arr.dtype == np.int64
                elif r < 0.85:
                    cv.list_columns()
                elif r < 0.9 and cached:
                    cv.flush_cache()
                else:
                    assert cv["nums"] is nums
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "threads deadlocked"
    assert not errors, errors
    cv.flush_cache()
    _check_writer_values(nums[:], threads_n, per_thread, lambda v: divmod(v, 1_000_000))
    _check_writer_values(contents(db_path, "texts"), threads_n, per_thread,
                         lambda v: tuple(map(int, v.split(":"))))


_HANG_SCENARIO = r"""
import asyncio, sys, ambervault
path, tasks = sys.argv[1], int(sys.argv[2])

def work(i):
    cv = ambervault.ColumnVault(path)
    try:
        n = len(cv["col"])
        if i % 3 == 0:
            cv["col"].append(i)
            cv["col"].extend(range(3))
        assert len(cv["col"]) >= n
        return n
    finally:
        cv.close()

async def main():
    results = await asyncio.gather(*(asyncio.to_thread(work, i) for i in range(tasks)))
    assert len(results) == tasks

asyncio.run(main())
with ambervault.ColumnVault(path) as cv:
    print(len(cv["col"]))
"""


def test_many_threads_open_own_vaults_and_len_no_hang(db_path):
    # KohakuVault user report: threads each opening a ColumnVault on one file
    # and calling len() hang (GIL held during busy waits). Run it in a child
    # so a hang fails the test through the timeout instead of freezing pytest.
    with ColumnVault(db_path) as cv:
        cv.create_column("col", "i64").extend(range(10))
    tasks = 48
    try:
        res = run_python(_HANG_SCENARIO, db_path, tasks, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("threads opening their own ColumnVault and calling len() hung")
    assert res.returncode == 0, res.stderr
    writers = len(range(0, tasks, 3))
    assert int(res.stdout) == 10 + writers * 4


def test_fork_child_cannot_use_vault(cv):
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    col = cv.create_column("c", "i64")
    col.append(1)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not touch the parent's connection
        code = 1
        try:
            try:
                len(col)
            except KohakuVaultError:
                code = 0
        finally:
            os.write(w, b"x")
            os._exit(code)
    os.close(w)
    os.read(r, 1)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    col.append(2)
    assert col[:] == [1, 2]


def test_read_only_vault_refuses_cached_appends_at_once(db_path):
    # A cached append on a read-only vault would only fail at the flush (or
    # at close, losing it); it is refused when it is made.
    with ColumnVault(db_path) as cv:
        cv.create_column("a", "i64").append(1)
    ro = ColumnVault(db_path, read_only=True)
    ro.enable_cache()
    with pytest.raises(ambervault.ReadOnlyError):
        ro["a"].append(2)
    with pytest.raises(ambervault.ReadOnlyError):
        ro["a"].extend([3, 4])
    assert ro["a"][:] == [1]
    ro.close()
