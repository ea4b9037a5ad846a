"""Behaviour of ambervault.DataPacker: dtype grammar, properties, pack and
unpack of every dtype, pack_many / unpack_many, JSON Schema packers, malformed
input and use from several threads.

Reference: KohakuVault 1.1.0's DataPacker (i64, f64, str, bytes, msgpack,
cbor, vec:*), extended by the AmberVault spec (i8..u64, f32, bool, json,
text encodings, optional unpack offset, numpy fast paths). Byte layouts
shared with KohakuVault, msgpack and cbor2 are in test_packer_interop.py.
"""

import datetime
import json
import math
import pickle
import random
import struct
import threading
import zlib
from decimal import Decimal

import numpy as np
import pytest

from ambervault import (
    DataPacker,
    InvalidArgument,
    InvalidTypeError,
    OutOfRangeError,
)

from conftest import run_python, strict_same

INF = float("inf")
NAN = float("nan")

INT_FORMATS = {
    "i8": "b",
    "i16": "h",
    "i32": "i",
    "i64": "q",
    "u8": "B",
    "u16": "H",
    "u32": "I",
    "u64": "Q",
}
INT_RANGES = {
    name: ((-(1 << (8 * struct.calcsize(f) - 1)), (1 << (8 * struct.calcsize(f) - 1)) - 1)
           if name[0] == "i" else (0, (1 << (8 * struct.calcsize(f))) - 1))
    for name, f in INT_FORMATS.items()
}
INT_NUMPY = {
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "u8": np.uint8,
    "u16": np.uint16,
    "u32": np.uint32,
    "u64": np.uint64,
}
FLOAT_NUMPY = {"f32": np.float32, "f64": np.float64}
SCALAR_NUMPY = {**INT_NUMPY, **FLOAT_NUMPY, "bool": np.bool_}

# vec element type names -> numpy dtype (both spellings).
VEC_TYPES = {
    "f32": np.float32,
    "f64": np.float64,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "u8": np.uint8,
    "u16": np.uint16,
    "u32": np.uint32,
    "u64": np.uint64,
}
VEC_LONG_NAMES = {
    "f32": "float32",
    "f64": "float64",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
}
# KohakuVault's element type codes (first byte of a vec element).
VEC_CODES = {
    "f32": 1,
    "f64": 2,
    "i32": 3,
    "i64": 4,
    "u8": 5,
    "u16": 6,
    "u32": 7,
    "u64": 8,
    "i8": 9,
    "i16": 10,
}

# One dtype of every kind (and most variants), used by the generic tests.
ALL_DTYPES = [
    *INT_FORMATS,
    "f32",
    "f64",
    "bool",
    "str",
    "str:utf16le",
    "str:utf16be",
    "str:ascii",
    "str:latin1",
    "str:8",
    "str:8:utf16le",
    "str:8:utf16be",
    "str:6:ascii",
    "str:6:latin1",
    "bytes",
    "bytes:5",
    "msgpack",
    "msgpack:24",
    "cbor",
    "cbor:24",
    "json",
    "vec:f32",
    "vec:f64",
    "vec:i8",
    "vec:u16",
    "vec:i64",
    "vec:u64",
    "vec:f32:3",
    "vec:f64:2:2",
    "vec:i16:2:3",
    "vec:u8:10",
    "vec:i32:1",
]




def decoded(value, key=False):
    """What a msgpack/cbor round trip gives back for `value`: tuples become
    lists (tuples inside map keys stay tuples), bytearray becomes bytes."""
    if isinstance(value, (list, tuple)):
        items = [decoded(v, key) for v in value]
        return tuple(items) if key else items
    if isinstance(value, dict):
        return {decoded(k, True): decoded(v) for k, v in value.items()}
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def assert_roundtrip(packer, value, expected=None):
    expected = decoded(value) if expected is None else expected
    data = packer.pack(value)
    assert isinstance(data, bytes)
    got = packer.unpack(data)
    assert strict_same(got, expected), (packer.dtype, value, got)
    return data


def nested_list(depth, leaf=0):
    v = leaf
    for _ in range(depth):
        v = [v]
    return v


def nested_dict(depth, leaf=0):
    v = leaf
    for _ in range(depth):
        v = {"k": v}
    return v


# ====================================================================== dtype


