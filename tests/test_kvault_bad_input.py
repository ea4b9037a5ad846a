"""Bad keys, values, options, table names, paths, files and stream objects."""

import io
import os
import random

import pytest

from ambervault import (
    CorruptionError,
    InvalidArgument,
    InvalidTypeError,
    IoError,
    KVault,
)

from conftest import read_back

# ------------------------------------------------------------------ keys

BAD_KEYS = {
    "int": 1,
    "None": None,
    "list": [b"a"],
    "bytearray": bytearray(b"a"),
    "float": 1.5,
    "tuple": (b"a",),
    "object": object(),
}

KEY_OPS = {
    "getitem": lambda kv, k: kv[k],
    "setitem": lambda kv, k: kv.__setitem__(k, b"v"),
    "delitem": lambda kv, k: kv.__delitem__(k),
    "contains": lambda kv, k: k in kv,
    "get": lambda kv, k: kv.get(k),
    "put": lambda kv, k: kv.put(k, b"v"),
    "delete": lambda kv, k: kv.delete(k),
    "exists": lambda kv, k: kv.exists(k),
    "pop": lambda kv, k: kv.pop(k),
    "pop_default": lambda kv, k: kv.pop(k, b"d"),
    "setdefault": lambda kv, k: kv.setdefault(k, b"v"),
    "update": lambda kv, k: kv.update([(k, b"v")]),
    "put_file": lambda kv, k: kv.put_file(k, io.BytesIO(b"v")),
    "get_to_file": lambda kv, k: kv.get_to_file(k, io.BytesIO()),
}


@pytest.mark.parametrize("op", KEY_OPS.values(), ids=KEY_OPS.keys())
@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_bad_key_type_raises_invalid_type_error(kv, key, op):
    kv[b"a"] = b"present"
    with pytest.raises(InvalidTypeError):
        op(kv, key)
    assert dict(kv.items()) == {b"a": b"present"}


@pytest.mark.parametrize("op", KEY_OPS.values(), ids=KEY_OPS.keys())
def test_lone_surrogate_key_raises_invalid_argument(kv, op):
    with pytest.raises(InvalidArgument) as info:
        op(kv, "bad\ud800key")
    assert not isinstance(info.value, TypeError)
    assert len(kv) == 0


def test_bad_key_type_in_keys_prefix(kv):
    kv[b"a"] = b"1"
    with pytest.raises(InvalidTypeError):
        list(kv.keys(prefix=1))


# ---------------------------------------------------------------- values

# Values refused: anything but bytes-like values when auto-pack is off, and
# values with no safe encoding when it is on (the default; no pickle).
BAD_VALUES = {
    "bytes-only:str": (False, "text"),
    "bytes-only:int": (False, 7),
    "bytes-only:None": (False, None),
    "bytes-only:list": (False, [1, 2]),
    "bytes-only:float": (False, 1.0),
    "bytes-only:dict": (False, {}),
    "auto:object": (True, object()),
    "auto:set": (True, {1, 2}),
    "auto:complex": (True, 1j),
    "auto:nested-set": (True, {"a": [1, {2}]}),
}

VALUE_OPS = {
    "setitem": lambda kv, v: kv.__setitem__(b"k", v),
    "put": lambda kv, v: kv.put(b"k", v),
    "update": lambda kv, v: kv.update({b"k": v}),
    "update_kw": lambda kv, v: kv.update(k=v),
    "setdefault": lambda kv, v: kv.setdefault(b"k", v),
}


def _mode(kv, auto_pack):
    if not auto_pack:
        kv.disable_auto_pack()


