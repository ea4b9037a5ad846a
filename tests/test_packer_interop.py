"""Byte layouts of ambervault.DataPacker and interop with KohakuVault 1.1.0's
DataPacker, the msgpack package and cbor2.

- KohakuVault: for every dtype it supports, both libraries produce the same
  bytes (where KohakuVault does not lose information: its MessagePack and
  CBOR go through a JSON value, so it sorts map keys, has no bytes, maps
  NaN/inf to nil and its CBOR writes floats in the shortest width) and each
  reads the other's bytes.
- msgpack: ambervault's MessagePack is byte-identical to msgpack.packb()
  (use_bin_type=True, float64, smallest int encodings) and reads it back.
- cbor2: ambervault's CBOR has cbor2's integer, string, container and float64
  heads, and each library decodes the other's output.
"""

import math
import struct

import cbor2
import kohakuvault
import msgpack
import numpy as np
import pytest

from ambervault import DataPacker
from conftest import strict_same

K = kohakuvault.DataPacker

INF = float("inf")
NAN = float("nan")

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




def same_unordered(a, b):
    """Like strict_same, but dict order does not matter (KohakuVault sorts keys)."""
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same_unordered(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return type(b) is list and len(a) == len(b) and all(same_unordered(x, y) for x, y in zip(a, b))
    return strict_same(a, b)


def offsets_of(parts):
    out, pos = [], 0
    for p in parts:
        out.append(pos)
        pos += len(p)
    return out


def has_float(value):
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    return False


# KohakuVault's structured dtypes write floats as float64 only if these hold.
KOHAKU_MSGPACK_FLOAT64 = K("msgpack").pack(1.5) == b"\xcb" + struct.pack(">d", 1.5)
KOHAKU_CBOR_FLOAT64 = K("cbor").pack(1.5) == b"\xfb" + struct.pack(">d", 1.5)

# ===================================================================== KohakuVault

TEXT_UTF = ["", "a", "hello world", "héllo wörld", "日本語", "emoji 😀🎉", "x" * 300, "tab\tnl\n"]
TEXT_ASCII = ["", "a", "hello world", "".join(map(chr, range(1, 128)))]
TEXT_LATIN1 = ["", "a", "héllo wörld", "".join(map(chr, range(1, 256)))]
TEXT_SHORT = ["", "a", "héllo", "日本", "😀", "abcdefgh"]

STRUCTURED_VALUES = [
    None, True, False,
    0, 1, -1, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536, -32768, -32769,
    2**32 - 1, 2**32, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63),
    0.0, -0.0, 1.5, -2.25, 0.1, 1e300, 5e-324, 1.0,
    "", "a", "é日本😀", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 70000,
    [], [1, "a", None, True, 2.5], [[[]], [1, [2, [3]]]], list(range(15)), list(range(16)), list(range(70000)),
    {}, {"a": 1}, {"a": 2, "b": 1}, {"a": {"b": [1, {"c": None}]}, "d": -0.5},
    {f"k{i:05d}": i for i in range(16)}, {f"k{i:05d}": [i] for i in range(70000)},
    [{"id": i, "name": f"item{i}", "score": i / 7, "tags": ["t"] * (i % 3)} for i in range(30)],
]

SCALAR_CASES = [
    ("i64", [0, 1, -1, 2**63 - 1, -(2**63), 123456789, True]),
    ("f64", [0.0, -0.0, 1.5, 0.1, -1e300, 5e-324, 2**53 + 1, INF, -INF, 7]),
    ("str", TEXT_UTF),
    ("string", TEXT_UTF),
    ("str:utf8", TEXT_UTF),
    ("str:utf-8", TEXT_UTF),
    ("str:utf16le", TEXT_UTF),
    ("str:utf16be", TEXT_UTF),
    ("str:ascii", TEXT_ASCII),
    ("str:latin1", TEXT_LATIN1),
    ("str:iso-8859-1", TEXT_LATIN1),
    ("str:32", TEXT_SHORT),
    ("str:8", TEXT_SHORT),
    ("str:32:utf8", TEXT_SHORT),
    ("str:8:utf-8", TEXT_SHORT),
    ("str:32:utf16le", TEXT_SHORT),
    ("str:32:utf16be", TEXT_SHORT),
    ("str:16:ascii", ["", "a", "abcdefghijklmnop"]),
    ("str:16:latin1", ["", "é", "ÿþ", "abcdefghijklmnop"]),
    ("bytes", [b"", b"a", b"\x00\xff" * 100, bytes(range(256))]),
    ("bytes:8", [b"", b"a", b"abcdefgh", b"\x00\x01"]),
    ("bytes:1", [b"", b"z"]),
]


