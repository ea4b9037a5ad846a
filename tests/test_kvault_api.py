"""The dict-like API, constructor, lifecycle and exception classes of KVault."""

import array
import collections.abc
import os
import pathlib
import sqlite3

import pytest

import ambervault
from ambervault import (
    ClosedError,
    CorruptionError,
    DatabaseBusy,
    DiskFull,
    InvalidArgument,
    InvalidTypeError,
    IoError,
    KohakuVaultError,
    KVault,
    NotFound,
    ReadOnlyError,
)


# ---------------------------------------------------------------- exceptions


@pytest.mark.parametrize(
    "cls, bases",
    [
        (KohakuVaultError, (Exception,)),
        (NotFound, (KohakuVaultError, KeyError)),
        (DatabaseBusy, (KohakuVaultError, TimeoutError)),
        (InvalidArgument, (KohakuVaultError, ValueError)),
        (InvalidTypeError, (InvalidArgument, TypeError)),
        (IoError, (KohakuVaultError, OSError)),
        (CorruptionError, (IoError,)),
        (DiskFull, (IoError,)),
        (ReadOnlyError, (IoError,)),
        (ClosedError, (KohakuVaultError, ValueError)),
    ],
)
def test_exception_hierarchy(cls, bases):
    for base in bases:
        assert issubclass(cls, base), (cls, base)


def test_exception_aliases():
    assert ambervault.VaultError is KohakuVaultError
    assert ambervault.BusyError is DatabaseBusy


def test_exceptions_are_distinct():
    classes = [NotFound, DatabaseBusy, InvalidArgument, IoError, ClosedError]
    for a in classes:
        for b in classes:
            if a is not b:
                assert not issubclass(a, b), (a, b)


# --------------------------------------------------------------- constructor


class _PathLike:
    def __init__(self, path):
        self._path = path

    def __fspath__(self):
        return self._path


@pytest.mark.parametrize(
    "make_path", [str, pathlib.Path, _PathLike], ids=["str", "Path", "PathLike"]
)
def test_path_types(tmp_path, make_path):
    target = tmp_path / "p.db"
    with KVault(make_path(str(target))) as kv:
        kv[b"k"] = b"v"
    assert target.is_file()
    with KVault(str(target)) as kv:
        assert kv[b"k"] == b"v"