@pytest.mark.parametrize("op", VALUE_OPS.values(), ids=VALUE_OPS.keys())
@pytest.mark.parametrize("case", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_type_raises_invalid_type_error(kv, case, op):
    auto_pack, value = case
    _mode(kv, auto_pack)
    with pytest.raises(InvalidTypeError):
        op(kv, value)
    assert b"k" not in kv
    assert len(kv) == 0


@pytest.mark.parametrize("case", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_keeps_old_value(kv, case):
    auto_pack, value = case
    _mode(kv, auto_pack)
    kv[b"k"] = b"old"
    with pytest.raises(InvalidTypeError):
        kv[b"k"] = value
    assert kv[b"k"] == b"old"


@pytest.mark.parametrize("case", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_with_cache_on(kv, case):
    auto_pack, value = case
    _mode(kv, auto_pack)
    kv.enable_cache()
    with pytest.raises(InvalidTypeError):
        kv.put(b"k", value)
    assert kv.flush_cache() == 0
    assert b"k" not in kv


# --------------------------------------------------------------- options

BAD_OPTIONS = [
    {"chunk_size": 0},
    {"chunk_size": -1},
    {"retries": 0},
    {"retries": -3},
    {"backoff_base": -0.01},
    {"page_size": 1000},
    {"page_size": 256},
    {"page_size": 0},
    {"page_size": 131072},
    {"page_size": 3 * 4096},
    {"busy_timeout": -1.0},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_bad_option_values(vault_path, options):
    with pytest.raises(InvalidArgument):
        KVault(vault_path, **options)


BAD_TABLES = [
    "kv; DROP TABLE x",
    "",
    "1kv",
    "kv-x",
    "kv x",
    "a.b",
    'kv"',
    "kv'",
    "sqlite_master",
    "sqlite_foo",
    "ключ",
    "kv\x00",
]


@pytest.mark.parametrize("table", BAD_TABLES)
def test_bad_table_name_creates_nothing(tmp_path, table):
    target = tmp_path / "new.db"
    with pytest.raises(InvalidArgument):
        KVault(target, table=table)
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_sql_injection_table_name_leaves_existing_data(vault_path):
    with KVault(vault_path, table="x") as kv:
        kv[b"k"] = b"keep me"
    with pytest.raises(InvalidArgument):
        KVault(vault_path, table="kv; DROP TABLE x")
    with pytest.raises(InvalidArgument):
        KVault(vault_path, table="x; DELETE FROM x")
    assert read_back(vault_path, table="x") == {b"k": b"keep me"}


@pytest.mark.parametrize("path", [123, None, 1.5, [b"/tmp/x.db"]], ids=["int", "None", "float", "list"])
def test_bad_path_type(path):
    with pytest.raises(InvalidArgument):
        KVault(path)


# ------------------------------------------------------------ bad files


def _text_file(path):
    path.write_bytes(b"x" * 10240)


def _random_file(path):
    data = random.Random(1234).randbytes(16384)
    assert not data.startswith(b"SQLite format 3\x00")
    path.write_bytes(data)


def _damaged_database(path):
    with KVault(path, page_size=4096) as kv:
        kv.update({b"%04d" % i: b"v" * 200 for i in range(200)})
    raw = bytearray(path.read_bytes())
    # Keep the 100-byte header; wipe the rest of page 1 (the schema b-tree).
    raw[100:4096] = b"\xa5" * (4096 - 100)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "make_file", [_text_file, _random_file, _damaged_database], ids=["text", "random", "damaged"]
)
def test_non_database_file_raises_corruption_error(tmp_path, make_file):
    target = tmp_path / "bad.db"
    make_file(target)
    before = target.read_bytes()
    with pytest.raises(CorruptionError) as info:
        KVault(target)
    assert isinstance(info.value, IoError)
    assert isinstance(info.value, OSError)
    assert target.read_bytes() == before


def test_directory_as_path_raises_io_error(tmp_path):
    with pytest.raises(IoError):
        KVault(tmp_path)


# ----------------------------------------------------- stream endpoints


@pytest.mark.parametrize("reader", [123, None, object(), "a string", [b"x"]], ids=["int", "None", "object", "str", "list"])
def test_put_file_without_read_raises_invalid_type_error(kv, reader):
    with pytest.raises(InvalidTypeError):
        kv.put_file(b"k", reader)
    assert b"k" not in kv


@pytest.mark.parametrize("writer", [123, None, object(), io.BytesIO(b"x").read], ids=["int", "None", "object", "function"])
def test_get_to_file_without_write_raises_invalid_type_error(kv, writer):
    kv[b"k"] = b"value"
    with pytest.raises(InvalidTypeError):
        kv.get_to_file(b"k", writer)
    assert kv[b"k"] == b"value"