def kohaku_dtype_ok(dtype):
    try:
        K(dtype)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("dtype, values", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_kohaku_scalar_bytes_identical(dtype, values):
    a, k = DataPacker(dtype), K(dtype)
    assert a.elem_size == k.elem_size
    assert a.is_varsize == k.is_varsize
    for v in values:
        ab, kb = a.pack(v), k.pack(v)
        assert ab == kb, (dtype, v, ab, kb)
        assert strict_same(a.unpack(kb), k.unpack(kb, 0))
        assert strict_same(k.unpack(ab, 0), a.unpack(ab))


def test_kohaku_f64_nan_bytes():
    a, k = DataPacker("f64"), K("f64")
    assert a.pack(NAN) == k.pack(NAN)
    assert math.isnan(k.unpack(a.pack(NAN), 0))
    assert math.isnan(a.unpack(k.pack(NAN)))


FIXED_CASES = [c for c in SCALAR_CASES if c[0] in ("i64", "f64") or ":" in c[0] and c[0].split(":")[1].isdigit()]


@pytest.mark.parametrize("dtype, values", FIXED_CASES, ids=[c[0] for c in FIXED_CASES])
def test_kohaku_fixed_many(dtype, values):
    a, k = DataPacker(dtype), K(dtype)
    values = list(values)
    ab, kb = a.pack_many(values), k.pack_many(values)
    assert ab == kb
    n = len(values)
    assert [*map(repr, a.unpack_many(kb))] == [*map(repr, k.unpack_many(kb, count=n))]
    assert [*map(repr, k.unpack_many(ab, count=n))] == [*map(repr, a.unpack_many(ab, count=n))]
    assert k.unpack_many(ab, count=n - 1) == a.unpack_many(ab, count=n - 1)


@pytest.mark.parametrize("dtype", ["str", "str:utf16le", "bytes"])
def test_kohaku_variable_many(dtype):
    a, k = DataPacker(dtype), K(dtype)
    values = TEXT_UTF if dtype.startswith("str") else [b"", b"ab", b"\x00" * 10, b"xyz"]
    parts = [a.pack(v) for v in values]
    data = a.pack_many(values)
    assert data == k.pack_many(values)
    offsets = offsets_of(parts)
    assert a.unpack_many(data, offsets=offsets) == values
    assert k.unpack_many(data, offsets=offsets) == values


@pytest.mark.parametrize("dtype", ["msgpack", "messagepack", "cbor"])
def test_kohaku_structured(dtype):
    a, k = DataPacker(dtype), K(dtype)
    float64 = KOHAKU_MSGPACK_FLOAT64 if dtype != "cbor" else KOHAKU_CBOR_FLOAT64
    for v in STRUCTURED_VALUES:
        ab, kb = a.pack(v), k.pack(v)
        if float64 or not has_float(v):
            assert ab == kb, (dtype, repr(v)[:80], ab[:40], kb[:40])
        # each reads the other's bytes
        assert strict_same(a.unpack(kb), v), (dtype, repr(v)[:80])
        assert strict_same(k.unpack(ab, 0), v), (dtype, repr(v)[:80])


def test_kohaku_float_widths_as_found():
    # Record of what KohakuVault 1.1.0 does (the tests above adapt to it):
    # msgpack floats are float64, CBOR floats the shortest exact width.
    assert KOHAKU_MSGPACK_FLOAT64
    assert K("cbor").pack(1.5) == b"\xf9\x3e\x00"
    assert DataPacker("cbor").unpack(K("cbor").pack(1.5)) == 1.5
    assert DataPacker("cbor").unpack(K("cbor").pack(0.1)) == 0.1
    assert DataPacker("cbor").unpack(K("cbor").pack(-0.0)) == 0.0
    assert math.copysign(1.0, DataPacker("cbor").unpack(K("cbor").pack(-0.0))) == -1.0


@pytest.mark.parametrize("dtype", ["msgpack", "cbor"])
def test_kohaku_reads_unsorted_maps(dtype):
    # KohakuVault sorts keys on read; values are still equal.
    value = {"b": 1, "a": {"z": 2, "c": [3]}}
    assert same_unordered(K(dtype).unpack(DataPacker(dtype).pack(value), 0), value)


@pytest.mark.parametrize("dtype", ["msgpack:64", "cbor:64"])
def test_kohaku_fixed_structured(dtype):
    a, k = DataPacker(dtype), K(dtype)
    values = [None, 1, -1, 2**64 - 1, "x" * 40, [1, 2, [3]], {"a": "b", "c": None}]
    for v in values:
        ab, kb = a.pack(v), k.pack(v)
        assert ab == kb
        assert strict_same(a.unpack(kb), v)
        assert strict_same(k.unpack(ab, 0), v)
    ab = a.pack_many(values)
    assert ab == k.pack_many(values)
    assert k.unpack_many(ab, count=len(values)) == values
    assert a.unpack_many(ab) == values


@pytest.mark.parametrize("dtype", ["msgpack", "cbor"])
def test_kohaku_structured_offsets(dtype):
    a, k = DataPacker(dtype), K(dtype)
    values = [1, "a", [1, [2]], {"a": None, "b": 2}, None, 2**64 - 1]
    parts = [a.pack(v) for v in values]
    data = a.pack_many(values)
    assert data == k.pack_many(values)
    offsets = offsets_of(parts)
    assert k.unpack_many(data, offsets=offsets) == values
    assert a.unpack_many(data, offsets=offsets) == values
    assert a.unpack_many(k.pack_many(values)) == values


# KohakuVault 1.1.0 reads u64 vectors through float64 (2**64 - 1 comes back as
# 0), so its side of the u64 reads is not checked.
KOHAKU_READS_EXACT = {t for t in VEC_TYPES if t != "u64"}


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_kohaku_u64_vector_read_is_lossy():
    values = [2**60 + 1, 2**64 - 1, 12345678901234567891]
    data = K("vec:u64").pack(np.array(values, dtype=np.uint64))
    assert data == DataPacker("vec:u64").pack(np.array(values, dtype=np.uint64))
    assert DataPacker("vec:u64").unpack(data).tolist() == values
    assert K("vec:u64").unpack(data, 0).tolist() != values  # if this fails, KohakuVault was fixed


VEC_SHAPES_ANY = [(5,), (2, 3), (2, 3, 4), (1,), (0,), (3, 0)]
VEC_SHAPES_FIXED = [(3,), (2, 3), (1, 2, 2)]


def _array(t, shape, seed=0):
    nptype = VEC_TYPES[t]
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    if t[0] == "f":
        return rng.normal(size=n).astype(nptype).reshape(shape)
    info = np.iinfo(nptype)
    return rng.integers(info.min, info.max, size=n, dtype=nptype, endpoint=True).reshape(shape)


@pytest.mark.parametrize("t", VEC_TYPES)
def test_kohaku_vec_any_shape(t):
    a, k = DataPacker(f"vec:{t}"), K(f"vec:{t}")
    assert a.is_varsize and k.is_varsize
    for shape in VEC_SHAPES_ANY:
        arr = _array(t, shape)
        ab, kb = a.pack(arr), k.pack(arr)
        assert ab == kb, (t, shape)
        assert strict_same(a.unpack(kb), arr)
        if t in KOHAKU_READS_EXACT:
            assert strict_same(k.unpack(ab, 0), arr)
    parts = [a.pack(_array(t, s, i)) for i, s in enumerate(VEC_SHAPES_ANY)]
    data = b"".join(parts)
    assert data == k.pack_many([_array(t, s, i) for i, s in enumerate(VEC_SHAPES_ANY)])
    got_k = k.unpack_many(data, offsets=offsets_of(parts))
    got_a = a.unpack_many(data, offsets=offsets_of(parts))
    assert len(got_a) == len(got_k) == len(parts)
    for i, (x, y) in enumerate(zip(got_a, got_k)):
        assert strict_same(x, _array(t, VEC_SHAPES_ANY[i], i))
        if t in KOHAKU_READS_EXACT:
            assert strict_same(x, y)


@pytest.mark.parametrize("t", VEC_TYPES)
def test_kohaku_vec_fixed_shape(t):
    for shape in VEC_SHAPES_FIXED:
        dtype = f"vec:{t}:" + ":".join(map(str, shape))
        a, k = DataPacker(dtype), K(dtype)
        assert a.elem_size == k.elem_size
        arrs = [_array(t, shape, seed) for seed in range(4)]
        for arr in arrs:
            ab, kb = a.pack(arr), k.pack(arr)
            assert ab == kb
            assert strict_same(a.unpack(kb), arr)
            if t in KOHAKU_READS_EXACT:
                assert strict_same(k.unpack(ab, 0), arr)
        data = a.pack_many(arrs)
        assert data == k.pack_many(arrs)
        for x, y, arr in zip(a.unpack_many(data), k.unpack_many(data, count=len(arrs)), arrs):
            assert strict_same(x, arr)
            if t in KOHAKU_READS_EXACT:
                assert strict_same(x, y)
        assert np.array_equal(a.unpack_many(data, as_numpy=True), np.stack(arrs))


def test_kohaku_vec_casts_and_lists():
    cases = [
        ("vec:f32", np.array([0.1, 1e-3, 2.5])),
        ("vec:f32:3", [1, 2, 3]),
        ("vec:f64:2:2", [[1, 2], [3, 4.5]]),
        ("vec:i32", [1.7, 2.2, -3.9]),
        ("vec:u8:3", np.array([300, 1, 255])),
        ("vec:i16", np.arange(6, dtype=np.int64).reshape(2, 3)),
        ("vec:u64", np.array([2**64 - 1, 0], dtype=np.uint64)),  # KohakuVault turns lists into float64 first
        ("vec:i64:2", np.array([-(2**63), 2**63 - 1])),
        ("vec:i64:2", [-(2**53), 2**53]),
        ("vec:f32", np.float32(3)),  # 0-d
        ("vec:f32", np.array(2.5)),  # 0-d
        ("vec:i16", np.array(-7, dtype=np.int64)),  # 0-d
        ("vec:float32:2", [1, 2]),
        ("vec:uint8:2", [1, 2]),
        ("vec:int8:2", [-1, 2]),
        ("vec:float64:2", [1, 2]),
        ("vec:i32", np.arange(10, dtype=np.int32)[::2]),
        ("vec:i32", np.arange(4, dtype=">i4")),
        ("vec:i32", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))),
    ]
    for dtype, value in cases:
        assert DataPacker(dtype).pack(value) == K(dtype).pack(value), dtype