def test_memory_vaults_are_private_and_file_less(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with KVault(":memory:") as a, KVault(":memory:") as b:
        a[b"k"] = b"a"
        assert a[b"k"] == b"a"
        assert b"k" not in b
        assert len(b) == 0
    assert os.listdir(tmp_path) == []


def test_parent_folders_are_created(tmp_path):
    target = tmp_path / "x" / "y" / "z" / "v.db"
    with KVault(target) as kv:
        kv[b"k"] = b"v"
    assert target.is_file()


def test_data_persists_across_reopen(vault_path):
    with KVault(vault_path) as kv:
        kv.update({b"a": b"1", b"b": b"2"})
    with KVault(vault_path) as kv:
        assert dict(kv.items()) == {b"a": b"1", b"b": b"2"}


def test_all_documented_options_accepted(vault_path):
    with KVault(
        vault_path,
        chunk_size=1 << 20,
        retries=4,
        backoff_base=0.02,
        table="kv",
        enable_wal=True,
        page_size=32768,
        mmap_size=268435456,
        cache_kb=100000,
        busy_timeout=5.0,
    ) as kv:
        kv[b"k"] = b"v"
        assert kv[b"k"] == b"v"


@pytest.mark.parametrize("enable_wal, mode", [(True, "wal"), (False, "delete")])
def test_journal_mode(vault_path, enable_wal, mode):
    with KVault(vault_path, enable_wal=enable_wal) as kv:
        kv[b"k"] = b"v"
    # The vault is closed: a plain sqlite3 connection is safe now.
    con = sqlite3.connect(vault_path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == mode
        assert con.execute("SELECT key, value FROM kv").fetchall() == [(b"k", b"v")]
    finally:
        con.close()


@pytest.mark.parametrize("page_size", [512, 4096, 32768, 65536])
def test_page_size_of_new_file(vault_path, page_size):
    with KVault(vault_path, page_size=page_size) as kv:
        kv[b"k"] = b"v"
    con = sqlite3.connect(vault_path)
    try:
        assert con.execute("PRAGMA page_size").fetchone()[0] == page_size
    finally:
        con.close()


def test_page_size_ignored_for_existing_file(vault_path):
    with KVault(vault_path, page_size=4096) as kv:
        kv[b"k"] = b"v"
    with KVault(vault_path, page_size=65536) as kv:
        assert kv[b"k"] == b"v"
    con = sqlite3.connect(vault_path)
    try:
        assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
    finally:
        con.close()


def test_on_disk_schema_is_kohakuvault_compatible(vault_path):
    with KVault(vault_path, table="data_1") as kv:
        kv["é"] = b"\x00\xff"
    con = sqlite3.connect(vault_path)
    try:
        cols = con.execute("PRAGMA table_info(data_1)").fetchall()
        # (cid, name, type, notnull, dflt, pk)
        assert [(c[1], c[2].upper(), c[3], c[5]) for c in cols] == [
            ("key", "BLOB", 1, 1),
            ("value", "BLOB", 1, 0),
        ]
        rows = con.execute("SELECT key, value, typeof(key), typeof(value) FROM data_1").fetchall()
        assert rows == [("é".encode(), b"\x00\xff", "blob", "blob")]
    finally:
        con.close()


@pytest.mark.parametrize("table", ["_", "T", "my_table_2", "Data", "x" * 40])
def test_valid_table_names(vault_path, table):
    with KVault(vault_path, table=table) as kv:
        kv[b"k"] = table.encode()
    with KVault(vault_path, table=table) as kv:
        assert kv[b"k"] == table.encode()


def test_tables_in_one_file_are_independent(vault_path):
    with KVault(vault_path, table="a") as a, KVault(vault_path, table="b") as b:
        a[b"k"] = b"from a"
        b[b"k"] = b"from b"
        b[b"only_b"] = b"x"
        assert a[b"k"] == b"from a"
        assert b[b"k"] == b"from b"
        assert len(a) == 1
        assert list(b) == [b"k", b"only_b"]


# ------------------------------------------------------------------- keys


def test_str_and_bytes_keys_are_the_same_key(kv):
    kv["a"] = b"1"
    assert kv[b"a"] == b"1"
    kv[b"a"] = b"2"
    assert kv["a"] == b"2"
    kv["ключ"] = b"3"
    assert kv["ключ".encode()] == b"3"
    assert len(kv) == 2
    assert list(kv) == [b"a", "ключ".encode()]
    assert "ключ".encode() in kv and "a" in kv
    assert kv.delete(b"a") is True
    assert "a" not in kv


@pytest.mark.parametrize("key", [b"", ""], ids=["bytes", "str"])
def test_empty_key(kv, key):
    kv[key] = b"empty"
    assert kv[b""] == b"empty"
    assert kv[""] == b"empty"
    assert key in kv
    assert list(kv) == [b""]
    del kv[key]
    assert b"" not in kv


def test_one_mib_key(kv):
    big = bytes(range(256)) * 4096
    assert len(big) == 1 << 20
    other = big[:-1] + b"\x00"
    kv[big] = b"v1"
    kv[other] = b"v2"
    assert kv[big] == b"v1"
    assert kv[other] == b"v2"
    assert big in kv
    assert list(kv) == sorted([big, other])
    assert kv.delete(big) is True
    assert big not in kv
    assert kv[other] == b"v2"


# ----------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"plain", b"plain"),
        (bytearray(b"mutable"), b"mutable"),
        (memoryview(b"view"), b"view"),
        (memoryview(b"0123456789")[2:6], b"2345"),
        (array.array("B", [0, 1, 255]), b"\x00\x01\xff"),
        (array.array("I", [1, 2]), array.array("I", [1, 2]).tobytes()),
        (b"", b""),
    ],
    ids=["bytes", "bytearray", "memoryview", "memoryview-slice", "array-B", "array-I", "empty"],
)
def test_value_types_round_trip_as_bytes(kv, value, expected):
    kv[b"k"] = value
    got = kv[b"k"]
    assert type(got) is bytes
    assert got == expected
    assert kv.get(b"k") == expected


def test_value_is_copied(kv):
    buf = bytearray(b"before")
    kv[b"k"] = buf
    buf[:] = b"after!"
    assert kv[b"k"] == b"before"


def test_empty_value_is_not_missing(kv):
    kv[b"k"] = b""
    assert kv[b"k"] == b""
    assert kv.get(b"k", b"default") == b""
    assert b"k" in kv
    assert kv.exists(b"k") is True
    assert len(kv) == 1


def test_large_value_round_trip(kv):
    value = os.urandom(5 << 20)
    kv[b"big"] = value
    assert kv[b"big"] == value


# ----------------------------------------------------------- mapping API


def test_is_mutable_mapping(kv):
    assert isinstance(kv, collections.abc.MutableMapping)
    assert isinstance(kv, collections.abc.Mapping)


def test_getitem_missing_raises_notfound(kv):
    with pytest.raises(NotFound) as info:
        kv[b"missing"]
    assert isinstance(info.value, KeyError)
    assert info.value.key == b"missing"


