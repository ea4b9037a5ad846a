"""KVault values beyond bytes: auto-packing, the value header, wrappers, safety.

Interop with the real kohakuvault package is checked both ways for every
encoding (tests at the end).
"""

from __future__ import annotations

import array
import pickle
import sqlite3

import kohakuvault
import kohakuvault.wrappers as kw
import numpy as np
import pytest

from ambervault import Cbor, InvalidArgument, InvalidTypeError, Json, KVault, MsgPack, Pickle
from conftest import strict_same

HEADER = bytes([0x89, 0x4B, 1])


def header(encoding: int, flags: int = 0) -> bytes:
    return bytes([0x89, 0x4B, 1, encoding, flags, 0, 0, 0, 0x56, 0x4B])


def stored(path, key: bytes) -> bytes:
    """The bytes in the file, read with the sqlite3 module."""
    con = sqlite3.connect(path)
    try:
        (value,) = con.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return bytes(value)
    finally:
        con.close()


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "vault.db")


@pytest.fixture
def kv(path):
    with KVault(path) as vault:
        yield vault




SCALARS = {
    "int-0": 0,
    "int-neg": -5,
    "int-epoch-ms": 1_700_000_000_000,
    "int-max": 2**63 - 1,
    "int-min": -(2**63),
    "uint-max": 2**64 - 1,
    "float": 1.5,
    "float-zero": 0.0,
    "float-negzero": -0.0,
    "float-nan": float("nan"),
    "float-inf": float("-inf"),
    "float-tiny": 5e-324,
    "float-integral": 3.0,
    "true": True,
    "false": False,
    "none": None,
    "str": "héllo ✓",
    "str-empty": "",
    "dict-order": {"b": 1, "a": [1, 2.5, None], "c": {"z": True}},
    "dict-int-keys": {1: "one", 2: b"two"},
    "list": [1, "x", b"raw", [2.5]],
    "nested-bytes": {"thumb": b"\x00\xff", "n": 3},
}


@pytest.mark.parametrize("value", SCALARS.values(), ids=SCALARS.keys())
def test_round_trip_keeps_type_and_value(kv, value):
    kv["k"] = value
    assert strict_same(kv["k"], value)


def test_tuples_come_back_as_lists(kv):
    kv["t"] = (1, (2, 3))
    assert kv["t"] == [1, [2, 3]]


ARRAYS = {
    "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
    "f64": np.array([1.5, np.nan, -np.inf]),
    "i8": np.array([-128, 127], dtype=np.int8),
    "i16": np.array([[1], [2]], dtype=np.int16),
    "i32": np.array([7], dtype=np.int32),
    "i64": np.array([2**62, -(2**62)], dtype=np.int64),
    "u8-8byte-payload": np.array([1, 2], dtype=np.uint8),  # as long as an int payload
    "u16-8byte-payload": np.array([7], dtype=np.uint16),
    "u32": np.array([2**32 - 1], dtype=np.uint32),
    "u64": np.array([2**64 - 1], dtype=np.uint64),
    "0-d": np.array(2.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float64),
    "non-contiguous": np.arange(10, dtype=np.int32)[::2],
}


@pytest.mark.parametrize("value", ARRAYS.values(), ids=ARRAYS.keys())
def test_numpy_arrays_round_trip(kv, value):
    kv["a"] = value
    back = kv["a"]
    assert isinstance(back, np.ndarray)
    assert back.dtype == value.dtype and back.shape == value.shape
    assert np.array_equal(back, value, equal_nan=value.dtype.kind == "f")


def test_numpy_scalars_are_numbers(kv):
    kv["f"] = np.float32(1.5)
    kv["i"] = np.int64(-3)
    assert strict_same(kv["f"], 1.5) and strict_same(kv["i"], -3)


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"bytes", b"bytes"),
        (bytearray(b"ba"), b"ba"),
        (memoryview(b"0123456789")[2:5], b"234"),
        (array.array("B", [1, 2]), b"\x01\x02"),
        (b"", b""),
    ],
    ids=["bytes", "bytearray", "memoryview", "array", "empty"],
)
def test_bytes_like_values_are_stored_raw(kv, path, value, expected):
    kv["r"] = value
    assert kv["r"] == expected
    assert stored(path, b"r") == expected  # no header: media files stay plain files