def test_kohaku_vec_zero_dim_reads():
    data = K("vec:f32").pack(np.float32(3))
    got = DataPacker("vec:f32").unpack(data)
    assert got.dtype == np.float32 and got.shape == () and got == 3


def test_kohaku_vec_shape_mismatch_wording():
    for dtype, value in [("vec:f32:2", [1, 2, 3]), ("vec:f32:2:2", [1, 2, 3, 4])]:
        with pytest.raises(ValueError, match="(?i)shape mismatch"):
            K(dtype).pack(value)
        with pytest.raises(ValueError, match="(?i)shape mismatch"):
            DataPacker(dtype).pack(value)


def test_kohaku_error_classes_agree():
    cases = [
        ("str:8", "abcdefghi", ValueError),
        ("bytes:4", b"abcde", ValueError),
        ("str:ascii", "é", ValueError),
        ("str:latin1", "€", ValueError),
        ("i64", 1.5, TypeError),
        ("i64", 2**63, OverflowError),
        ("str", b"x", TypeError),
        ("f64", "x", TypeError),
    ]
    for dtype, value, exc in cases:
        with pytest.raises(exc):
            K(dtype).pack(value)
        with pytest.raises(exc):
            DataPacker(dtype).pack(value)
    for dtype, data in [("str", b"\xff"), ("str:ascii", b"\xe9"), ("i64", b"\x00" * 7), ("bytes:3", b"ab")]:
        with pytest.raises(ValueError):
            K(dtype).unpack(data, 0)
        with pytest.raises(ValueError):
            DataPacker(dtype).unpack(data)


