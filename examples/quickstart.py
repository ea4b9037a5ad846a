"""AmberVault quick start: a dict-like blob store in one SQLite file.

Run with `make demo` (or `PYTHONPATH=python python examples/quickstart.py`).
"""

import io
import os
import tempfile

import ambervault
from ambervault import DataPacker, KVault

folder = tempfile.mkdtemp(prefix="ambervault-demo-")
path = os.path.join(folder, "runs", "vault.db")  # parent folders are created

with KVault(path) as kv:
    # A dict of bytes: str and bytes keys, bytes-like values.
    kv["config"] = b'{"lr": 0.001, "batch": 64}'
    kv[b"\x00binary-key"] = bytes(range(8))
    print("config  ->", kv["config"])
    print("missing ->", kv.get("nope", b"<default>"))

    # The write-back cache batches many small writes into few transactions.
    with kv.cache(cap_bytes=16 << 20):
        for step in range(10_000):
            kv[f"metrics/step/{step:06d}"] = step.to_bytes(8, "little")
    print("keys    ->", len(kv))

    # Ordered prefix scans cover every key, in bounded memory.
    last = list(kv.keys(prefix="metrics/step/"))[-1]
    print("last    ->", last, int.from_bytes(kv[last], "little"))

    # Large values stream in and out in chunks, atomically.
    blob = os.urandom(3 << 20)
    kv.put_file("weights.bin", io.BytesIO(blob))
    out = io.BytesIO()
    n = kv.get_to_file("weights.bin", out)
    print("stream  ->", n, "bytes, identical:", out.getvalue() == blob)

    # DataPacker: typed values to bytes (the element format of columns).
    record = DataPacker("msgpack")
    kv["run/meta"] = record.pack({"model": "vit-b", "lr": 1e-3, "tags": ["baseline"], "seed": 7})
    print("packed  ->", record.unpack(kv["run/meta"]))

    try:
        kv["gone"]
    except KeyError as exc:  # ambervault.NotFound is a KeyError
        print("error   ->", type(exc).__name__, exc)

print("reopened ->", KVault(path))
print(f"ambervault {ambervault.__version__} on SQLite {ambervault.sqlite_version}")