@pytest.mark.parametrize(
    "dtype, size",
    [
        ("i8", 1), ("i16", 2), ("i32", 4), ("i64", 8),
        ("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8),
        ("f32", 4), ("f64", 8), ("bool", 1),
        ("str", 0), ("string", 0), ("str:utf8", 0), ("str:utf16le", 0),
        ("str:8", 8), ("str:8:utf16le", 8), ("str:3:latin1", 3), ("str:1:ascii", 1),
        ("str:utf-8", 0), ("str:32:utf-16be", 32), ("str:iso-8859-1", 0),
        ("bytes", 0), ("bytes:0", 0), ("bytes:7", 7), ("bytes:1", 1),
        ("msgpack", 0), ("messagepack", 0), ("msgpack:32", 32), ("messagepack:5", 5),
        ("cbor", 0), ("cbor:32", 32),
        ("json", 0),
        ("vec:f32", 0), ("vec:u8", 0),
        ("vec:f32:3:4", 49), ("vec:u8:10", 11), ("vec:f64:2", 17),
        ("vec:i16:2:3", 13), ("vec:float32:3", 13), ("vec:uint64:1:1:1", 9),
        ("vec:i8:2:3:4", 25),
    ],
)
def test_elem_size_and_is_varsize(dtype, size):
    p = DataPacker(dtype)
    assert p.elem_size == size
    assert p.is_varsize is (size == 0)


@pytest.mark.parametrize(
    "spelling, other",
    [
        ("I64", "i64"),
        ("F32", "f32"),
        ("BOOL", "bool"),
        ("STRING", "str"),
        ("string", "str"),
        ("str:utf8", "str"),
        ("str:UTF-8", "str"),
        ("Str:8:UTF8", "str:8"),
        ("str:8:utf-8", "str:8"),
        ("str:utf-16le", "str:utf16le"),
        ("str:4:UTF-16BE", "str:4:utf16be"),
        ("str:iso-8859-1", "str:latin1"),
        ("str:ASCII", "str:ascii"),
        ("BYTES", "bytes"),
        ("bytes:0", "bytes"),
        ("Bytes:4", "bytes:4"),
        ("messagepack", "msgpack"),
        ("MSGPACK:8", "msgpack:8"),
        ("MessagePack:8", "msgpack:8"),
        ("CBOR", "cbor"),
        ("JSON", "json"),
        ("vec:float32", "vec:f32"),
        ("VEC:F32:3:4", "vec:f32:3:4"),
        ("vec:float32:3:4", "vec:f32:3:4"),
        ("vec:uint8:10", "vec:u8:10"),
        ("vec:int16", "vec:i16"),
        ("vec:Float64:2", "vec:f64:2"),
    ],
)
def test_equivalent_spellings(spelling, other):
    a, b = DataPacker(spelling), DataPacker(other)
    assert a == b
    assert not (a != b)
    assert hash(a) == hash(b)
    assert a.dtype == b.dtype
    assert a.elem_size == b.elem_size


@pytest.mark.parametrize(
    "name", sorted(set(ALL_DTYPES) | {"str:16:latin1", "vec:float64:2:3", "messagepack:12"})
)
def test_dtype_is_canonical_and_reparses(name):
    p = DataPacker(name)
    assert isinstance(p.dtype, str)
    assert p.dtype == p.dtype.lower()
    again = DataPacker(p.dtype)
    assert again == p
    assert again.dtype == p.dtype
    assert again.elem_size == p.elem_size


def test_dtype_canonical_examples():
    assert DataPacker("STRING").dtype == "str"
    assert DataPacker("I64").dtype == "i64"
    assert DataPacker("vec:float32:3:4").dtype == "vec:f32:3:4"
    assert DataPacker("str:8:utf-8").dtype in ("str:8", "str:8:utf8")
    assert DataPacker("str:utf-16le").dtype == "str:utf16le"


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_repr_contains_dtype(name):
    p = DataPacker(name)
    r = repr(p)
    assert r.startswith("DataPacker(")
    assert p.dtype in r


def test_repr_example():
    assert "'i64'" in repr(DataPacker("i64"))


def test_equality_and_hash():
    assert DataPacker("i64") == DataPacker("i64")
    assert DataPacker("i64") != DataPacker("i32")
    assert DataPacker("str:8") != DataPacker("str:8:utf16le")
    assert DataPacker("str:8") != DataPacker("str:9")
    assert DataPacker("str") != DataPacker("bytes")
    assert DataPacker("msgpack") != DataPacker("cbor")
    assert DataPacker("msgpack") != DataPacker("msgpack:8")
    assert DataPacker("vec:f32:3") != DataPacker("vec:f32")
    assert DataPacker("vec:f32:3") != DataPacker("vec:f64:3")
    assert DataPacker("vec:f32:2:3") != DataPacker("vec:f32:3:2")
    assert DataPacker("i64") != "i64"
    assert not (DataPacker("i64") == "i64")
    assert DataPacker("i64") != None  # noqa: E711
    packers = {DataPacker(d) for d in ALL_DTYPES}
    assert len(packers) == len(ALL_DTYPES)
    assert DataPacker("I64") in packers
    assert {DataPacker("messagepack"): 1}[DataPacker("msgpack")] == 1


@pytest.mark.parametrize("name", ALL_DTYPES + ["messagepack:7", "str:4:utf-16be"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip(name, protocol):
    p = DataPacker(name)
    q = pickle.loads(pickle.dumps(p, protocol=protocol))
    assert type(q) is DataPacker
    assert q == p
    assert hash(q) == hash(p)
    assert q.dtype == p.dtype
    assert q.elem_size == p.elem_size
    assert q.is_varsize == p.is_varsize


def test_pickled_packer_packs_the_same():
    for name, value in [("i16", -3), ("str:8:utf16be", "hé"), ("vec:f32:2", [1, 2]),
                        ("msgpack", {"b": [1, None]}), ("bytes:3", b"x")]:
        p = DataPacker(name)
        q = pickle.loads(pickle.dumps(p))
        assert q.pack(value) == p.pack(value)


@pytest.mark.parametrize(
    "dtype, part",
    [
        ("i65", "i65"),
        ("i7", "i7"),
        ("u128", "u128"),
        ("f16", "f16"),
        ("int", "int"),
        ("float", "float"),
        ("str:abc:utf8", "abc"),
        ("str:abc", "abc"),
        ("str:8:klingon", "klingon"),
        ("str:klingon", "klingon"),
        ("str:utf32", "utf32"),
        ("vec:f32:0", "0"),
        ("vec:f32:3:0", "0"),
        ("vec:q8", "q8"),
        ("vec:f32:x", "x"),
        ("vec:f32:-2", "-2"),
        ("bytes:-1", "-1"),
        ("bytes:abc", "abc"),
        ("msgpack:xyz", "xyz"),
        ("cbor:-4", "-4"),
        ("blob", "blob"),
    ],
)
def test_bad_dtype_names_the_bad_part(dtype, part):
    with pytest.raises(ValueError) as info:
        DataPacker(dtype)
    assert part in str(info.value), str(info.value)
    assert isinstance(info.value, InvalidArgument)


@pytest.mark.parametrize(
    "dtype",
    [
        "",
        ":",
        "vec",
        "vec:",
        "vec:f32:",
        "vec:f32:3:",
        "vec::3",
        "str:8:utf8:extra",
        "str:8:9",
        "i64:8",
        "bool:1",
        "f64:2",
        "bytes:4:4",
        "json:10",
        "msgpack:8:8",
        "vec:f32:4294967296",
        "vec:f32:99999999999999999999999",
        "str:99999999999999999999999",
        "bytes:99999999999999999999999",
        "msgpack:99999999999999999999999",
        "i64 ",
        " i64",
        "i\x0064",
    ],
)
def test_bad_dtype_raises_value_error(dtype):
    with pytest.raises(ValueError):
        DataPacker(dtype)


@pytest.mark.parametrize("bad", [None, 64, b"i64", ["i64"], 1.5])
def test_dtype_of_wrong_type_raises_type_error(bad):
    with pytest.raises(TypeError):
        DataPacker(bad)


# ==================================================================== integers


@pytest.mark.parametrize("name", INT_FORMATS)
def test_int_layout_and_full_range(name):
    p = DataPacker(name)
    fmt = "<" + INT_FORMATS[name]
    lo, hi = INT_RANGES[name]
    values = {lo, lo + 1, hi, hi - 1, 0, 1, 100, (lo + hi) // 2}
    if lo < 0:
        values |= {-1, -100}
    for v in sorted(values):
        data = p.pack(v)
        assert data == struct.pack(fmt, v), v
        got = p.unpack(data)
        assert type(got) is int and got == v


@pytest.mark.parametrize("name", INT_FORMATS)
def test_int_out_of_range(name):
    p = DataPacker(name)
    lo, hi = INT_RANGES[name]
    for v in [hi + 1, lo - 1, hi * 4, lo - 2**70, 2**200, -(2**200)]:
        with pytest.raises(OverflowError):
            p.pack(v)


def test_int_out_of_range_examples():
    for name, v in [("u8", 256), ("u8", -1), ("i64", 2**63), ("u64", 2**64),
                    ("i8", 128), ("i8", -129), ("u64", -1), ("i64", -(2**63) - 1)]:
        with pytest.raises(OverflowError) as info:
            DataPacker(name).pack(v)
        assert isinstance(info.value, OutOfRangeError)
        assert isinstance(info.value, ValueError)


def test_int_accepts_bool_numpy_and_index():
    class Index:
        def __index__(self):
            return 7

    p = DataPacker("i32")
    assert p.pack(True) == struct.pack("<i", 1)
    assert p.pack(False) == struct.pack("<i", 0)
    assert p.pack(np.int8(-5)) == struct.pack("<i", -5)
    assert p.pack(np.uint16(65535)) == struct.pack("<i", 65535)
    assert p.pack(np.int64(-(2**31))) == struct.pack("<i", -(2**31))
    assert p.pack(Index()) == struct.pack("<i", 7)
    assert DataPacker("u64").pack(np.uint64(2**64 - 1)) == b"\xff" * 8
    assert DataPacker("i64").pack(np.int64(-(2**63))) == struct.pack("<q", -(2**63))
    with pytest.raises(OverflowError):
        DataPacker("u8").pack(np.int64(-1))
    with pytest.raises(OverflowError):
        DataPacker("i64").pack(np.uint64(2**64 - 1))
    with pytest.raises(OverflowError):
        DataPacker("i8").pack(np.int16(128))


@pytest.mark.parametrize("name", INT_FORMATS)
@pytest.mark.parametrize(
    "bad", [1.0, 1.5, np.float64(2.0), np.float32(1), "1", b"1", None, [1], Decimal(1), 1j],
    ids=repr,
)
def test_int_rejects_non_integers(name, bad):
    with pytest.raises(TypeError) as info:
        DataPacker(name).pack(bad)
    assert isinstance(info.value, InvalidTypeError) or not isinstance(info.value, ValueError)


def test_int_index_raising_propagates():
    class Bad:
        def __index__(self):
            raise ZeroDivisionError("nope")

    with pytest.raises(ZeroDivisionError):
        DataPacker("i64").pack(Bad())


@pytest.mark.parametrize("name", INT_FORMATS)
def test_int_unpack_offsets_and_buffers(name):
    p = DataPacker(name)
    fmt = "<" + INT_FORMATS[name]
    size = p.elem_size
    lo, hi = INT_RANGES[name]
    data = struct.pack("<" + INT_FORMATS[name] * 3, lo, 5, hi)
    assert p.unpack(data) == lo
    assert p.unpack(data, size) == 5
    assert p.unpack(data, offset=2 * size) == hi
    assert p.unpack(data, 1) == struct.unpack_from(fmt, data, 1)[0]
    assert p.unpack(bytearray(data), size) == 5
    assert p.unpack(memoryview(data), 2 * size) == hi
    assert p.unpack(memoryview(data)[size:]) == 5
    with pytest.raises(ValueError):
        p.unpack(data, 2 * size + 1)  # too few bytes left
    with pytest.raises(ValueError):
        p.unpack(data, len(data))
    with pytest.raises(ValueError):
        p.unpack(data, len(data) + 5)
    with pytest.raises(ValueError):
        p.unpack(data[: size - 1] if size > 1 else b"")
    with pytest.raises(ValueError):
        p.unpack(b"")


@pytest.mark.parametrize("name", ["i64", "f32", "bool", "str", "str:4", "bytes", "msgpack", "vec:f32"])
def test_negative_offset_raises_value_error(name):
    p = DataPacker(name)
    data = b"\x00" * 32
    with pytest.raises(ValueError):
        p.unpack(data, -1)
    with pytest.raises(ValueError):
        p.unpack(data, offset=-8)


@pytest.mark.parametrize("name", ["str", "bytes", "msgpack", "cbor", "json", "vec:f32"])
def test_variable_offset_past_the_end_raises(name):
    p = DataPacker(name)
    with pytest.raises(ValueError):
        p.unpack(b"abc", 4)
    with pytest.raises(ValueError):
        p.unpack(b"", 1)


@pytest.mark.parametrize("name", ["i64", "str", "bytes:2", "msgpack", "vec:f32"])
@pytest.mark.parametrize("bad", ["abc", None, 5, [0, 1]], ids=repr)
def test_unpack_non_buffer_raises_type_error(name, bad):
    with pytest.raises(TypeError):
        DataPacker(name).unpack(bad)


# ====================================================================== floats


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize(
    "value",
    [0.0, 1.0, -1.5, 0.1, 1 / 3, 3.14159, 1e-30, 1e30, 1e-45, 1e-50, 3.4028234663852886e38,
     3.4028235e38, -3.4028235e38, 16777217.0, 123456789, -7, 2**100],
)
def test_f32_rounds_like_struct(value):
    p = DataPacker("f32")
    data = p.pack(value)
    assert data == struct.pack("<f", value)
    got = p.unpack(data)
    assert type(got) is float
    assert got == f32(value)


@pytest.mark.parametrize("value", [1e39, -1e39, 3.4028236e38, 1e300, 2**200, -(2**130)])
def test_f32_out_of_range(value):
    with pytest.raises(OverflowError) as info:
        DataPacker("f32").pack(value)
    assert isinstance(info.value, OutOfRangeError)


@pytest.mark.parametrize("name", ["f32", "f64"])
def test_float_specials(name):
    p = DataPacker(name)
    fmt = "<" + ("f" if name == "f32" else "d")
    for v in [INF, -INF]:
        assert p.pack(v) == struct.pack(fmt, v)
        assert p.unpack(p.pack(v)) == v
    assert math.isnan(p.unpack(p.pack(NAN)))
    neg_zero = p.unpack(p.pack(-0.0))
    assert neg_zero == 0.0 and math.copysign(1.0, neg_zero) == -1.0
    assert p.pack(-0.0) == struct.pack(fmt, -0.0)
    assert p.pack(0.0) == bytes(p.elem_size)


@pytest.mark.parametrize(
    "value", [0.0, 0.1, -2.5, 1e308, -1e-308, 5e-324, 2.0**-1074, 1.7976931348623157e308, 2**53 + 1, -(2**63), 10**20]
)
def test_f64_exact(value):
    p = DataPacker("f64")
    data = p.pack(value)
    assert data == struct.pack("<d", value)
    got = p.unpack(data)
    assert type(got) is float and got == float(value)


def test_f64_nan_bits_round_trip():
    p = DataPacker("f64")
    for hexbits in ["7ff8000000000000", "fff8000000000000", "7ff8000000000123", "7ff0000000000001",
                    "fff7ffffffffffff"]:
        raw = bytes.fromhex(hexbits)[::-1]  # little-endian
        value = p.unpack(raw)
        assert math.isnan(value)
        assert p.pack(value) == raw, hexbits


def test_f64_int_too_big_for_float():
    with pytest.raises(OverflowError):
        DataPacker("f64").pack(10**400)


@pytest.mark.parametrize("name", ["f32", "f64"])
def test_float_accepts_ints_bools_numpy(name):
    p = DataPacker(name)
    fmt = "<" + ("f" if name == "f32" else "d")
    assert p.pack(3) == struct.pack(fmt, 3.0)
    assert p.pack(True) == struct.pack(fmt, 1.0)
    assert p.pack(np.float32(0.1)) == struct.pack(fmt, float(np.float32(0.1)))
    assert p.pack(np.float64(0.1)) == struct.pack(fmt, 0.1)
    assert p.pack(np.int32(-4)) == struct.pack(fmt, -4.0)
    assert p.unpack(p.pack(2)) == 2.0


@pytest.mark.parametrize("name", ["f32", "f64"])
@pytest.mark.parametrize("bad", ["1.0", b"\x00" * 8, None, [1.0], 1j], ids=repr)
def test_float_rejects_non_numbers(name, bad):
    with pytest.raises(TypeError):
        DataPacker(name).pack(bad)


def test_float_unpack_offsets():
    data = struct.pack("<dd", 1.5, -2.25)
    assert DataPacker("f64").unpack(data, 8) == -2.25
    assert DataPacker("f32").unpack(struct.pack("<ff", 1.5, -2.25), 4) == -2.25
    with pytest.raises(ValueError):
        DataPacker("f64").unpack(data, 9)
    with pytest.raises(ValueError):
        DataPacker("f32").unpack(b"\x00\x00\x00")


# ======================================================================== bool


def test_bool_pack_unpack():
    p = DataPacker("bool")
    assert p.pack(True) == b"\x01"
    assert p.pack(False) == b"\x00"
    assert p.pack(1) == b"\x01"
    assert p.pack(0) == b"\x00"
    assert p.pack(np.True_) == b"\x01"
    assert p.pack(np.False_) == b"\x00"
    assert p.unpack(b"\x01") is True
    assert p.unpack(b"\x00") is False
    assert p.unpack(b"\x00\x01", 1) is True
    assert p.unpack(bytearray(b"\x01")) is True
    with pytest.raises(ValueError):
        p.unpack(b"")


@pytest.mark.parametrize("value", [2, -1, 255, 256, 2**70])
def test_bool_rejects_other_ints(value):
    with pytest.raises((OverflowError, ValueError)):
        DataPacker("bool").pack(value)


@pytest.mark.parametrize("bad", ["x", "True", b"\x01", None, [True]], ids=repr)
def test_bool_rejects_non_bools(bad):
    with pytest.raises((TypeError, ValueError)):
        DataPacker("bool").pack(bad)


@pytest.mark.parametrize("byte", [2, 3, 0x10, 0x80, 0xFF])
def test_bool_unpack_other_byte_raises(byte):
    with pytest.raises(ValueError):
        DataPacker("bool").unpack(bytes([byte]))


# ===================================================================== strings

TEXTS = ["", "a", "hello world", "héllo wörld", "日本語テキスト", "emoji 😀🎉 mix", "\x00inner\x00nul", "tab\tnewline\n"]


@pytest.mark.parametrize(
    "enc, codec",
    [("utf8", "utf-8"), ("utf-8", "utf-8"), ("utf16le", "utf-16-le"), ("utf-16le", "utf-16-le"),
     ("utf16be", "utf-16-be"), ("utf-16be", "utf-16-be")],
)
def test_variable_string_layouts(enc, codec):
    p = DataPacker(f"str:{enc}")
    for text in TEXTS:
        data = p.pack(text)
        assert data == text.encode(codec), text
        got = p.unpack(data)
        assert type(got) is str and got == text


def test_default_string_is_utf8():
    for name in ["str", "string", "STR"]:
        p = DataPacker(name)
        for text in TEXTS:
            assert p.pack(text) == text.encode()
            assert p.unpack(text.encode()) == text


def test_variable_string_keeps_trailing_nul():
    for name in ["str", "str:utf16le", "str:utf16be", "str:latin1", "str:ascii"]:
        p = DataPacker(name)
        assert p.unpack(p.pack("a\x00")) == "a\x00"
        assert p.unpack(p.pack("\x00")) == "\x00"


def test_variable_string_unpack_at_offset():
    p = DataPacker("str")
    assert p.unpack(b"xxhello", 2) == "hello"
    assert p.unpack(b"abc", 3) == ""
    assert p.unpack(bytearray("xé".encode()), 1) == "é"
    assert DataPacker("str:utf16le").unpack(b"\xff\xffA\x00B\x00", 2) == "AB"


def test_fixed_string_padding_and_strip():
    p = DataPacker("str:8")
    assert p.pack("abc") == b"abc" + b"\x00" * 5
    assert p.unpack(p.pack("abc")) == "abc"
    assert p.pack("") == b"\x00" * 8
    assert p.unpack(b"\x00" * 8) == ""
    assert p.pack("abcdefgh") == b"abcdefgh"
    assert p.unpack(b"abcdefgh") == "abcdefgh"
    assert p.pack("é") == "é".encode() + b"\x00" * 6
    assert p.unpack(p.pack("é")) == "é"
    # only trailing NULs are stripped
    assert p.unpack(b"ab\x00cd\x00\x00\x00") == "ab\x00cd"
    assert p.unpack(p.pack("a\x00")) == "a"
    # more data after the element is fine; offsets
    assert p.unpack(b"abcdefghXYZ") == "abcdefgh"
    assert p.unpack(b"--hi" + b"\x00" * 6, 2) == "hi"
    with pytest.raises(ValueError):
        p.unpack(b"abc")
    with pytest.raises(ValueError):
        p.unpack(b"abcdefgh", 1)


def test_fixed_string_too_long():
    cases = [
        ("str:8", "abcdefghi"),
        ("str:5", "日本"),  # 6 bytes in UTF-8: never truncated mid-character
        ("str:1", "é"),
        ("str:8:utf16le", "abcde"),
        ("str:8:utf16be", "abc😀"),
        ("str:3:latin1", "abcd"),
        ("str:3:ascii", "abcd"),
    ]
    for name, text in cases:
        with pytest.raises(ValueError, match="Data too long"):
            DataPacker(name).pack(text)


def test_fixed_utf16_layouts():
    p = DataPacker("str:8:utf16le")
    assert p.pack("A") == b"A\x00" + b"\x00" * 6
    assert p.unpack(p.pack("A")) == "A"
    assert p.pack("AB") == "AB".encode("utf-16-le") + b"\x00" * 4
    assert p.pack("A😀") == "A😀".encode("utf-16-le") + b"\x00" * 2
    assert p.unpack(p.pack("A😀")) == "A😀"
    assert p.pack("abcd") == "abcd".encode("utf-16-le")
    q = DataPacker("str:8:utf16be")
    assert q.pack("A") == b"\x00A" + b"\x00" * 6
    assert q.unpack(q.pack("A")) == "A"
    assert q.pack("😀") == "😀".encode("utf-16-be") + b"\x00" * 4
    assert q.unpack(q.pack("😀")) == "😀"


def test_fixed_utf16_strips_characters_not_bytes():
    # U+0100 is 01 00 in UTF-16BE and U+4100 is 00 41 in UTF-16LE: a trailing
    # zero *byte* that belongs to a character must not be stripped.
    for name, text in [("str:4:utf16be", "Ā"), ("str:6:utf16be", "AĀ"), ("str:4:utf16le", "䄀"),
                       ("str:8:utf16le", "Ā䄀"), ("str:4:utf16le", "\u0100")]:
        p = DataPacker(name)
        assert p.unpack(p.pack(text)) == text, name


def test_fixed_utf16_trailing_nul_chars_stripped():
    p = DataPacker("str:8:utf16le")
    assert p.unpack("A\x00\x00".encode("utf-16-le") + b"\x00\x00") == "A"
    assert p.unpack(b"\x00" * 8) == ""


@pytest.mark.parametrize("name", ["str:ascii", "str:8:ascii"])
def test_ascii(name):
    p = DataPacker(name)
    assert p.unpack(p.pack("plain")) == "plain"
    for bad in ["é", "日", "😀", "abc\x80"]:
        with pytest.raises(ValueError):
            p.pack(bad)
    with pytest.raises(ValueError):
        p.unpack(b"\x80" + bytes(p.elem_size - 1 if p.elem_size else 0))
    with pytest.raises(ValueError):
        p.unpack(b"ab\xff" + bytes(p.elem_size - 3 if p.elem_size else 0))


def test_ascii_all_code_points():
    p = DataPacker("str:ascii")
    text = "".join(map(chr, range(128)))
    assert p.pack(text) == bytes(range(128))
    assert p.unpack(bytes(range(128))) == text


def test_latin1():
    p = DataPacker("str:latin1")
    assert p.pack("é") == b"\xe9"
    assert p.unpack(b"\xe9") == "é"
    text = "".join(map(chr, range(256)))
    assert p.pack(text) == bytes(range(256))
    assert p.unpack(bytes(range(256))) == text
    for bad in ["€", "日", "😀", "Ā"]:
        with pytest.raises(ValueError):
            p.pack(bad)
    q = DataPacker("str:4:latin1")
    assert q.pack("é") == b"\xe9\x00\x00\x00"
    assert q.unpack(b"\xe9\xff\x00\x00") == "éÿ"
    assert DataPacker("str:iso-8859-1").pack("ÿ") == b"\xff"


@pytest.mark.parametrize(
    "name", ["str", "str:utf16le", "str:utf16be", "str:8", "str:8:utf16le", "str:8:utf16be", "str:ascii", "str:latin1"]
)
def test_lone_surrogates_raise_value_error(name):
    p = DataPacker(name)
    for bad in ["\ud800", "a\udfff", "\udc00\ud800", "x\ud83d"]:
        with pytest.raises(ValueError):
            p.pack(bad)


@pytest.mark.parametrize(
    "name, data",
    [
        ("str", b"\xff"),
        ("str", b"\xc3"),  # truncated sequence
        ("str", b"\xc0\x80"),  # overlong
        ("str", b"\xed\xa0\x80"),  # encoded surrogate
        ("str", b"\xf4\x90\x80\x80"),  # beyond U+10FFFF
        ("str", b"ok\x80"),
        ("str:4", b"a\xff\x00\x00"),
        ("str:utf16le", b"A"),  # odd length
        ("str:utf16le", b"\x00\xd8"),  # lone high surrogate
        ("str:utf16le", b"\x00\xdcA\x00"),  # lone low surrogate
        ("str:utf16be", b"\xd8\x00"),
        ("str:utf16be", b"\x00A\x00"),
        ("str:4:utf16le", b"\x00\xd8\x00\x00"),
    ],
)
def test_invalid_encoded_text_raises_value_error(name, data):
    with pytest.raises(ValueError):
        DataPacker(name).unpack(data)


@pytest.mark.parametrize("name", ["str", "str:8", "str:utf16le", "str:latin1", "str:ascii"])
@pytest.mark.parametrize("bad", [b"abc", bytearray(b"abc"), 5, None, ["a"], 1.5], ids=repr)
def test_string_rejects_non_str(name, bad):
    with pytest.raises(TypeError):
        DataPacker(name).pack(bad)


def test_string_subclass_accepted():
    class MyStr(str):
        pass

    assert DataPacker("str").pack(MyStr("hé")) == "hé".encode()


# ======================================================================= bytes


def test_variable_bytes():
    p = DataPacker("bytes")
    for value in [b"", b"a", b"\x00\xff" * 100, bytes(range(256))]:
        assert p.pack(value) == value
        got = p.unpack(value)
        assert type(got) is bytes and got == value
    assert p.pack(bytearray(b"xy")) == b"xy"
    assert p.pack(memoryview(b"xyz")) == b"xyz"
    assert p.pack(memoryview(b"0123456")[2:5]) == b"234"
    assert p.unpack(b"abcdef", 2) == b"cdef"
    assert p.unpack(b"abc", 3) == b""
    assert type(p.unpack(bytearray(b"ab"))) is bytes
    assert p.unpack(memoryview(b"abcdef")[1:4]) == b"bcd"
    assert DataPacker("bytes:0").pack(b"abc") == b"abc"


def test_fixed_bytes():
    p = DataPacker("bytes:4")
    assert p.pack(b"ab") == b"ab\x00\x00"
    assert p.unpack(p.pack(b"ab")) == b"ab\x00\x00"  # kept padded
    assert p.pack(b"") == b"\x00" * 4
    assert p.pack(b"abcd") == b"abcd"
    assert p.pack(bytearray(b"a")) == b"a\x00\x00\x00"
    assert p.pack(memoryview(b"abc")) == b"abc\x00"
    assert p.unpack(b"abcdefgh", 4) == b"efgh"
    assert p.unpack(b"abcdefgh") == b"abcd"
    assert p.unpack(b"ab\x00\x00") == b"ab\x00\x00"
    with pytest.raises(ValueError, match="Data too long"):
        p.pack(b"abcde")
    with pytest.raises(ValueError):
        p.unpack(b"abc")
    with pytest.raises(ValueError):
        p.unpack(b"abcdefgh", 5)


@pytest.mark.parametrize("name", ["bytes", "bytes:4"])
@pytest.mark.parametrize("bad", ["abc", 3, None, 1.5, object()], ids=repr)
def test_bytes_rejects_non_buffers(name, bad):
    with pytest.raises(TypeError):
        DataPacker(name).pack(bad)


def test_bytes_result_is_independent_of_input():
    source = bytearray(b"abcd")
    packed = DataPacker("bytes").pack(source)
    unpacked = DataPacker("bytes").unpack(source)
    source[0] = ord("z")
    assert packed == b"abcd"
    assert unpacked == b"abcd"


# ============================================================ msgpack and cbor

STRUCTURED = ["msgpack", "cbor"]

SCALAR_VALUES = [
    None, True, False,
    0, 1, -1, 23, 24, 127, 128, 255, 256, -32, -33, -128, -129, -256, -257,
    65535, 65536, -32768, -32769, -65536, -65537, 2**31 - 1, 2**31, 2**32 - 1, 2**32, -(2**31), -(2**31) - 1,
    -(2**32), -(2**32) - 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) + 1,
    0.0, -0.0, 1.5, -2.25, 0.1, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, INF, -INF,
    "", "a", "é", "日本語", "😀", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 65536, "nul\x00inside",
    b"", b"\x00", b"\xff" * 255, b"\x01" * 256, b"q" * 70000,
]

CONTAINER_VALUES = [
    [],
    [1, "a", None, True, 2.5, b"b"],
    [[[]], [[1]], [[], [2, [3, [4]]]]],
    list(range(15)),
    list(range(16)),
    list(range(70000)),
    {},
    {"a": 1},
    {"b": 1, "a": 2},
    {"z": None, "y": [1, {"x": b"bin"}], "a": {"nested": {"deep": [1.5, -0.0]}}},
    {str(i): i for i in range(15)},
    {f"k{i}": [i] for i in range(16)},
    {f"k{i:05d}": i for i in range(70000)},
    [{"id": i, "name": f"item{i}", "tags": ["t"] * (i % 3), "score": i / 7} for i in range(50)],
]


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_scalars_round_trip(name):
    p = DataPacker(name)
    for value in SCALAR_VALUES:
        assert_roundtrip(p, value)


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_containers_round_trip(name):
    p = DataPacker(name)
    for value in CONTAINER_VALUES:
        assert_roundtrip(p, value)


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_nan_round_trips(name):
    p = DataPacker(name)
    got = p.unpack(p.pack(NAN))
    assert type(got) is float and math.isnan(got)
    got = p.unpack(p.pack([NAN, {"n": NAN}]))
    assert math.isnan(got[0]) and math.isnan(got[1]["n"])


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_tuple_bytearray_and_order(name):
    p = DataPacker(name)
    assert p.unpack(p.pack((1, 2, (3, "x")))) == [1, 2, [3, "x"]]
    assert p.pack((1, 2)) == p.pack([1, 2])
    got = p.unpack(p.pack(bytearray(b"ba")))
    assert type(got) is bytes and got == b"ba"
    assert p.pack(bytearray(b"ba")) == p.pack(b"ba")
    assert list(p.unpack(p.pack({"b": 1, "a": 2}))) == ["b", "a"]
    keys = [f"key{i}" for i in random.Random(5).sample(range(1000), 300)]
    assert list(p.unpack(p.pack(dict.fromkeys(keys, 0)))) == keys
    assert p.pack({"b": 1, "a": 2}) != p.pack({"a": 2, "b": 1})
    assert p.unpack(p.pack(True)) is True
    assert p.unpack(p.pack(False)) is False
    assert p.unpack(p.pack(None)) is None


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_non_string_keys(name):
    p = DataPacker(name)
    value = {
        1: "int",
        -5: "negative",
        2**64 - 1: "big",
        2.5: "float",
        b"k": "bytes",
        None: "none",
        False: "bool",
        (1, 2): "tuple",
        (1, (2, "x"), b"y"): "nested tuple",
        (): "empty tuple",
        "s": "str",
    }
    got = p.unpack(p.pack(value))
    assert strict_same(got, value)
    assert type(list(got)[7]) is tuple


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_int_range(name):
    p = DataPacker(name)
    for v in [2**64, -(2**63) - 1, 2**100, -(2**100)]:
        with pytest.raises(OverflowError):
            p.pack(v)
        with pytest.raises(OverflowError):
            p.pack([1, {"x": v}])
        with pytest.raises(OverflowError):
            p.pack({v: 1})


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_depth_limit(name):
    p = DataPacker(name)
    for make in (nested_list, nested_dict):
        deep_ok = make(500)
        assert p.unpack(p.pack(deep_ok)) == deep_ok
        with pytest.raises(ValueError):
            p.pack(make(600))
        with pytest.raises(ValueError):
            p.pack(make(100_000))


def test_structured_depth_limit_on_unpack():
    ok = {"msgpack": b"\x91" * 500 + b"\x00", "cbor": b"\x81" * 500 + b"\x00"}
    for name, data in ok.items():
        assert DataPacker(name).unpack(data) == nested_list(500)
    deep = {
        "msgpack": [b"\x91" * 600 + b"\x00", b"\x81\x00" * 600 + b"\x00", b"\x91" * 1_000_000 + b"\x00",
                    b"\xdc\x00\x10" * 1000],
        "cbor": [b"\x81" * 600 + b"\x00", b"\xa1\x00" * 600 + b"\x00", b"\x81" * 1_000_000 + b"\x00",
                 b"\x9f" * 100_000],
    }
    for name, cases in deep.items():
        for data in cases:
            with pytest.raises(ValueError):
                DataPacker(name).unpack(data)


@pytest.mark.parametrize("name", STRUCTURED + ["json"])
def test_structured_self_reference(name):
    p = DataPacker(name)
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError):
        p.pack(loop)
    d = {}
    d["self"] = d
    with pytest.raises(ValueError):
        p.pack(d)
    shared = [1, 2]
    assert p.unpack(p.pack([shared, shared, {"a": shared}])) == [[1, 2], [1, 2], {"a": [1, 2]}]


@pytest.mark.parametrize("name", STRUCTURED + ["json"])
@pytest.mark.parametrize(
    "bad, type_name",
    [
        (object(), "object"),
        ({1, 2}, "set"),
        (frozenset({1}), "frozenset"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "datetime"),
        (Decimal("1.5"), "Decimal"),
        (1j, "complex"),
        (np.arange(3), "ndarray"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_structured_unsupported_type(name, bad, type_name):
    p = DataPacker(name)
    for value in [bad, [1, bad], {"k": [bad]}]:
        with pytest.raises(TypeError) as info:
            p.pack(value)
        assert type_name in str(info.value), str(info.value)


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_unsupported_key_type(name):
    with pytest.raises(TypeError) as info:
        DataPacker(name).pack({frozenset({1}): 1})
    assert "frozenset" in str(info.value)


@pytest.mark.parametrize("name", STRUCTURED + ["json"])
def test_structured_lone_surrogate(name):
    p = DataPacker(name)
    for value in ["\ud800", ["ok", "\udfff"], {"\ud800": 1}]:
        with pytest.raises(ValueError):
            p.pack(value)


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_unpack_errors(name):
    p = DataPacker(name)
    with pytest.raises(ValueError):
        p.unpack(b"")
    invalid_text = b"\xa1\xff" if name == "msgpack" else b"\x61\xff"
    with pytest.raises(ValueError):
        p.unpack(invalid_text)
    # a map key that is a map (unhashable in Python) is a ValueError, not a TypeError
    map_key = b"\x81\x80\x01" if name == "msgpack" else b"\xa1\xa0\x01"
    with pytest.raises(ValueError):
        p.unpack(map_key)
    list_in_key = b"\x81\x91\x80\x01" if name == "msgpack" else b"\xa1\x81\xa0\x01"
    with pytest.raises(ValueError):
        p.unpack(list_in_key)


def test_structured_unpack_at_offset():
    for name in STRUCTURED:
        p = DataPacker(name)
        data = b"junk" + p.pack({"a": [1, 2]})
        assert p.unpack(data, 4) == {"a": [1, 2]}
        assert p.unpack(bytearray(data), 4) == {"a": [1, 2]}
        assert p.unpack(memoryview(data), offset=4) == {"a": [1, 2]}


def test_msgpack_alternative_encodings_decode():
    p = DataPacker("msgpack")
    assert p.unpack(b"\xcc\x05") == 5
    assert p.unpack(b"\xcd\x00\x01") == 1
    assert p.unpack(b"\xd0\xff") == -1
    assert p.unpack(b"\xcf" + (7).to_bytes(8, "big")) == 7
    assert p.unpack(b"\xca" + struct.pack(">f", 1.5)) == 1.5
    assert p.unpack(b"\xd9\x01a") == "a"
    assert p.unpack(b"\xdc\x00\x02\x01\x02") == [1, 2]
    assert p.unpack(b"\xde\x00\x01\xa1a\x01") == {"a": 1}
    assert p.unpack(b"\xc4\x02ab") == b"ab"


def test_cbor_alternative_encodings_decode():
    p = DataPacker("cbor")
    assert p.unpack(b"\x18\x05") == 5
    assert p.unpack(b"\x19\x00\x01") == 1
    assert p.unpack(b"\xf9\x3e\x00") == 1.5  # half precision
    assert p.unpack(b"\xfa" + struct.pack(">f", 0.25)) == 0.25
    assert math.isnan(p.unpack(b"\xf9\x7e\x00"))
    assert p.unpack(b"\xf9\x7c\x00") == INF
    assert p.unpack(b"\xf9\x00\x01") == 2.0**-24  # subnormal half
    assert p.unpack(b"\x3b" + b"\xff" * 8) == -(2**64)
    assert p.unpack(b"\x3b\x80" + b"\x00" * 7) == -(2**63) - 1


@pytest.mark.parametrize(
    "name, data",
    [
        ("msgpack", b"\xdd\xff\xff\xff\xff"),  # array32 of 4G elements
        ("msgpack", b"\xdf\xff\xff\xff\xff"),  # map32
        ("msgpack", b"\xdb\xff\xff\xff\xff"),  # str32
        ("msgpack", b"\xc6\xff\xff\xff\xff"),  # bin32
        ("msgpack", b"\xdc\xff\xff" * 1000),
        ("msgpack", b"\xc9\xff\xff\xff\xff\x01"),  # ext32
        ("cbor", b"\x9b" + b"\xff" * 8),  # array of 2^64-1 elements
        ("cbor", b"\xbb" + b"\xff" * 8),
        ("cbor", b"\x5b" + b"\xff" * 8),
        ("cbor", b"\x7b" + b"\xff" * 8),
        ("cbor", b"\x7b\x7f" + b"\xff" * 7),
        ("cbor", b"\x99\xff\xff" * 1000),
    ],
)
def test_structured_huge_declared_lengths(name, data):
    with pytest.raises(ValueError):
        DataPacker(name).unpack(data)
    with pytest.raises(ValueError):
        DataPacker(name).unpack_many(data)


@pytest.mark.parametrize("name", ["msgpack:24", "cbor:24"])
def test_fixed_structured(name):
    p = DataPacker(name)
    assert p.elem_size == 24
    for value in [None, 1, [1, 2], {"a": "b"}, "x" * 20, -0.5]:
        data = p.pack(value)
        assert len(data) == 24
        plain = DataPacker(name.split(":")[0]).pack(value)
        assert data == plain + b"\x00" * (24 - len(plain))
        assert strict_same(p.unpack(data), value)
        assert strict_same(p.unpack(b"xx" + data + b"yy", 2), value)
    with pytest.raises(ValueError, match="Data too long"):
        p.pack("x" * 30)
    with pytest.raises(ValueError):
        p.unpack(p.pack(1)[:-1])


# ======================================================================== json


def test_json_examples():
    p = DataPacker("json")
    assert p.elem_size == 0 and p.is_varsize
    text = b'{"a": [1, 2.5, "x", null, true]}'
    got = p.unpack(text)
    assert strict_same(got, {"a": [1, 2.5, "x", None, True]})
    assert p.pack({"a": [1, 2.5, "x", None, True]}) == b'{"a":[1,2.5,"x",null,true]}'
    assert p.unpack(b' \n{"a" : 1 ,"b":[ ] } \t') == {"a": 1, "b": []}


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 0.5, -0.0, 0.1, 1e300, 5e-324, 1.7976931348623157e308,
        "", "plain", 'quote " backslash \\ slash /', "ctl \x00\x01\x1f\x7f\n\t\r\b\f", "é日本😀", "\u2028\u2029",
        [], {}, [1, [2, [3]]], {"b": 1, "a": {"z": [], "y": {}}}, {"": ""},
        [{"id": i, "v": i / 3} for i in range(20)],
    ],
    ids=repr,
)
def test_json_round_trip(value):
    p = DataPacker("json")
    data = p.pack(value)
    assert isinstance(data, bytes)
    text = data.decode("utf-8")
    reloaded = json.loads(text)
    assert reloaded == value
    if isinstance(value, float):
        assert math.copysign(1.0, reloaded) == math.copysign(1.0, value)
    assert strict_same(p.unpack(data), decoded(value))


def test_json_is_compact():
    data = DataPacker("json").pack({"a": [1, 2, {"b": None}], "c": "d"})
    assert data == b'{"a":[1,2,{"b":null}],"c":"d"}'


def test_json_keeps_key_order():
    p = DataPacker("json")
    assert list(p.unpack(p.pack({"b": 1, "a": 2}))) == ["b", "a"]
    assert list(p.unpack(b'{"z":1,"a":2,"m":3}')) == ["z", "a", "m"]


def test_json_tuple_is_array():
    p = DataPacker("json")
    assert p.unpack(p.pack((1, (2, 3)))) == [1, [2, 3]]


def test_json_rejections():
    p = DataPacker("json")
    for bad in [NAN, INF, -INF, [1, NAN], {"x": INF}]:
        with pytest.raises(ValueError):
            p.pack(bad)
    for bad in [b"x", bytearray(b"x"), [b"x"], {"k": b"v"}]:
        with pytest.raises((TypeError, ValueError)):
            p.pack(bad)
    for bad in [{1: "a"}, {None: 1}, {(1, 2): 3}, {b"k": 1}, {"ok": {2.5: 1}}]:
        with pytest.raises((TypeError, ValueError)):
            p.pack(bad)
    for v in [2**64, -(2**63) - 1]:
        with pytest.raises((OverflowError, ValueError)):
            p.pack(v)


def test_json_depth_limit():
    p = DataPacker("json")
    assert p.unpack(p.pack(nested_list(500))) == nested_list(500)
    assert p.unpack(p.pack(nested_dict(500))) == nested_dict(500)
    with pytest.raises(ValueError):
        p.pack(nested_list(600))
    assert p.unpack(b"[" * 500 + b"]" * 500) == nested_list(499, [])
    for data in [b"[" * 600 + b"]" * 600, b'{"a":' * 600 + b"1" + b"}" * 600, b"[" * 1_000_000]:
        with pytest.raises(ValueError):
            p.unpack(data)


@pytest.mark.parametrize(
    "data",
    [b"", b" ", b"{", b"[1,]", b"[1 2]", b"nul", b"tru", b"1 2", b'{"a"}', b'{"a":1,}', b"{'a': 1}", b"\xff",
     b'"\xff"', b'"abc', b'"\\x"', b"01", b"1.", b"-", b"+1", b"[1]]", b'"\x01"'],
)
def test_json_invalid_text(data):
    with pytest.raises(ValueError):
        DataPacker("json").unpack(data)


def test_json_unpack_escapes_and_numbers():
    p = DataPacker("json")
    assert p.unpack(b'"\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"') == 'é😀\n"\\/'
    assert p.unpack("\"é\"".encode()) == "é"
    assert p.unpack(b"18446744073709551615") == 2**64 - 1
    assert p.unpack(b"-9223372036854775808") == -(2**63)
    got = p.unpack(b"[1, 1.0, 1e2, -0.0]")
    assert strict_same(got, [1, 1.0, 100.0, -0.0])
    assert p.unpack(b"xx[1]", 2) == [1]


# ==================================================================== vectors


@pytest.mark.parametrize("t", VEC_TYPES)
def test_vec_any_shape_round_trip(t):
    p = DataPacker(f"vec:{t}")
    nptype = VEC_TYPES[t]
    for shape in [(5,), (2, 3), (2, 3, 4), (1,), (0,), (3, 0), ()]:
        arr = (np.arange(int(np.prod(shape)), dtype=np.int64) % 100).astype(nptype).reshape(shape)
        data = p.pack(arr)
        got = p.unpack(data)
        assert isinstance(got, np.ndarray)
        assert got.dtype == np.dtype(nptype)
        assert got.shape == shape
        assert np.array_equal(got, arr)
        # layout: type code, ndim, dims (u32 LE), data little-endian C order
        header = bytes([VEC_CODES[t], len(shape)]) + b"".join(struct.pack("<I", d) for d in shape)
        assert data == header + arr.astype(np.dtype(nptype).newbyteorder("<")).tobytes()


@pytest.mark.parametrize("t", VEC_TYPES)
def test_vec_fixed_shape_round_trip(t):
    nptype = VEC_TYPES[t]
    for shape in [(3,), (2, 3), (1, 1, 2)]:
        p = DataPacker(f"vec:{t}:" + ":".join(map(str, shape)))
        arr = (np.arange(int(np.prod(shape))) + 1).astype(nptype).reshape(shape)
        data = p.pack(arr)
        assert len(data) == p.elem_size == 1 + arr.nbytes
        assert data == bytes([VEC_CODES[t]]) + arr.astype(np.dtype(nptype).newbyteorder("<")).tobytes()
        got = p.unpack(data)
        assert got.dtype == np.dtype(nptype) and got.shape == shape
        assert np.array_equal(got, arr)
        assert np.array_equal(p.unpack(b"pre" + data + b"post", 3), arr)
        long_name = DataPacker(f"vec:{VEC_LONG_NAMES[t]}:" + ":".join(map(str, shape)))
        assert long_name.pack(arr) == data


def test_vec_extreme_values():
    for t, nptype in VEC_TYPES.items():
        info = np.finfo(nptype) if t[0] == "f" else np.iinfo(nptype)
        arr = np.array([info.min, info.max, 0], dtype=nptype)
        p = DataPacker(f"vec:{t}")
        assert np.array_equal(p.unpack(p.pack(arr)), arr)
    assert np.array_equal(DataPacker("vec:u64").unpack(DataPacker("vec:u64").pack([2**64 - 1])),
                          np.array([2**64 - 1], dtype=np.uint64))
    assert DataPacker("vec:i64").unpack(DataPacker("vec:i64").pack([-(2**63), 2**63 - 1])).tolist() == [
        -(2**63), 2**63 - 1]
    f = DataPacker("vec:f64").unpack(DataPacker("vec:f64").pack([NAN, INF, -0.0]))
    assert math.isnan(f[0]) and f[1] == INF and math.copysign(1, f[2]) == -1


def test_vec_accepts_lists_and_casts_like_astype():
    p = DataPacker("vec:f32")
    assert p.pack([1, 2, 3]) == p.pack(np.array([1, 2, 3], dtype=np.float32))
    assert p.pack([[1.5, 2], [3, 4]]) == p.pack(np.array([[1.5, 2], [3, 4]], dtype=np.float32))
    assert p.unpack(p.pack([[1, 2], [3, 4]])).shape == (2, 2)
    assert p.pack((1, 2)) == p.pack([1, 2])
    assert p.pack(np.array([0.1, 1e-3])) == p.pack(np.array([0.1, 1e-3]).astype(np.float32))
    for t, src in [("i32", np.array([1.7, 2.2, -3.9])), ("u8", np.array([300, 1, 255])), ("i8", np.array([200, -1])),
                   ("f64", np.array([1, 2], dtype=np.int8)), ("u16", np.array([True, False])),
                   ("i64", np.array([1.0, 2.0], dtype=np.float32))]:
        q = DataPacker(f"vec:{t}")
        assert q.pack(src) == q.pack(src.astype(VEC_TYPES[t])), t
    q = DataPacker("vec:i32")
    assert q.pack([1.7, 2.2]) == q.pack(np.array([1, 2], dtype=np.int32))


def test_vec_non_contiguous_and_big_endian():
    p = DataPacker("vec:i32")
    base = np.arange(20, dtype=np.int32)
    assert p.pack(base[::3]) == p.pack(np.ascontiguousarray(base[::3]))
    m = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert p.pack(np.asfortranarray(m)) == p.pack(m)
    assert p.pack(m.T) == p.pack(np.ascontiguousarray(m.T))
    assert p.unpack(p.pack(m.T)).shape == (3, 2)
    assert p.pack(np.arange(4, dtype=">i4")) == p.pack(np.arange(4, dtype="<i4"))
    assert DataPacker("vec:f64").pack(np.arange(3, dtype=">f8")) == DataPacker("vec:f64").pack(np.arange(3.0))
    fixed = DataPacker("vec:i32:3:2")
    assert fixed.pack(m.T) == b"\x03" + np.ascontiguousarray(m.T).astype("<i4").tobytes()


def test_vec_zero_dim_and_scalars():
    p = DataPacker("vec:f32")
    data = p.pack(np.float32(3))
    assert data == b"\x01\x00" + struct.pack("<f", 3)
    got = p.unpack(data)
    assert got.shape == () and got.dtype == np.float32 and got == 3
    assert p.pack(np.array(2.5)) == b"\x01\x00" + struct.pack("<f", 2.5)


def test_vec_empty():
    p = DataPacker("vec:f64")
    data = p.pack([])
    assert data == b"\x02\x01" + b"\x00" * 4
    got = p.unpack(data)
    assert got.shape == (0,) and got.dtype == np.float64
    assert p.unpack(p.pack(np.zeros((2, 0)))).shape == (2, 0)


@pytest.mark.parametrize(
    "dtype, value",
    [
        ("vec:f32:2", [1, 2, 3]),
        ("vec:f32:2", [1]),
        ("vec:f32:2", []),
        ("vec:f32:2:2", [1, 2, 3, 4]),
        ("vec:f32:2:2", np.arange(4.0)),
        ("vec:f32:4", np.arange(4.0).reshape(2, 2)),
        ("vec:f32:2:3", np.zeros((3, 2))),
        ("vec:f32:3", [[1, 2, 3]]),
        ("vec:f32:1", np.array(5.0)),
        ("vec:u8:10", np.zeros(11)),
    ],
)
def test_vec_fixed_shape_mismatch(dtype, value):
    with pytest.raises(ValueError, match="(?i)shape"):
        DataPacker(dtype).pack(value)


@pytest.mark.parametrize("bad", [[[1, 2], [3]], ["a", "b"], {"a": 1}, object(), "abc", [1, [2]]], ids=repr)
def test_vec_bad_values(bad):
    with pytest.raises((ValueError, TypeError)):
        DataPacker("vec:f32").pack(bad)


def test_vec_unpack_result_is_writable_and_independent():
    for name, value in [("vec:f32", [1, 2, 3]), ("vec:i16:3", [1, 2, 3]), ("vec:u8", [[1, 2], [3, 4]])]:
        p = DataPacker(name)
        raw = bytearray(p.pack(value))
        got = p.unpack(raw)
        assert got.flags.writeable
        assert got.flags.c_contiguous
        got.flat[0] = 99
        assert np.array_equal(p.unpack(raw), np.array(value))
        raw[-1] ^= 0xFF
        assert got.flat[-1] == np.array(value).flat[-1]
        frozen = bytes(p.pack(value))
        a, b = p.unpack(frozen), p.unpack(frozen)
        a.flat[0] = 42
        assert b.flat[0] == np.array(value).flat[0]


def test_vec_pack_does_not_alias_input():
    arr = np.arange(4, dtype=np.float32)
    data = DataPacker("vec:f32").pack(arr)
    arr[0] = 100
    assert DataPacker("vec:f32").unpack(data)[0] == 0


def test_vec_unpack_errors():
    p = DataPacker("vec:f32:2")
    good = p.pack([1, 2])
    with pytest.raises(ValueError):
        p.unpack(good[:-1])
    with pytest.raises(ValueError):
        p.unpack(b"\x02" + good[1:])  # wrong element type code
    with pytest.raises(ValueError):
        p.unpack(b"\x00" + good[1:])  # unknown type code
    with pytest.raises(ValueError):
        p.unpack(b"")
    q = DataPacker("vec:f32")
    good = q.pack([[1, 2], [3, 4]])
    with pytest.raises(ValueError):
        q.unpack(DataPacker("vec:f64").pack([1.0, 2.0]))  # f64 data for an f32 dtype
    with pytest.raises(ValueError):
        q.unpack(b"\x63" + good[1:])
    with pytest.raises(ValueError):
        q.unpack(good[:-1])
    with pytest.raises(ValueError):
        q.unpack(b"\x01")
    # dims whose product overflows or is absurdly large: no huge allocation, no crash
    for dims in [(0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF,), (65536, 65536, 65536, 65536), (0x10000, 0x10000),
                 (0x40000000, 4), (0x80000000, 0x80000000, 4)]:
        for tail in [b"", b"\x00" * 16]:
            data = bytes([1, len(dims)]) + b"".join(struct.pack("<I", d) for d in dims) + tail
            with pytest.raises(ValueError):
                q.unpack(data)


_MANY_DIMS = r"""
import struct, sys
from ambervault import DataPacker
ndim = int(sys.argv[1])
data = bytes([5, ndim]) + struct.pack("<I", 1) * ndim + b"\x07"
try:
    got = DataPacker("vec:u8").unpack(data)
except ValueError as exc:
    print("ValueError", exc)
else:
    print("returned", got.shape)
"""


@pytest.mark.parametrize("ndim", [32, 64, 65, 200, 255])
def test_vec_unpack_many_dimensions(ndim):
    # numpy holds at most 64 dimensions: more must be a ValueError (a child
    # process, so that a crash fails this test instead of ending the run).
    result = run_python(_MANY_DIMS, ndim)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout.strip()
    if ndim <= 32:
        assert out == f"returned {(1,) * ndim}"
    elif ndim > 64:
        assert out.startswith("ValueError"), out
    else:
        assert out.startswith("ValueError") or out == f"returned {(1,) * ndim}", out


def test_vec_fixed_unpack_at_offsets():
    p = DataPacker("vec:i16:2")
    data = p.pack([1, 2]) + p.pack([3, 4])
    assert p.unpack(data, 5).tolist() == [3, 4]
    with pytest.raises(ValueError):
        p.unpack(data, 6)


# ================================================================= pack_many


PACK_MANY_CASES = [
    ("i8", [-128, 0, 127]),
    ("u16", [0, 1, 65535]),
    ("i64", [-(2**63), 0, 2**63 - 1]),
    ("u64", [0, 2**64 - 1]),
    ("f32", [0.1, -2.5, INF]),
    ("f64", [0.1, -2.5, 1e300]),
    ("bool", [True, False, True]),
    ("str", ["a", "", "héllo"]),
    ("str:4:utf16le", ["a", "bc", ""]),
    ("bytes", [b"a", b"", b"xyz"]),
    ("bytes:3", [b"a", b"", b"xyz"]),
    ("msgpack", [1, "a", [1, 2], {"k": None}]),
    ("msgpack:8", [1, "a", [1, 2]]),
    ("cbor", [1, "a", [1, 2], {"k": None}]),
    ("cbor:8", [1, "a", [1, 2]]),
    ("json", [1, "a", [1, 2], {"k": None}]),
    ("vec:f32", [[1, 2], [[1], [2]], []]),
    ("vec:u8:3", [[1, 2, 3], [4, 5, 6]]),
]


@pytest.mark.parametrize("name, values", PACK_MANY_CASES)
def test_pack_many_is_concatenation(name, values):
    p = DataPacker(name)
    expected = b"".join(p.pack(v) for v in values)
    assert p.pack_many(values) == expected
    assert p.pack_many(tuple(values)) == expected
    assert p.pack_many(v for v in values) == expected
    assert p.pack_many(iter(values)) == expected
    assert p.pack_many([]) == b""
    assert p.pack_many(()) == b""


def test_pack_many_range():
    p = DataPacker("i32")
    assert p.pack_many(range(5)) == struct.pack("<5i", *range(5))
    assert p.pack_many(range(-3, 3, 2)) == struct.pack("<3i", -3, -1, 1)
    assert DataPacker("f64").pack_many(range(3)) == struct.pack("<3d", 0, 1, 2)


@pytest.mark.parametrize("name", list(INT_NUMPY) + ["f32", "f64"])
def test_pack_many_numpy_fast_path_matches_per_item(name):
    rng = np.random.default_rng(7)
    nptype = SCALAR_NUMPY[name]
    p = DataPacker(name)
    if name[0] == "f":
        arr = rng.normal(size=257) * 1e3
        arr = arr.astype(nptype)
        sources = [arr, arr.astype(np.float64), np.arange(-5, 5, dtype=np.int32), arr[::2]]
    else:
        info = np.iinfo(nptype)
        arr = rng.integers(info.min, info.max, size=257, dtype=nptype, endpoint=True)
        arr[:2] = [info.min, info.max]
        sources = [arr, arr[::3], arr.astype(np.dtype(nptype).newbyteorder(">")), np.arange(0, 100, dtype=np.int8)]
    for src in sources:
        per_item = b"".join(p.pack(x) for x in src.tolist())
        assert p.pack_many(src) == per_item
        assert p.pack_many(list(src)) == per_item  # numpy scalars one by one
    assert p.pack_many(np.array([], dtype=nptype)) == b""


def test_pack_many_numpy_layout():
    assert DataPacker("i64").pack_many(np.arange(4)) == np.arange(4, dtype="<i8").tobytes()
    assert DataPacker("u16").pack_many(np.arange(4, dtype=np.uint16)) == np.arange(4, dtype="<u2").tobytes()
    assert DataPacker("f32").pack_many(np.array([0.1, 0.2])) == np.array([0.1, 0.2], dtype="<f4").tobytes()
    assert DataPacker("bool").pack_many(np.array([True, False, True])) == b"\x01\x00\x01"
    assert DataPacker("bool").pack_many(list(np.array([True, False]))) == b"\x01\x00"


@pytest.mark.parametrize(
    "name, src",
    [
        ("i8", np.array([1, 200], dtype=np.int64)),
        ("i8", np.array([-129], dtype=np.int16)),
        ("u8", np.array([5, -1], dtype=np.int64)),
        ("u8", np.array([256], dtype=np.uint16)),
        ("u64", np.array([-1], dtype=np.int64)),
        ("i64", np.array([2**64 - 1], dtype=np.uint64)),
        ("u32", np.array([2**32], dtype=np.int64)),
        ("f32", np.array([1.0, 1e39])),
        ("f32", np.array([-1e300])),
    ],
)
def test_pack_many_numpy_out_of_range(name, src):
    with pytest.raises(OverflowError):
        DataPacker(name).pack_many(src)
    with pytest.raises(OverflowError):
        DataPacker(name).pack_many(list(src))


def test_pack_many_numpy_float_for_int_dtype_like_per_item():
    with pytest.raises(TypeError):
        DataPacker("i64").pack(np.float64(1.0))
    with pytest.raises(TypeError):
        DataPacker("i64").pack_many(np.array([1.0, 2.0]))


def test_pack_many_f32_specials_from_numpy():
    p = DataPacker("f32")
    src = np.array([INF, -INF, NAN, -0.0])
    out = p.pack_many(src)
    assert out[:8] == struct.pack("<ff", INF, -INF)
    assert math.isnan(struct.unpack("<f", out[8:12])[0])
    assert out[12:] == struct.pack("<f", -0.0)


@pytest.mark.parametrize("shape", [(3,), (2, 2), (1, 3, 2)])
def test_pack_many_numpy_fixed_vec(shape):
    dtype = "vec:f32:" + ":".join(map(str, shape))
    p = DataPacker(dtype)
    batch = np.arange(5 * int(np.prod(shape)), dtype=np.int64).reshape((5, *shape))
    expected = b"".join(p.pack(row) for row in batch)
    assert p.pack_many(batch) == expected
    assert p.pack_many(batch.astype(np.float32)) == expected
    assert p.pack_many(list(batch)) == expected
    assert p.pack_many([row.tolist() for row in batch]) == expected
    assert p.pack_many(np.asfortranarray(batch)) == expected
    with pytest.raises(ValueError, match="(?i)shape"):
        p.pack_many(np.zeros((5, *shape, 2)))
    with pytest.raises(ValueError, match="(?i)shape"):
        p.pack_many(np.zeros((5, 7)))


def test_pack_many_error_midway_raises():
    p = DataPacker("i64")
    with pytest.raises(TypeError):
        p.pack_many([1, 2, "x", 4])
    with pytest.raises(OverflowError):
        p.pack_many([1, 2, 2**70])

    def gen():
        yield 1
        yield 2
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        p.pack_many(gen())
    with pytest.raises(ValueError, match="Data too long"):
        DataPacker("str:2").pack_many(["a", "bb", "ccc"])
    with pytest.raises(TypeError):
        DataPacker("msgpack").pack_many([1, object()])
    with pytest.raises(ValueError):
        DataPacker("vec:f32:2").pack_many([[1, 2], [1, 2, 3]])


@pytest.mark.parametrize("bad", [5, None, 1.5])
def test_pack_many_non_iterable(bad):
    with pytest.raises(TypeError):
        DataPacker("i64").pack_many(bad)


def test_pack_many_str_iterates_characters_or_rejects():
    # a str is iterable; whatever is done, it must not crash
    try:
        out = DataPacker("str").pack_many("ab")
    except (TypeError, ValueError):
        return
    assert out == b"ab"


# =============================================================== unpack_many


def test_unpack_many_fixed():
    p = DataPacker("i32")
    data = struct.pack("<4i", 1, -2, 3, -4)
    assert p.unpack_many(data) == [1, -2, 3, -4]
    assert p.unpack_many(data, count=2) == [1, -2]
    assert p.unpack_many(data, 4) == [1, -2, 3, -4]
    assert p.unpack_many(data, count=0) == []
    assert p.unpack_many(b"") == []
    assert p.unpack_many(bytearray(data)) == [1, -2, 3, -4]
    assert p.unpack_many(memoryview(data)[4:]) == [-2, 3, -4]
    assert p.unpack_many(data + b"\x00", count=4) == [1, -2, 3, -4]
    with pytest.raises(ValueError):
        p.unpack_many(data + b"\x00")  # not a whole number of elements
    with pytest.raises(ValueError):
        p.unpack_many(data, count=5)
    with pytest.raises((ValueError, TypeError, OverflowError)):
        p.unpack_many(data, count=-1)


@pytest.mark.parametrize("name, values", [c for c in PACK_MANY_CASES if not DataPacker(c[0]).is_varsize])
def test_unpack_many_fixed_round_trip(name, values):
    p = DataPacker(name)
    data = p.pack_many(values)
    got = p.unpack_many(data)
    expected = [p.unpack(p.pack(v)) for v in values]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if isinstance(e, np.ndarray):
            assert np.array_equal(g, e) and g.dtype == e.dtype
        else:
            assert strict_same(g, e)
    assert len(p.unpack_many(data, count=len(values) - 1)) == len(values) - 1


def test_unpack_many_variable_with_offsets():
    p = DataPacker("str")
    data = p.pack_many(["a", "bc", "", "déf"])
    assert data == "abcdéf".encode()
    assert p.unpack_many(data, offsets=[0, 1, 3, 3]) == ["a", "bc", "", "déf"]
    assert p.unpack_many(data, offsets=[]) == []
    assert p.unpack_many(data, offsets=[3]) == ["déf"]
    assert p.unpack_many(data, offsets=[1, 3]) == ["bc", "déf"]
    assert p.unpack_many(data, offsets=[0, len(data)]) == ["abcdéf", ""]
    assert p.unpack_many(bytearray(data), offsets=(0, 1)) == ["a", "bcdéf"]
    b = DataPacker("bytes")
    assert b.unpack_many(b"abcdef", offsets=[0, 2, 2]) == [b"ab", b"", b"cdef"]
    with pytest.raises(ValueError):
        b.unpack_many(b"abcdef", offsets=[0, 7])
    with pytest.raises(ValueError):
        b.unpack_many(b"abcdef", offsets=[0, 4, 2])
    with pytest.raises(ValueError):
        b.unpack_many(b"abcdef", offsets=[-1, 2])
    with pytest.raises(ValueError):
        p.unpack_many("é".encode(), offsets=[0, 1])  # splits a character


@pytest.mark.parametrize("name", ["str", "str:utf16le", "bytes", "json"])
def test_unpack_many_variable_needs_offsets(name):
    p = DataPacker(name)
    data = p.pack_many(["a", "b"]) if name != "bytes" else b"ab"
    with pytest.raises(ValueError):
        p.unpack_many(data)


def test_unpack_many_json_with_offsets():
    p = DataPacker("json")
    values = [{"a": 1}, [1, 2], "s", None]
    parts = [p.pack(v) for v in values]
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    assert p.unpack_many(b"".join(parts), offsets=offsets) == values


@pytest.mark.parametrize("name", STRUCTURED)
def test_unpack_many_structured_stream(name):
    p = DataPacker(name)
    values = [1, "a", [1, [2]], {"b": 1, "a": None}, None, b"x", 2.5, True, [], {}]
    data = p.pack_many(values)
    assert p.unpack_many(data) == values
    assert p.unpack_many(b"") == []
    parts = [p.pack(v) for v in values]
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    assert p.unpack_many(data, offsets=offsets) == values
    with pytest.raises(ValueError):
        p.unpack_many(data + p.pack("abc")[:-1])  # last element truncated
    with pytest.raises(ValueError):
        p.unpack_many(data + p.pack([1, 2])[:-1])
    with pytest.raises(ValueError):
        p.unpack_many(data, offsets=[0, 1, len(data) + 1])


@pytest.mark.parametrize("name", ["msgpack:8", "cbor:8"])
def test_unpack_many_fixed_structured(name):
    p = DataPacker(name)
    values = [1, "a", [1, 2], None, {"k": 1}]
    data = p.pack_many(values)
    assert len(data) == 8 * len(values)
    assert p.unpack_many(data) == values
    assert p.unpack_many(data, count=2) == values[:2]


def test_unpack_many_vec_variable_with_offsets():
    p = DataPacker("vec:i16")
    values = [np.arange(3, dtype=np.int16), np.arange(4, dtype=np.int16).reshape(2, 2), np.zeros(0, np.int16)]
    parts = [p.pack(v) for v in values]
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    got = p.unpack_many(b"".join(parts), offsets=offsets)
    assert len(got) == 3
    for g, v in zip(got, values):
        assert g.shape == v.shape and np.array_equal(g, v)


@pytest.mark.parametrize("name", list(SCALAR_NUMPY))
def test_unpack_many_as_numpy_scalars(name):
    p = DataPacker(name)
    nptype = SCALAR_NUMPY[name]
    if name == "bool":
        values = [True, False, True]
    elif name[0] == "f":
        values = [0.5, -1.25, INF]
    else:
        lo, hi = INT_RANGES[name]
        values = [lo, 0, hi, 1]
    data = p.pack_many(values)
    arr = p.unpack_many(data, as_numpy=True)
    assert isinstance(arr, np.ndarray)
    assert arr.dtype == np.dtype(nptype)
    assert arr.shape == (len(values),)
    assert arr.tolist() == values
    assert arr.flags.writeable
    arr[0] = arr[1]
    assert p.unpack_many(data, as_numpy=True).tolist() == values
    assert p.unpack_many(data, count=2, as_numpy=True).tolist() == values[:2]
    empty = p.unpack_many(b"", as_numpy=True)
    assert empty.shape == (0,) and empty.dtype == np.dtype(nptype)
    if p.elem_size > 1:
        with pytest.raises(ValueError):
            p.unpack_many(data + b"\x00", as_numpy=True)
    with pytest.raises(ValueError):
        p.unpack_many(data, count=len(values) + 1, as_numpy=True)


def test_unpack_many_as_numpy_bool_invalid_byte():
    with pytest.raises(ValueError):
        DataPacker("bool").unpack_many(b"\x00\x01\x02", as_numpy=True)
    with pytest.raises(ValueError):
        DataPacker("bool").unpack_many(b"\x00\x01\x02")


def test_unpack_many_as_numpy_fixed_vec():
    p = DataPacker("vec:f64:2:3")
    batch = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    data = p.pack_many(batch)
    arr = p.unpack_many(data, as_numpy=True)
    assert arr.shape == (4, 2, 3) and arr.dtype == np.float64
    assert np.array_equal(arr, batch)
    assert arr.flags.writeable
    assert p.unpack_many(data, count=1, as_numpy=True).shape == (1, 2, 3)
    assert p.unpack_many(b"", as_numpy=True).shape == (0, 2, 3)
    listed = p.unpack_many(data)
    assert isinstance(listed, list) and len(listed) == 4
    assert all(isinstance(x, np.ndarray) and x.shape == (2, 3) for x in listed)
    with pytest.raises(ValueError):
        p.unpack_many(b"\x01" + data[1:], as_numpy=True)  # wrong type code in element 0


@pytest.mark.parametrize(
    "name, values",
    [("str:4", ["a", "b"]), ("bytes:4", [b"a", b"b"]), ("msgpack:8", [1, 2]), ("cbor:8", [1, 2]),
     ("str", ["a", "b"]), ("bytes", [b"a", b"b"]), ("msgpack", [1, 2]), ("cbor", [1, 2]), ("json", [1, 2]),
     ("vec:f32", [[1], [2]])],
)
def test_unpack_many_as_numpy_other_dtypes_refused(name, values):
    p = DataPacker(name)
    parts = [p.pack(v) for v in values]
    data = b"".join(parts)
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    with pytest.raises((ValueError, TypeError)):
        if p.is_varsize:
            p.unpack_many(data, offsets=offsets, as_numpy=True)
        else:
            p.unpack_many(data, as_numpy=True)


# ================================================================= schemas

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
}


def test_json_schema_packer():
    p = DataPacker.with_json_schema(PERSON)
    assert isinstance(p, DataPacker)
    assert p.is_varsize and p.elem_size == 0
    value = {"name": "Alice", "age": 30, "tags": ["a"]}
    data = p.pack(value)
    assert data == DataPacker("msgpack").pack(value)
    assert p.unpack(data) == value
    assert list(p.unpack(DataPacker("msgpack").pack({"b": 1, "a": 2}))) == ["b", "a"]  # no validation on unpack
    assert p.pack_many([value, {"name": "B", "age": 0}]) == DataPacker("msgpack").pack_many(
        [value, {"name": "B", "age": 0}])
    assert p.unpack_many(p.pack_many([value, value])) == [value, value]


def test_json_schema_validation_errors_mention_every_field():
    p = DataPacker.with_json_schema(PERSON)
    with pytest.raises(ValueError) as info:
        p.pack({"name": 1, "age": -3})
    message = str(info.value)
    assert message.startswith("Validation errors"), message
    assert "name" in message and "age" in message
    with pytest.raises(ValueError, match="^Validation errors") as info:
        p.pack({"name": "x"})
    assert "age" in str(info.value)
    with pytest.raises(ValueError, match="^Validation errors") as info:
        p.pack({"name": "x", "age": 1, "tags": ["ok", 5]})
    assert "tags" in str(info.value)
    with pytest.raises(ValueError, match="^Validation errors"):
        p.pack([1, 2])
    with pytest.raises(ValueError, match="^Validation errors"):
        p.pack_many([{"name": "a", "age": 1}, {"name": "b", "age": -1}])


def test_json_schema_other_keywords():
    p = DataPacker.with_json_schema({"type": "array", "items": {"type": "number"}, "maxItems": 3})
    assert p.unpack(p.pack([1, 2.5])) == [1, 2.5]
    with pytest.raises(ValueError, match="^Validation errors"):
        p.pack([1, 2, 3, 4])
    with pytest.raises(ValueError, match="^Validation errors"):
        p.pack(["x"])
    q = DataPacker.with_json_schema({"type": "string", "pattern": "^a+$"})
    assert q.pack("aaa") == DataPacker("msgpack").pack("aaa")
    with pytest.raises(ValueError, match="^Validation errors"):
        q.pack("b")
    e = DataPacker.with_json_schema({"enum": [1, "two", None]})
    e.pack("two")
    e.pack(None)
    with pytest.raises(ValueError, match="^Validation errors"):
        e.pack(3)
    anything = DataPacker.with_json_schema({})
    assert anything.unpack(anything.pack({"x": [1, b"b"]})) == {"x": [1, b"b"]}


def test_json_schema_still_rejects_unsupported_types():
    p = DataPacker.with_json_schema({})
    with pytest.raises(TypeError):
        p.pack(object())
    with pytest.raises(OverflowError):
        p.pack(2**64)


_BAD_SCHEMA = r"""
import json, sys
from ambervault import DataPacker
try:
    DataPacker.with_json_schema(json.loads(sys.argv[1]))
except ValueError as exc:
    print("ValueError:", exc)
else:
    print("accepted")
"""


@pytest.mark.parametrize("schema", [{"type": 12}, {"type": "nonsense"}, {"properties": 5}, {"minimum": "x"},
                                    {"required": "name"}, {"items": [1]}, {"$ref": 5}, {"enum": 3}],
                         ids=json.dumps)
def test_json_schema_bad_schema(schema):
    # In a child process: a C++ exception escaping the schema compiler must
    # fail this test, not abort the whole run.
    result = run_python(_BAD_SCHEMA, json.dumps(schema))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ValueError:"), result.stdout
    assert "Schema" in result.stdout, result.stdout


def test_json_schema_non_dict_schema():
    with pytest.raises((TypeError, ValueError)):
        DataPacker.with_json_schema("not a schema")
    with pytest.raises((TypeError, ValueError)):
        DataPacker.with_json_schema({"type": object()})


def test_json_schema_packer_thread_safe():
    p = DataPacker.with_json_schema(PERSON)
    errors = []

    def work(i):
        try:
            for j in range(200):
                v = {"name": f"n{i}-{j}", "age": j}
                assert p.unpack(p.pack(v)) == v
                with pytest.raises(ValueError):
                    p.pack({"name": j, "age": -j - 1})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_cddl_schema_packer():
    for p in [DataPacker.with_cddl_schema(), DataPacker.with_cddl_schema(None),
              DataPacker.with_cddl_schema("thing = { name: tstr }"), DataPacker.with_cddl_schema(schema="x = int")]:
        assert isinstance(p, DataPacker)
        assert p.is_varsize
        value = {"name": "x", "n": [1, 2.5, None]}
        assert p.pack(value) == DataPacker("cbor").pack(value)
        assert p.unpack(p.pack(value)) == value
        assert p.pack("not an int") == DataPacker("cbor").pack("not an int")  # schema not applied


# ================================================================ robustness

FUZZ_SAMPLES = 2000


def _random_inputs(seed, count=FUZZ_SAMPLES):
    rng = random.Random(seed)
    for _ in range(count):
        yield rng.randbytes(rng.randint(0, 64))


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_unpack_random_bytes_never_crashes(name):
    p = DataPacker(name)
    ok = failed = 0
    for data in _random_inputs(zlib.crc32(name.encode())):
        try:
            p.unpack(data)
            ok += 1
        except ValueError:
            failed += 1
    assert ok + failed == FUZZ_SAMPLES


@pytest.mark.parametrize("name", ["msgpack", "cbor", "json", "vec:f32", "vec:u8"])
def test_unpack_many_random_bytes_never_crashes(name):
    p = DataPacker(name)
    for data in _random_inputs(99, 1000):
        try:
            if name in ("msgpack", "cbor"):
                p.unpack_many(data)
            else:
                p.unpack_many(data, offsets=[0, len(data) // 2])
        except ValueError:
            pass


@pytest.mark.parametrize("name", STRUCTURED)
def test_unpack_mutated_encodings_never_crashes(name):
    p = DataPacker(name)
    seeds = [p.pack(v) for v in CONTAINER_VALUES[:6] + CONTAINER_VALUES[7:11] + [SCALAR_VALUES]]
    rng = random.Random(1234)
    for _ in range(3000):
        data = bytearray(rng.choice(seeds)[:400])
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            p.unpack(bytes(data))
        except ValueError:
            pass


@pytest.mark.parametrize(
    "name, value",
    [
        ("msgpack", {"a": [1, 2**40, -3.5, "héllo", b"\x00\x01", None, True, {"k": [[], {}]}], (1, 2): 2**64 - 1}),
        ("cbor", {"a": [1, 2**40, -3.5, "héllo", b"\x00\x01", None, True, {"k": [[], {}]}], (1, 2): 2**64 - 1}),
        ("msgpack", "x" * 300),
        ("cbor", list(range(300))),
        ("vec:f32", np.arange(12, dtype=np.float32).reshape(3, 4)),
        ("vec:u64", np.arange(5, dtype=np.uint64)),
        ("vec:i8:2:2", [[1, 2], [3, 4]]),
    ],
)
def test_truncated_encodings_raise(name, value):
    p = DataPacker(name)
    data = p.pack(value)
    for n in range(len(data)):
        with pytest.raises(ValueError):
            p.unpack(data[:n])


# =================================================================== threads


def test_shared_packer_in_threads_matches_sequential():
    cases = [
        (DataPacker("msgpack"), [{"i": i, "s": "x" * (i % 17), "l": list(range(i % 9)), "f": i / 3} for i in range(300)]),
        (DataPacker("cbor"), [[i, str(i), {"b": bytes([i % 256]) * (i % 5)}] for i in range(300)]),
        (DataPacker("str:16:utf16le"), [f"s{i}é" for i in range(300)]),
        (DataPacker("vec:f32:4"), [[i, i + 1, i + 2, i / 7] for i in range(300)]),
        (DataPacker("f32"), [i / 3 for i in range(300)]),
        (DataPacker("json"), [{"k": [i, None, "v"]} for i in range(300)]),
    ]

    def run(packer, values):
        packed = [packer.pack(v) for v in values]
        many = packer.pack_many(values)
        unpacked = [packer.unpack(b) for b in packed]
        return packed, many, [u.tolist() if isinstance(u, np.ndarray) else u for u in unpacked]

    expected = [run(p, vs) for p, vs in cases]
    results = {}
    errors = []
    barrier = threading.Barrier(4)

    def worker(tid):
        try:
            barrier.wait()
            out = []
            for _ in range(3):
                out.append([run(p, vs) for p, vs in cases])
            results[tid] = out
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 4
    for out in results.values():
        for rep in out:
            assert rep == expected