def test_delitem(kv):
    kv[b"k"] = b"v"
    del kv[b"k"]
    assert b"k" not in kv
    with pytest.raises(KeyError):
        del kv[b"k"]


def test_contains_len(kv):
    assert len(kv) == 0
    assert b"a" not in kv
    kv[b"a"] = b"1"
    kv[b"b"] = b"2"
    kv[b"a"] = b"3"
    assert len(kv) == 2
    assert b"a" in kv and "b" in kv
    assert b"c" not in kv


ORDER_KEYS = [b"b", b"a", b"\xff", b"\x00", b"", b"ab", b"a\x00", "é".encode(), b"\x7f", b"\x80", b"A"]


def test_iteration_in_memcmp_order(kv):
    for i, k in enumerate(ORDER_KEYS):
        kv[k] = str(i).encode()
    expected = sorted(ORDER_KEYS)
    assert list(kv) == expected
    assert list(kv.keys()) == expected
    assert all(type(k) is bytes for k in kv)
    assert list(kv.values()) == [str(ORDER_KEYS.index(k)).encode() for k in expected]
    assert list(kv.items()) == [(k, str(ORDER_KEYS.index(k)).encode()) for k in expected]


PREFIX_KEYS = [b"a", b"ab", b"abc", b"abd", b"ac", b"b", b"ba", b"\x00", b"`z"]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, sorted(PREFIX_KEYS)),
        ({"prefix": None, "limit": None}, sorted(PREFIX_KEYS)),
        ({"prefix": b""}, sorted(PREFIX_KEYS)),
        ({"prefix": b"a"}, [b"a", b"ab", b"abc", b"abd", b"ac"]),
        ({"prefix": "a"}, [b"a", b"ab", b"abc", b"abd", b"ac"]),
        ({"prefix": b"ab"}, [b"ab", b"abc", b"abd"]),
        ({"prefix": b"abc"}, [b"abc"]),
        ({"prefix": b"zz"}, []),
        ({"limit": 3}, sorted(PREFIX_KEYS)[:3]),
        ({"limit": 0}, []),
        ({"limit": 100}, sorted(PREFIX_KEYS)),
        ({"prefix": b"a", "limit": 2}, [b"a", b"ab"]),
        ({"prefix": b"b", "limit": 5}, [b"b", b"ba"]),
    ],
)
def test_keys_prefix_limit(kv, kwargs, expected):
    for k in PREFIX_KEYS:
        kv[k] = b"v"
    it = kv.keys(**kwargs)
    assert isinstance(it, collections.abc.Iterator)
    assert list(it) == expected


def test_values_and_items_are_iterators(kv):
    kv.update({b"b": b"2", b"a": b"1"})
    values, items = kv.values(), kv.items()
    assert isinstance(values, collections.abc.Iterator)
    assert isinstance(items, collections.abc.Iterator)
    assert next(values) == b"1"
    assert next(items) == (b"a", b"1")
    assert list(values) == [b"2"]
    assert list(items) == [(b"b", b"2")]


def test_get(kv):
    assert kv.get(b"k") is None
    assert kv.get(b"k", b"d") == b"d"
    sentinel = object()
    assert kv.get("k", sentinel) is sentinel
    kv.put(b"k", b"v")
    assert kv.get(b"k") == b"v"
    assert kv.get("k", b"d") == b"v"


def test_put_delete_exists(kv):
    assert kv.put(b"k", b"v") is None
    assert kv.exists(b"k") is True
    assert kv.exists("k") is True
    assert kv.delete(b"k") is True
    assert kv.delete(b"k") is False
    assert kv.exists(b"k") is False
    assert kv.delete(b"never") is False


def test_pop(kv):
    kv[b"k"] = b"v"
    assert kv.pop(b"k") == b"v"
    assert b"k" not in kv
    with pytest.raises(KeyError):
        kv.pop(b"k")
    kv[b"k"] = b"v2"
    assert kv.pop("k", b"default") == b"v2"
    assert b"k" not in kv


@pytest.mark.parametrize("default", [b"d", None, 0, "str"])
def test_pop_missing_returns_default(kv, default):
    assert kv.pop(b"missing", default) == default
    assert len(kv) == 0


def test_setdefault(kv):
    assert kv.setdefault(b"k", b"first") == b"first"
    assert kv[b"k"] == b"first"
    assert kv.setdefault(b"k", b"second") == b"first"
    assert kv[b"k"] == b"first"
    got = kv.setdefault(b"k2", bytearray(b"ba"))
    assert type(got) is bytes and got == b"ba"
    assert kv[b"k2"] == b"ba"