def test_kohaku_dtype_spellings_accepted_by_both():
    for dtype in ["i64", "f64", "str", "string", "str:utf8", "str:utf-8", "str:utf16le", "str:utf16be",
                  "str:ascii", "str:latin1", "str:iso-8859-1", "str:8", "str:8:UTF16LE", "bytes", "bytes:4",
                  "msgpack", "messagepack", "cbor", "msgpack:8", "cbor:8", "vec:f32", "vec:float32:3",
                  "vec:uint8:2:2", "vec:i8", "vec:int16:4"]:
        assert kohaku_dtype_ok(dtype), dtype
        assert DataPacker(dtype).elem_size == K(dtype).elem_size, dtype
        assert DataPacker(dtype).is_varsize == K(dtype).is_varsize, dtype


def test_kohaku_json_schema_packer_same_bytes():
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    a, k = DataPacker.with_json_schema(schema), K.with_json_schema(schema)
    value = {"age": 3, "name": "A"}
    assert a.pack(value) == k.pack(value)
    assert a.unpack(k.pack(value)) == value
    with pytest.raises(ValueError, match="^Validation errors"):
        k.pack({"name": 1})
    with pytest.raises(ValueError, match="^Validation errors"):
        a.pack({"name": 1})
    with pytest.raises(ValueError, match="Schema"):
        K.with_json_schema({"type": 12})  # ambervault's side: test_packer.py::test_json_schema_bad_schema


