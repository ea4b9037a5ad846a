"""Writes the seed corpus of fuzz/packer_fuzzer.cc into fuzz/corpus/packer.

Each input is one byte choosing the dtype (its index in the fuzzer's kDtypes
list, read from the source so the two cannot drift) followed by a valid
element packed by ambervault.DataPacker. Run from the repository root with
the module built: `PYTHONPATH=python python fuzz/make_packer_corpus.py`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ambervault import DataPacker

ROOT = Path(__file__).resolve().parent
SOURCE = (ROOT / "packer_fuzzer.cc").read_text()
DTYPES = re.findall(r'"([^"]+)"', SOURCE[SOURCE.index("kDtypes[] = {") : SOURCE.index("};")])

SAMPLES = {
    "int": [0, 1, -1, 127, -128],
    "uint": [0, 1, 255],
    "float": [0.0, -1.5, float("inf"), float("nan")],
    "bool": [True, False],
    "text": ["", "abc", "héllo", "\U0001f600"],
    "bytes": [b"", b"\x00\xff", b"0123456789abcdef"],
    "value": [None, 1, -2**63, 2**64 - 1, 1.5, "s", b"b", [1, [2, {"k": (3,)}]], {"a": 1, 2: b"x"}],
    "json": [None, 1, 1.5, "s", [1, {"a": [True]}]],
}


def samples(dtype: str) -> list[object]:
    head = dtype.split(":")[0]
    if head == "vec":
        parts = dtype.split(":")
        shape = tuple(int(d) for d in parts[2:]) or (2, 3)
        t = {"f32": np.float32, "f64": np.float64, "u8": np.uint8, "i16": np.int16,
             "i64": np.int64, "u64": np.uint64}[parts[1]]
        return [np.arange(int(np.prod(shape)), dtype=t).reshape(shape)]
    if head in ("i8", "i16", "i32", "i64"):
        return SAMPLES["int"]
    if head.startswith("u"):
        return SAMPLES["uint"]
    if head.startswith("f"):
        return SAMPLES["float"]
    if head == "bool":
        return SAMPLES["bool"]
    if head == "str":
        return [s for s in SAMPLES["text"] if dtype != "str:ascii" or s.isascii()]
    if head == "bytes":
        return SAMPLES["bytes"]
    if head == "json":
        return SAMPLES["json"]
    return SAMPLES["value"]


def main() -> None:
    out = ROOT / "corpus" / "packer"
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for index, dtype in enumerate(DTYPES):
        packer = DataPacker(dtype)
        for n, value in enumerate(samples(dtype)):
            try:
                element = packer.pack(value)
            except (ValueError, TypeError):
                continue  # e.g. too long for a fixed size, or outside latin1
            name = f"{index:02d}-{dtype.replace(':', '_')}-{n}"
            (out / name).write_bytes(bytes([index]) + element)
            written += 1
    print(f"wrote {written} inputs for {len(DTYPES)} dtypes to {out}")


if __name__ == "__main__":
    main()