def test_update(kv):
    kv.update({b"a": b"1", "b": b"2"})
    kv.update([(b"c", b"3"), ("d", bytearray(b"4"))])
    kv.update(((k, b"g" + k) for k in [b"e", b"f"]))
    kv.update(x=b"5", y=b"6")
    kv.update({b"a": b"overwritten"}, z=b"7")
    assert dict(kv.items()) == {
        b"a": b"overwritten",
        b"b": b"2",
        b"c": b"3",
        b"d": b"4",
        b"e": b"ge",
        b"f": b"gf",
        b"x": b"5",
        b"y": b"6",
        b"z": b"7",
    }


def test_clear(kv):
    kv.update({b"%d" % i: b"v" for i in range(50)})
    kv.clear()
    assert len(kv) == 0
    assert list(kv) == []
    kv[b"new"] = b"n"
    assert list(kv) == [b"new"]


def test_mutablemapping_mixins_eq(kv):
    kv.update({b"a": b"1", b"b": b"2"})
    assert dict(kv) == {b"a": b"1", b"b": b"2"}


# ------------------------------------------------------------- lifecycle


def test_checkpoint_and_optimize(kv):
    kv.update({b"%d" % i: b"x" * 100 for i in range(100)})
    for i in range(50):
        del kv[b"%d" % i]
    assert kv.checkpoint() is None
    assert kv.optimize() is None
    assert len(kv) == 50
    assert kv[b"99"] == b"x" * 100


def test_close_is_idempotent(vault_path):
    kv = KVault(vault_path)
    kv[b"k"] = b"v"
    assert kv.close() is None
    assert kv.close() is None
    with KVault(vault_path) as again:
        assert again[b"k"] == b"v"


def test_context_manager(vault_path):
    with KVault(vault_path) as kv:
        assert isinstance(kv, KVault)
        kv[b"k"] = b"v"
    with pytest.raises(ClosedError):
        kv[b"k"]


def test_context_manager_closes_on_exception(vault_path):
    with pytest.raises(RuntimeError, match="boom"):
        with KVault(vault_path) as kv:
            kv[b"k"] = b"v"
            raise RuntimeError("boom")
    with pytest.raises(ClosedError):
        len(kv)
    with KVault(vault_path) as again:
        assert again[b"k"] == b"v"


def test_context_manager_returns_self(vault_path):
    kv = KVault(vault_path)
    with kv as entered:
        assert entered is kv


def test_repr(vault_path):
    kv = KVault(vault_path)
    kv.update({b"a": b"1", b"b": b"2", b"c": b"3"})
    assert repr(kv) == f"KVault({vault_path!r}, status=open, keys=3)"
    kv.close()
    assert repr(kv).startswith(f"KVault({vault_path!r}, status=closed")


CLOSED_CALLS = {
    "getitem": lambda kv: kv[b"a"],
    "setitem": lambda kv: kv.__setitem__(b"a", b"v"),
    "delitem": lambda kv: kv.__delitem__(b"a"),
    "contains": lambda kv: b"a" in kv,
    "len": len,
    "iter": lambda kv: list(kv),
    "keys": lambda kv: list(kv.keys()),
    "keys_prefix": lambda kv: list(kv.keys(prefix=b"a")),
    "values": lambda kv: list(kv.values()),
    "items": lambda kv: list(kv.items()),
    "get": lambda kv: kv.get(b"a"),
    "get_default": lambda kv: kv.get(b"missing", b"d"),
    "put": lambda kv: kv.put(b"a", b"v"),
    "delete": lambda kv: kv.delete(b"a"),
    "exists": lambda kv: kv.exists(b"a"),
    "pop": lambda kv: kv.pop(b"a"),
    "pop_default": lambda kv: kv.pop(b"a", None),
    "setdefault": lambda kv: kv.setdefault(b"a", b"v"),
    "update": lambda kv: kv.update({b"a": b"v"}),
    "clear": lambda kv: kv.clear(),
    "put_file": lambda kv: kv.put_file(b"a", b"data"),
    "get_to_file": lambda kv: kv.get_to_file(b"a", __import__("io").BytesIO()),
    "enable_cache": lambda kv: kv.enable_cache(),
    "disable_cache": lambda kv: kv.disable_cache(),
    "flush_cache": lambda kv: kv.flush_cache(),
    "cache_enabled": lambda kv: kv.cache_enabled(),
    "cache_cm": lambda kv: kv.cache().__enter__(),
    "lock_cache_cm": lambda kv: kv.lock_cache().__enter__(),
    "checkpoint": lambda kv: kv.checkpoint(),
    "optimize": lambda kv: kv.optimize(),
}


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
def test_use_after_close_raises_closed_error(vault_path, call):
    kv = KVault(vault_path)
    kv[b"a"] = b"1"
    kv.close()
    with pytest.raises(ClosedError):
        call(kv)
    # The file itself is untouched.
    with KVault(vault_path) as again:
        assert dict(again.items()) == {b"a": b"1"}