def test_kohaku_cddl_packer_same_bytes():
    a, k = DataPacker.with_cddl_schema(), K.with_cddl_schema()
    for v in [{"a": 1}, [1, "x", None], "s"]:
        assert a.pack(v) == k.pack(v)
        assert a.unpack(k.pack(v)) == v


# ==================================================================== layouts


def test_vec_layout_spot_checks():
    arr = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert DataPacker("vec:i16").pack(arr).hex() == "0a020200000003000000000001000200030004000500"
    assert DataPacker("vec:f32:2").pack([1, 2]) == b"\x01\x00\x00\x80?\x00\x00\x00@"
    assert DataPacker("vec:f32").pack(np.zeros(0, np.float32)).hex() == "010100000000"
    assert DataPacker("vec:f32").pack(np.float32(3)).hex() == "010000004040"
    assert DataPacker("vec:u8:3").pack([1, 2, 3]).hex() == "05010203"
    assert DataPacker("vec:f64").pack([1.0]).hex() == "020101000000000000000000f03f"
    assert DataPacker("vec:i8:2").pack([-1, 2]).hex() == "09ff02"
    assert DataPacker("vec:u64:1").pack([2**64 - 1]).hex() == "08" + "ff" * 8
    assert DataPacker("vec:i64:1").pack([-2]).hex() == "04feffffffffffffff"
    assert DataPacker("vec:i32:1").pack([-2]).hex() == "03feffffff"
    assert DataPacker("vec:u16:1").pack([0x1234]).hex() == "063412"
    assert DataPacker("vec:u32:1").pack([0x12345678]).hex() == "0778563412"
    got = DataPacker("vec:i16").unpack(bytes.fromhex("0a020200000003000000000001000200030004000500"))
    assert got.dtype == np.int16 and got.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_scalar_layouts():
    assert DataPacker("i64").pack(1) == b"\x01" + b"\x00" * 7
    assert DataPacker("i8").pack(-2) == b"\xfe"
    assert DataPacker("u16").pack(0x1234) == b"\x34\x12"
    assert DataPacker("i32").pack(-2) == b"\xfe\xff\xff\xff"
    assert DataPacker("u64").pack(2**64 - 1) == b"\xff" * 8
    assert DataPacker("f64").pack(1.0) == b"\x00" * 6 + b"\xf0\x3f"
    assert DataPacker("f32").pack(1.0) == b"\x00\x00\x80\x3f"
    assert DataPacker("bool").pack(True) == b"\x01"
    assert DataPacker("str:4").pack("ab") == b"ab\x00\x00"
    assert DataPacker("str:4:utf16be").pack("a") == b"\x00a\x00\x00"
    assert DataPacker("bytes:3").pack(b"a") == b"a\x00\x00"
    assert DataPacker("msgpack:4").pack(1) == b"\x01\x00\x00\x00"
    assert DataPacker("cbor:4").pack([1]) == b"\x81\x01\x00\x00"


# ===================================================================== msgpack