@pytest.mark.parametrize(
    "raw",
    [
        header(4) + b"\x01",  # a complete, valid header
        header(0),  # a header with nothing after it
        header(6, 0x04) + "text".encode(),
    ],
    ids=["msgpack-lookalike", "bare-header", "flagged"],
)
def test_raw_bytes_that_look_like_a_header_come_back_byte_for_byte(kv, path, raw):
    kv["r"] = raw
    assert kv["r"] == raw
    assert stored(path, b"r") == header(0) + raw  # kept behind a raw header
    with kohakuvault.KVault(path) as other:
        assert other["r"] == raw


def test_raw_bytes_starting_with_the_magic_but_no_valid_header(kv, path):
    for raw in [HEADER, bytes([0x89, 0x4B, 2, 4, 0, 0, 0, 0, 0x56, 0x4B]), header(9), header(4)[:9]]:
        kv["r"] = raw
        assert kv["r"] == raw
        assert stored(path, b"r") == raw


def test_values_items_get_pop_setdefault_decode(kv):
    kv.update({"a": 1, "b": {"x": [1]}, "c": b"raw"})
    assert list(kv.values()) == [1, {"x": [1]}, b"raw"]
    assert list(kv.items()) == [(b"a", 1), (b"b", {"x": [1]}), (b"c", b"raw")]
    assert kv.get("a") == 1 and kv.get("zz", "dflt") == "dflt"
    assert kv.setdefault("a", 99) == 1
    assert kv.setdefault("d", [4]) == [4] and kv["d"] == [4]
    assert kv.pop("b") == {"x": [1]}
    assert "b" not in kv


def test_cache_holds_encoded_values(kv):
    with kv.cache(cap_bytes=1 << 20):
        kv["n"] = 7
        kv["s"] = "pending"
        assert kv["n"] == 7 and kv["s"] == "pending"
    assert kv["n"] == 7 and kv["s"] == "pending"


def test_streams_stay_raw(kv, tmp_path):
    import io

    kv.put_file("blob", io.BytesIO(header(4) + b"\x01"))
    out = io.BytesIO()
    kv.get_to_file("blob", out)
    assert out.getvalue() == header(4) + b"\x01"


# --------------------------------------------------------------- wrappers


@pytest.mark.parametrize(
    "wrapper, encoding, value",
    [
        (MsgPack, 4, {"b": 1, "a": b"x"}),
        (Json, 3, {"b": 1, "a": [1.5, None, "s"]}),
        (Cbor, 5, {"b": 1, 2: b"x"}),
    ],
    ids=["msgpack", "json", "cbor"],
)
def test_wrappers_force_an_encoding(kv, path, wrapper, encoding, value):
    kv["w"] = wrapper(value)
    assert stored(path, b"w")[:10] == header(encoding)
    assert strict_same(kv["w"], value)


def test_json_wrapper_text_is_plain_json(kv, path):
    import json

    kv["j"] = Json({"a": [1, 2]})
    assert json.loads(stored(path, b"j")[10:]) == {"a": [1, 2]}


def test_kohakuvault_wrappers_are_accepted(kv):
    kv["m"] = kw.MsgPack([1, 2])
    kv["j"] = kw.Json({"a": 1})
    kv["c"] = kw.Cbor("s")
    assert kv["m"] == [1, 2] and kv["j"] == {"a": 1} and kv["c"] == "s"


def test_unknown_wrapper_encoding_is_an_error(kv):
    from ambervault.wrappers import EncodingWrapper

    with pytest.raises(InvalidArgument, match="unknown wrapper encoding"):
        kv["x"] = EncodingWrapper(1, "yaml")
    assert "x" not in kv


