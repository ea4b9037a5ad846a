"""Writes the seed corpora of fuzz/value_header_fuzzer.cc and
fuzz/column_index_fuzzer.cc into fuzz/corpus/value_header and
fuzz/corpus/column_index (named seed-*; libFuzzer's own finds are named by
their SHA-1). Run from anywhere: `python3 fuzz/make_header_index_corpus.py`.
Needs the msgpack and cbor2 packages (requirements-dev.txt).
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import cbor2
import msgpack

ROOT = Path(__file__).resolve().parent


def header(encoding: int, flags: int = 0, version: int = 1, reserved: bytes = b"\0\0\0") -> bytes:
    return b"\x89K" + bytes([version, encoding, flags]) + reserved + b"VK"


def vec(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    return bytes([code, len(shape)]) + b"".join(struct.pack("<I", d) for d in shape) + data


VALUE = {"a": [1, -2, 2.5, "x", None, True], "b": {"nested": [[], {}]}}

HEADER_SEEDS = {
    "raw-plain": b"plain bytes, no header",
    "raw-escaped": header(0) + header(4) + b"looks like a header",
    "pickle": header(1) + pickle.dumps({"k": [1, 2]}, protocol=4),
    "legacy-int": header(2) + struct.pack("<q", 42),
    "legacy-int-min": header(2) + struct.pack("<q", -(2**63)),
    "legacy-float": header(2) + struct.pack("<d", 3.5),
    "legacy-big-int": header(2) + struct.pack("<q", 10**12),
    "vec-f32-2x3": header(2, 4) + vec(1, (2, 3), struct.pack("<6f", *range(6))),
    "vec-i64-scalar": header(2, 4) + vec(4, (), struct.pack("<q", -7)),
    "vec-u8-8bytes": header(2, 4) + vec(5, (6,), bytes(range(6))),
    "vec-bad-code": header(2, 4) + vec(11, (1,), b"\0"),
    "json": header(3) + json.dumps(VALUE, separators=(",", ":")).encode(),
    "msgpack": header(4) + msgpack.packb(VALUE),
    "msgpack-bin": header(4) + msgpack.packb([b"\x00\xff", 2**64 - 1, -(2**63)], use_bin_type=True),
    "cbor": header(5) + cbor2.dumps(VALUE),
    "cbor-neg-beyond": header(5) + cbor2.dumps(-(2**64)),
    "utf8": header(6) + "héllo wörld \U0001f600".encode(),
    "utf8-bad": header(6) + b"\xc3\x28 bad",
    "bad-version": header(4, version=2) + msgpack.packb(1),
    "bad-reserved": header(4, reserved=b"\0\1\0") + msgpack.packb(1),
    "bad-encoding": header(7) + b"x",
    "short": header(4)[:9],
    # The second form: byte 0 = encoding, byte 1 = flags, then the payload.
    "form2-msgpack": b"\x04\x00" + msgpack.packb(VALUE),
    "form2-vec": b"\x02\x04" + vec(2, (2,), struct.pack("<2d", 1.0, -0.0)),
}


# ---- column_index: mirrors the input format of column_index_fuzzer.cc.

COLS = {"v": 0, "w": 1, "f": 2}
OPS = {
    "Length": 0, "Read": 1, "ReadAll": 3, "ReadInto": 4, "Append": 5, "AppendMany": 7,
    "Write": 8, "Insert": 10, "Delete": 11, "Compact": 12, "StorageInfo": 13, "Clear": 15,
    "Cache": 16, "Damage": 17, "Load": 18, "List": 19,
}


def op(name: str, col: str = "v", high: bool = False) -> int:
    """The first op byte b with b % 20 == OPS[name] and (b >> 5) % 3 == col."""
    for b in range(256):
        if b % 20 == OPS[name] and (b >> 5) % 3 == COLS[col] and bool(b & 0x80) == high:
            return b
    for b in range(256):
        if b % 20 == OPS[name] and (b >> 5) % 3 == COLS[col]:
            return b
    raise ValueError(name)


def num(v: int) -> bytes:
    """Input.Number(): -4..35 directly; else an edge value by index."""
    if -4 <= v <= 35:
        return bytes([v + 4])
    edges = {2**31 - 1: 0, -(2**31): 1, 2**31: 2, 2**40: 3, 2**63 - 1: 4, -(2**63): 5,
             (2**63 - 1) // 12 + 1: 6, 60: 10, 64: 11, 128: 12, 1000: 18, 65536: 19}
    idx = edges[v]
    for b in range(160, 256):
        if b % 24 == idx:
            return bytes([b])
    raise ValueError(v)


def elem(data: bytes) -> bytes:
    return bytes([len(data)]) + data


TARGET = {"v_idx": 0, "v_data": 1, "w_idx": 2, "w_data": 3, "f": 4}


def damage_entry(entry: int, field: int, value: int, column: str = "v") -> bytes:
    return bytes([0x10 if column == "w" else 0, 0, entry, field]) + num(value)


def damage_meta_length(value: int, column: str = "v") -> bytes:
    return bytes([3, 0, 6 if column == "v" else 7]) + num(value)


def damage(kind: int, target: str, *rest: bytes) -> bytes:
    return bytes([kind, TARGET[target]]) + b"".join(rest)


def seed(damages: list[bytes], ops: list[bytes]) -> bytes:
    return bytes([len(damages)]) + b"".join(damages) + b"".join(ops)


READ_SOME = [bytes([op("Length")]), bytes([op("Read")]) + num(0) + num(3),
             bytes([op("ReadAll", high=True)]), bytes([op("StorageInfo")])]
WRITE_SOME = [bytes([op("Append")]) + elem(b"new element"),
              bytes([op("Write")]) + num(1) + b"\x01" + elem(b"z" * 40),
              bytes([op("Insert")]) + num(0) + elem(b"inserted"),
              bytes([op("Delete")]) + num(2) + num(1),
              bytes([op("Compact")]), bytes([op("ReadAll", high=True)])]

INDEX_SEEDS = {
    "clean-reads": seed([], READ_SOME + [bytes([op("ReadAll", "w", True)]),
                                         bytes([op("Read", "f")]) + num(2) + num(5),
                                         bytes([op("ReadInto", "f")]) + num(0) + b"\x0a"]),
    "clean-writes": seed([], WRITE_SOME + [bytes([op("StorageInfo")]), bytes([op("Clear", "w")]),
                                           bytes([op("Append", "f")]) + b"abcd",
                                           bytes([op("List")])]),
    "cache": seed([], [bytes([op("Cache")]) + b"\x50\x40\x00",
                       bytes([op("Append")]) + elem(b"cached"),
                       bytes([op("AppendMany")]) + b"\x02" + elem(b"one") + elem(b"two"),
                       bytes([op("ReadAll", high=True)]),
                       bytes([op("Cache")]) + b"\x50\x40\x02",
                       bytes([op("Cache")]) + b"\x50\x40\x01"] + READ_SOME),
    "entry-end-huge": seed([damage_entry(1, 2, 2**31 - 1)], READ_SOME + WRITE_SOME),
    "entry-start-negative": seed([damage_entry(3, 1, -4)], READ_SOME + WRITE_SOME),
    "entry-chunk-missing": seed([damage_entry(0, 0, 35)], READ_SOME + WRITE_SOME),
    "entry-end-before-start": seed([damage_entry(2, 2, 1)], READ_SOME + WRITE_SOME),
    "length-2^40": seed([damage_meta_length(2**40)], READ_SOME + WRITE_SOME),
    "length-overflow": seed([damage_meta_length((2**63 - 1) // 12 + 1)],
                            [bytes([op("Append")]) + elem(b"x"), bytes([op("Length")])]),
    "length-negative": seed([damage_meta_length(-1)], READ_SOME + WRITE_SOME),
    "length-short": seed([damage_meta_length(2, "w")],
                         [bytes([op("ReadAll", "w", True)]), bytes([op("Compact", "w")])]),
    "data-chunk-deleted": seed([damage(8, "v_data", b"\x00")], READ_SOME + WRITE_SOME),
    "idx-chunk-deleted": seed([damage(8, "v_idx", b"\x01")], READ_SOME + WRITE_SOME),
    "data-chunk-text": seed([damage(10, "v_data", b"\x00\x01")], READ_SOME + WRITE_SOME),
    "data-chunk-integer": seed([damage(10, "v_data", b"\x02\x01")], READ_SOME + WRITE_SOME),
    "data-chunk-cut": seed([damage(7, "v_data", b"\x01\x05")], READ_SOME + WRITE_SOME),
    "idx-chunk-cut": seed([damage(7, "v_idx", b"\x00\x07")], READ_SOME + WRITE_SOME),
    "cursor-past-end": seed([damage(6, "v_data", b"\x03", num(1000), num(0))],
                            WRITE_SOME + READ_SOME),
    "bytes-used-negative": seed([damage(5, "v_data", b"\x00\x03", num(-1))],
                                WRITE_SOME + READ_SOME),
    "max-chunk-tiny": seed([damage(3, "v_idx", b"\x02", num(16))], READ_SOME + WRITE_SOME),
    "idx-dtype-changed": seed([damage(4, "v_idx", b"\x00\x00")], READ_SOME),
    "chunk-moved": seed([damage(5, "v_data", b"\x02\x01", num(30))], READ_SOME + WRITE_SOME),
    "damage-while-open": seed([], READ_SOME + [bytes([op("Damage")]) + damage_entry(0, 2, 2**31 - 1)]
                              + READ_SOME + [bytes([op("Damage")]) + damage_meta_length(-3)]
                              + [bytes([op("Load")])] + READ_SOME),
}


def write(folder: str, seeds: dict[str, bytes]) -> None:
    out = ROOT / "corpus" / folder
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (out / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    write("value_header", HEADER_SEEDS)
    write("column_index", INDEX_SEEDS)