MSGPACK_VALUES = [
    None, True, False,
    0, 1, -1, 127, 128, 255, 256, -32, -33, -128, -129, 65535, 65536, -32768, -32769,
    2**32 - 1, 2**32, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, 2**64 - 1, -(2**63),
    0.0, -0.0, 1.5, 0.1, -1e300, 5e-324, INF, -INF,
    "", "a", "é日本😀", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 65535, "z" * 65536,
    b"", b"\x00", b"b" * 255, b"b" * 256, b"c" * 65535, b"c" * 65536,
    [], list(range(15)), list(range(16)), list(range(65535)), list(range(65536)),
    {}, {str(i): i for i in range(15)}, {str(i): i for i in range(16)}, {str(i): i for i in range(65536)},
    {"b": 1, "a": 2},
    {1: "int key", -1: "neg", 2**64 - 1: "big", 2.5: "float", b"k": "bytes", None: "none", False: "bool",
     "s": [b"v", None, {"x": -0.0}]},
    [{"id": i, "payload": bytes([i]) * i, "f": i / 3, "n": None} for i in range(40)],
]


@pytest.mark.parametrize("index", range(len(MSGPACK_VALUES)), ids=lambda i: repr(MSGPACK_VALUES[i])[:30])
def test_msgpack_package_bytes_identical(index):
    value = MSGPACK_VALUES[index]
    p = DataPacker("msgpack")
    ours, theirs = p.pack(value), msgpack.packb(value)
    assert ours == theirs
    assert strict_same(p.unpack(theirs), value)
    assert strict_same(msgpack.unpackb(ours, strict_map_key=False), value)


def test_msgpack_nan():
    p = DataPacker("msgpack")
    assert p.pack(NAN) == msgpack.packb(NAN)
    assert math.isnan(p.unpack(msgpack.packb(NAN)))
    assert math.isnan(msgpack.unpackb(p.pack(NAN)))
    got = msgpack.unpackb(p.pack({"n": [NAN]}))
    assert math.isnan(got["n"][0])


def test_msgpack_tuples_compare_after_unpack():
    p = DataPacker("msgpack")
    value = (1, (2, "x"), [3, (4,)])
    assert msgpack.unpackb(p.pack(value)) == [1, [2, "x"], [3, [4]]]
    assert p.unpack(msgpack.packb(value)) == [1, [2, "x"], [3, [4]]]
    keyed = {(1, 2): "a", (3, (4, b"k")): "b"}
    assert msgpack.unpackb(p.pack(keyed), strict_map_key=False, use_list=False) == keyed
    got = p.unpack(msgpack.packb(keyed))
    assert strict_same(got, keyed)


def test_msgpack_order_kept():
    p = DataPacker("msgpack")
    keys = [f"k{(i * 7919) % 1000}" for i in range(200)]
    value = dict.fromkeys(keys, 1)
    assert list(p.unpack(msgpack.packb(value))) == keys
    assert list(msgpack.unpackb(p.pack(value))) == keys


def test_msgpack_package_other_encodings_read():
    p = DataPacker("msgpack")
    data = msgpack.packb([1.5, 0.1], use_single_float=True)
    assert p.unpack(data) == [1.5, float(np.float32(0.1))]
    assert p.unpack(msgpack.packb({"a": b"x"}, use_bin_type=True)) == {"a": b"x"}


def test_msgpack_stream():
    p = DataPacker("msgpack")
    values = [1, "a", [1, 2], {"b": None}, b"x", 2.5, None, 2**64 - 1]
    packer = msgpack.Packer()
    stream = b"".join(packer.pack(v) for v in values)
    assert p.pack_many(values) == stream
    assert p.unpack_many(stream) == values
    unpacker = msgpack.Unpacker(strict_map_key=False)
    unpacker.feed(p.pack_many(values))
    assert list(unpacker) == values


def test_msgpack_ext_types_refused():
    p = DataPacker("msgpack")
    for data in [msgpack.packb(msgpack.ExtType(5, b"abc")), msgpack.packb([1, msgpack.ExtType(1, b"")])]:
        with pytest.raises(ValueError):
            p.unpack(data)


# ======================================================================== cbor2

CBOR_VALUES = [
    None, True, False,
    0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
    -1, -24, -25, -256, -257, -65536, -65537, -(2**32), -(2**32) - 1, -(2**63),
    "", "a", "é日本😀", "x" * 23, "x" * 24, "y" * 255, "y" * 256, "z" * 65535, "z" * 65536,
    b"", b"\x00", b"b" * 23, b"b" * 24, b"c" * 256, b"c" * 65536,
    [], list(range(23)), list(range(24)), list(range(256)), list(range(65536)),
    {}, {"b": 1, "a": 2}, {str(i): i for i in range(24)},
    {1: "int key", -1: "neg", b"k": "bytes", None: "none", "s": [b"v", None, {"x": "y"}]},
    [{"id": i, "payload": bytes([i]) * i, "n": None} for i in range(40)],
]
CBOR_FLOATS = [0.0, -0.0, 1.5, 0.1, -1e300, 5e-324, 1.0, 65504.0, 1e-7, 3.4028234663852886e38]