def test_wrapped_value_the_encoding_cannot_hold_is_an_error(kv):
    with pytest.raises(ValueError):
        kv["x"] = Json({"a": float("nan")})
    with pytest.raises(ValueError):
        kv["x"] = Json({"a": b"bytes"})
    assert "x" not in kv


# --------------------------------------------------------------- pickle and safety


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Point) and other.x == self.x


def test_no_pickle_by_default(kv):
    with pytest.raises(InvalidTypeError, match="'Point'"):
        kv["p"] = Point(1)
    with pytest.raises(TypeError):
        kv["s"] = {1, 2}
    with pytest.raises(TypeError):
        kv["d"] = {"k": Point(1)}
    assert len(kv) == 0


def test_pickle_opt_in(kv):
    kv.enable_auto_pack(use_pickle=True)
    kv["p"] = Point(3)
    kv["s"] = {1, 2}
    kv["d"] = {"k": Point(1)}  # a container MessagePack cannot hold: pickled whole
    kv["huge"] = 2**100
    assert kv["p"] == Point(3) and kv["s"] == {1, 2} and kv["d"] == {"k": Point(1)}
    assert kv["huge"] == 2**100


def test_explicit_pickle_wrapper_needs_opt_in_to_read(kv):
    kv["p"] = Pickle(Point(5))  # an explicit request: allowed
    with pytest.raises(InvalidArgument, match="use_pickle=True"):
        kv["p"]
    kv.enable_auto_pack(use_pickle=True)
    assert kv["p"] == Point(5)


def test_reading_a_pickled_value_never_unpickles_without_opt_in(kv, path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    con = sqlite3.connect(path)
    con.execute("INSERT INTO kv(key, value) VALUES (?, ?)", (b"evil", header(1) + pickle.dumps(Boom())))
    con.commit()
    con.close()
    with pytest.raises(InvalidArgument, match="pickled"):
        kv["evil"]
    with pytest.raises(InvalidArgument):
        list(kv.values())


# --------------------------------------------------------------- modes


def test_disable_auto_pack_is_bytes_only(kv):
    kv["n"] = 5
    kv.disable_auto_pack()
    assert not kv.auto_pack_enabled()
    assert kv["n"][:10] == header(4)  # stored bytes as they are
    with pytest.raises(InvalidTypeError):
        kv["m"] = 5
    kv["b"] = b"ok"
    assert kv["b"] == b"ok"
    kv.enable_auto_pack()
    assert kv.auto_pack_enabled() and kv.headers_enabled()
    assert kv["n"] == 5


def test_disable_headers_refuses_values_that_need_one(kv):
    kv["n"] = 5
    kv.disable_headers()
    assert not kv.headers_enabled()
    with pytest.raises(InvalidTypeError, match="headers are disabled"):
        kv["m"] = 6
    kv["raw"] = b"\x89K\x01 bytes"
    assert kv["raw"] == b"\x89K\x01 bytes"
    assert kv["n"] == 5  # stored headers still decode
    kv.enable_headers()
    kv["m"] = 6
    assert kv["m"] == 6


def test_auto_pack_is_per_vault_object(path):
    with KVault(path) as a, KVault(path) as b:
        a["n"] = 1
        b.disable_auto_pack()
        assert a["n"] == 1 and b["n"][:10] == header(4)


# --------------------------------------------------------------- interop


INTEROP = {
    "int": 42,
    "neg": -7,
    "float": 2.5,
    "str": "héllo",
    "dict": {"a": 1, "b": [1, 2]},  # sorted keys: KohakuVault sorts them
    "list": [1, "x", None],
    "true": True,
    "none": None,
    "bytes": b"\x00raw",
    "epoch": 1_700_000_000_000,
    "uint": 2**64 - 1,
    "negzero": -0.0,
}


@pytest.mark.parametrize("key", INTEROP, ids=INTEROP.keys())
def test_kohakuvault_reads_what_ambervault_writes(path, key):
    value = INTEROP[key]
    with KVault(path) as kv:
        kv[key] = value
    with kohakuvault.KVault(path) as other:
        assert strict_same(other[key], value)


@pytest.mark.parametrize(
    "value",
    [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2, 3], dtype=np.int64), np.zeros(4, np.uint8)],
    ids=["f32-2d", "i64", "u8"],
)
def test_kohakuvault_reads_ambervault_arrays(path, value):
    with KVault(path) as kv:
        kv["a"] = value
    with kohakuvault.KVault(path) as other:
        assert np.array_equal(other["a"], value) and other["a"].dtype == value.dtype


def test_kohakuvault_reads_ambervault_wrappers(path):
    with KVault(path) as kv:
        kv["j"] = Json({"a": [1, 2]})
        kv["c"] = Cbor({"a": 1})
        kv["m"] = MsgPack([1, 2])
        kv["p"] = Pickle({1, 2})
    with kohakuvault.KVault(path) as other:
        assert other["j"] == {"a": [1, 2]} and other["c"] == {"a": 1} and other["m"] == [1, 2]
        assert other["p"] == {1, 2}


KOHAKU_WRITES = {
    "int": 42,
    "neg": -(10**12 - 1),
    "float": 2.5,
    "str": "héllo",
    "dict": {"a": 1, "b": [1, 2]},
    "list": [1, "x"],
    "bytes": b"\x00raw",
    "array": np.arange(6, dtype=np.float32).reshape(2, 3),
    "json": kw.Json({"a": 1}),
    "cbor": kw.Cbor({"a": [1, 2]}),
    "msgpack": kw.MsgPack({"a": 1}),
}


@pytest.mark.parametrize("key", KOHAKU_WRITES, ids=KOHAKU_WRITES.keys())
def test_ambervault_reads_what_kohakuvault_writes(path, key):
    value = KOHAKU_WRITES[key]
    with kohakuvault.KVault(path) as other:
        other[key] = value
    with KVault(path) as kv:
        back = kv[key]
    expected = value.data if isinstance(value, kw.EncodingWrapper) else value
    if isinstance(expected, np.ndarray):
        assert np.array_equal(back, expected) and back.dtype == expected.dtype
    else:
        assert strict_same(back, expected)


def test_ambervault_reads_kohakuvault_pickles_only_after_opt_in(path):
    with kohakuvault.KVault(path) as other:
        other["none"] = None  # KohakuVault pickles None
        other["set"] = {1, 2}
    with KVault(path) as kv:
        with pytest.raises(InvalidArgument):
            kv["set"]
        kv.enable_auto_pack(use_pickle=True)
        assert kv["set"] == {1, 2} and kv["none"] is None


def test_kohakuvault_int_float_heuristic_is_reproduced(path):
    # KohakuVault writes ints and floats as 8 bytes with nothing telling
    # them apart; AmberVault decodes its values exactly as KohakuVault does.
    with kohakuvault.KVault(path) as other:
        for i, v in enumerate([7, -(10**12) + 1, 10**12, 2.5, -0.0, 1e300]):
            other[f"v{i}"] = v
        expected = [other[f"v{i}"] for i in range(6)]
    with KVault(path) as kv:
        got = [kv[f"v{i}"] for i in range(6)]
    assert all(strict_same(a, b) for a, b in zip(got, expected)), (got, expected)


def test_feature_rows_are_recorded_like_kohakuvault(path):
    with KVault(path) as kv:
        assert kv.features() == []
        kv.enable_auto_pack()
        kv.enable_headers()
        kv.enable_auto_pack()
        assert kv.features() == ["auto_pack_v1", "headers_v1"]
    con = sqlite3.connect(path)
    rows = con.execute("SELECT key, value FROM kohakuvault_meta").fetchall()
    con.close()
    assert rows == [("kv_features", "auto_pack_v1,headers_v1")]
    with kohakuvault.KVault(path) as other:  # KohakuVault opens the file with the table in place
        other["x"] = 1
        assert other["x"] == 1


def test_read_only_vault_can_enable_auto_pack(path):
    with KVault(path) as kv:
        kv["n"] = 1
    with KVault(path, read_only=True) as ro:
        ro.enable_auto_pack()
        assert ro["n"] == 1