@pytest.mark.parametrize("index", range(len(CBOR_VALUES)), ids=lambda i: repr(CBOR_VALUES[i])[:30])
def test_cbor2_bytes_identical(index):
    value = CBOR_VALUES[index]
    p = DataPacker("cbor")
    ours, theirs = p.pack(value), cbor2.dumps(value)
    assert ours == theirs
    assert strict_same(p.unpack(theirs), value)
    assert strict_same(cbor2.loads(ours), value)


def test_cbor2_canonical_width_ints():
    p = DataPacker("cbor")
    for v in [0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
              -1, -24, -25, -256, -257, -65536, -65537, -(2**32), -(2**32) - 1, -(2**63)]:
        assert p.pack(v) == cbor2.dumps(v), v
        assert p.pack(v) == cbor2.dumps(v, canonical=True), v


def test_cbor_finite_floats_are_float64_like_cbor2():
    # packer.h: CBOR doubles are written as float64, which is what cbor2
    # writes for finite floats (it shortens only NaN and infinities).
    p = DataPacker("cbor")
    for v in CBOR_FLOATS:
        assert p.pack(v) == b"\xfb" + struct.pack(">d", v)
        assert p.pack(v) == cbor2.dumps(v), v


@pytest.mark.parametrize("canonical", [False, True])
def test_cbor2_output_decodes_equal(canonical):
    p = DataPacker("cbor")
    values = CBOR_VALUES + CBOR_FLOATS + [INF, -INF, [1.5, {"f": 0.25}], {(1, 2): 3, (4, (5,)): 6}, (1, 2)]
    for v in values:
        data = cbor2.dumps(v, canonical=canonical)
        assert strict_same(p.unpack(data), cbor2.loads(data)), repr(v)[:60]


def test_cbor2_reads_ambervault_floats():
    p = DataPacker("cbor")
    for v in CBOR_FLOATS + [INF, -INF]:
        assert strict_same(cbor2.loads(p.pack(v)), v)
    assert math.isnan(cbor2.loads(p.pack(NAN)))
    assert math.isnan(p.unpack(cbor2.dumps(NAN)))
    assert p.unpack(cbor2.dumps(INF)) == INF


def test_cbor_big_negative():
    p = DataPacker("cbor")
    assert p.unpack(cbor2.dumps(-(2**64))) == -(2**64)
    assert p.unpack(cbor2.dumps(-(2**63) - 1)) == -(2**63) - 1
    assert p.unpack(cbor2.dumps([-(2**64), {"k": -(2**64)}])) == [-(2**64), {"k": -(2**64)}]


def test_cbor_order_and_keys():
    p = DataPacker("cbor")
    keys = [f"k{(i * 7919) % 1000}" for i in range(200)]
    value = dict.fromkeys(keys, 1)
    assert list(p.unpack(cbor2.dumps(value))) == keys
    assert list(cbor2.loads(p.pack(value))) == keys
    mixed = {1: "a", -2: "b", "c": 3, b"d": 4, 2.5: 5, None: 6, False: 7}
    assert strict_same(p.unpack(cbor2.dumps(mixed)), mixed)
    assert strict_same(cbor2.loads(p.pack(mixed)), mixed)
    tuple_keys = {(1, 2): "t", (3, (4, "x")): "u"}
    assert strict_same(cbor2.loads(p.pack(tuple_keys)), tuple_keys)
    assert strict_same(p.unpack(cbor2.dumps(tuple_keys)), tuple_keys)


def test_cbor_tuples_compare_after_unpack():
    p = DataPacker("cbor")
    assert cbor2.loads(p.pack((1, (2, "x")))) == [1, [2, "x"]]
    assert p.unpack(cbor2.dumps((1, (2, "x")))) == [1, [2, "x"]]


def test_cbor_stream():
    p = DataPacker("cbor")
    values = [1, "a", [1, 2], {"b": None}, b"x", 2.5, None, 2**64 - 1, -(2**63)]
    stream = b"".join(cbor2.dumps(v) for v in values)
    assert p.unpack_many(stream) == values
    ours = p.pack_many(values)
    assert ours == stream
