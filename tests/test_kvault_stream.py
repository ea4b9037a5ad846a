"""Streaming: put_file and get_to_file (atomicity regressions: test_kvault_fixes.py)."""

import hashlib
import io
import json
import os

import pytest

from ambervault import IoError, KVault, NotFound

from conftest import read_back, run_python

DATA = bytes((i * 7 + i // 256) % 256 for i in range(100_003))


class Reader:
    """A non-seekable reader with only .read(); returns at most max_piece bytes."""

    def __init__(self, data, max_piece=None):
        self._data = memoryview(bytes(data))
        self._pos = 0
        self._max_piece = max_piece
        self.requests = []

    def read(self, n=-1):
        self.requests.append(n)
        if n is None or n < 0:
            n = len(self._data) - self._pos
        if self._max_piece is not None:
            n = min(n, self._max_piece)
        piece = bytes(self._data[self._pos : self._pos + n])
        self._pos += len(piece)
        return piece

    @property
    def consumed(self):
        return self._pos


class Writer:
    def __init__(self):
        self.pieces = []

    def write(self, piece):
        self.pieces.append(bytes(piece))
        return len(piece)

    @property
    def data(self):
        return b"".join(self.pieces)


# --------------------------------------------------------------- put_file


def test_put_file_bytesio_to_eof(kv):
    assert kv.put_file(b"k", io.BytesIO(DATA)) is None
    assert kv[b"k"] == DATA


def test_put_file_real_file(kv, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(DATA)
    with open(src, "rb") as f:
        kv.put_file("k", f)
    assert kv[b"k"] == DATA


def test_put_file_starts_at_current_position(kv, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(DATA)
    with open(src, "rb") as f:
        f.seek(100)
        kv.put_file(b"k", f)
    assert kv[b"k"] == DATA[100:]
    bio = io.BytesIO(DATA)
    bio.seek(5000)
    kv.put_file(b"k2", bio)
    assert kv[b"k2"] == DATA[5000:]


@pytest.mark.parametrize("size", [0, 1, 4096, 99_999, len(DATA)])
def test_put_file_reads_exactly_size(kv, size):
    bio = io.BytesIO(DATA)
    kv.put_file(b"k", bio, size=size)
    assert kv[b"k"] == DATA[:size]
    assert bio.tell() == size


@pytest.mark.parametrize("size", [None, len(DATA)], ids=["to-eof", "sized"])
@pytest.mark.parametrize("max_piece", [None, 1, 3, 1000], ids=lambda m: f"piece-{m}")
def test_put_file_non_seekable_partial_reads(kv, size, max_piece):
    data = DATA if max_piece != 1 else DATA[:5000]
    reader = Reader(data, max_piece=max_piece)
    kv.put_file(b"k", reader, size=None if size is None else len(data))
    assert kv[b"k"] == data
    assert reader.consumed == len(data)


@pytest.mark.parametrize("size", [None, len(DATA)], ids=["to-eof", "sized"])
@pytest.mark.parametrize("chunk_size", [7, 4096, 1 << 20])
def test_put_file_chunk_size_bounds_reads(kv, size, chunk_size):
    reader = Reader(DATA)
    kv.put_file(b"k", reader, size=size, chunk_size=chunk_size)
    assert kv[b"k"] == DATA
    assert reader.requests, "reader was never called"
    bad = [n for n in reader.requests if n is None or not 0 < n <= chunk_size]
    assert bad == [], bad[:10]


def test_put_file_vault_chunk_size_default(open_vault):
    kv = open_vault(chunk_size=1000)
    reader = Reader(DATA)
    kv.put_file(b"k", reader, size=len(DATA))
    assert kv[b"k"] == DATA
    assert all(0 < n <= 1000 for n in reader.requests)


def test_put_file_empty_stream(kv):
    kv.put_file(b"k", io.BytesIO(b""))
    assert kv[b"k"] == b""
    kv.put_file(b"k2", Reader(b""))
    assert kv[b"k2"] == b""
    assert len(kv) == 2


@pytest.mark.parametrize(
    "value", [b"direct", bytearray(b"direct"), memoryview(b"xdirectx")[1:-1]], ids=["bytes", "bytearray", "memoryview"]
)
def test_put_file_bytes_like_directly(kv, value):
    kv.put_file(b"k", value)
    assert kv[b"k"] == b"direct"


def test_put_file_overwrites(kv):
    kv[b"k"] = b"old value that is longer than the new one"
    kv.put_file(b"k", io.BytesIO(b"new"))
    assert kv[b"k"] == b"new"
    assert len(kv) == 1


def test_put_file_persists(vault_path):
    with KVault(vault_path) as kv:
        kv.put_file(b"k", Reader(DATA), size=len(DATA))
    assert read_back(vault_path) == {b"k": DATA}


def test_put_file_replaces_pending_cached_value(kv, vault_path):
    kv.enable_cache()
    kv[b"k"] = b"pending old"
    kv.put_file(b"k", io.BytesIO(b"streamed new"))
    assert kv[b"k"] == b"streamed new"
    kv.flush_cache()
    assert kv[b"k"] == b"streamed new"
    assert read_back(vault_path) == {b"k": b"streamed new"}


# ------------------------------------------------------------- get_to_file


def test_get_to_file_bytesio(kv):
    kv[b"k"] = DATA
    out = io.BytesIO()
    assert kv.get_to_file(b"k", out) == len(DATA)
    assert out.getvalue() == DATA


def test_get_to_file_real_file(kv, tmp_path):
    kv["k"] = DATA
    dst = tmp_path / "out.bin"
    with open(dst, "wb") as f:
        n = kv.get_to_file(b"k", f)
    assert n == len(DATA)
    assert dst.read_bytes() == DATA


@pytest.mark.parametrize("chunk_size", [7, 4096, 1 << 20])
def test_get_to_file_chunk_size_bounds_pieces(kv, chunk_size):
    kv[b"k"] = DATA
    writer = Writer()
    n = kv.get_to_file(b"k", writer, chunk_size=chunk_size)
    assert type(n) is int and n == len(DATA)
    assert writer.data == DATA
    assert all(len(p) <= chunk_size for p in writer.pieces)


def test_get_to_file_empty_value(kv):
    kv[b"k"] = b""
    writer = Writer()
    assert kv.get_to_file(b"k", writer) == 0
    assert writer.data == b""


def test_get_to_file_missing_key(kv):
    writer = Writer()
    with pytest.raises(NotFound) as info:
        kv.get_to_file(b"missing", writer)
    assert isinstance(info.value, KeyError)
    assert writer.pieces == []


def test_get_to_file_str_key(kv):
    kv[b"k\xc3\xa9"] = b"v"
    out = io.BytesIO()
    assert kv.get_to_file("ké", out) == 1
    assert out.getvalue() == b"v"


def test_get_to_file_writer_error_propagates(kv):
    kv[b"k"] = DATA

    class Failing:
        def write(self, piece):
            raise RuntimeError("disk on fire")

    with pytest.raises((IoError, RuntimeError)) as info:
        kv.get_to_file(b"k", Failing(), chunk_size=1000)
    exc = info.value
    assert isinstance(exc, RuntimeError) or isinstance(exc.__cause__, RuntimeError)
    assert kv[b"k"] == DATA


def test_round_trip_put_file_get_to_file(kv):
    value = os.urandom(3 << 20)
    kv.put_file(b"k", io.BytesIO(value), chunk_size=65536)
    h = hashlib.sha256()

    class HashWriter:
        def write(self, piece):
            h.update(piece)

    assert kv.get_to_file(b"k", HashWriter(), chunk_size=65536) == len(value)
    assert h.digest() == hashlib.sha256(value).digest()


# -------------------------------------------- 256 MiB with bounded memory

_BIG_STREAM_SCRIPT = r"""
import hashlib, json, sys
from ambervault import KVault

path, total, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PIECE = 1 << 20
BLOCK = bytes(range(256)) * (PIECE // 256 + 1)


def rss_anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon missing from /proc/self/status")


class Peak:
    def __init__(self):
        self.base = rss_anon()
        self.peak = self.base

    def sample(self):
        self.peak = max(self.peak, rss_anon())


class SynthReader:
    # Synthesizes `total` bytes piece by piece; never holds the whole value.
    def __init__(self, total, peak):
        self.left = total
        self.counter = 0
        self.sha = hashlib.sha256()
        self.peak = peak
        self.calls = 0

    def read(self, n=-1):
        self.calls += 1
        self.peak.sample()
        if n is None or n < 0:
            n = PIECE
        n = min(n, PIECE, self.left)
        if n <= 0:
            return b""
        start = self.counter % 251
        piece = (self.counter.to_bytes(8, "little") + BLOCK[start : start + n])[:n]
        self.counter += 1
        self.left -= n
        self.sha.update(piece)
        return piece


class HashWriter:
    def __init__(self, peak):
        self.sha = hashlib.sha256()
        self.n = 0
        self.calls = 0
        self.peak = peak

    def write(self, piece):
        self.calls += 1
        self.peak.sample()
        self.sha.update(piece)
        self.n += len(piece)
        return len(piece)


kv = KVault(path, cache_kb=2000, mmap_size=0)
peak = Peak()
reader = SynthReader(total, peak)
kv.put_file("big", reader, size=total if mode == "sized" else None)
peak.sample()
after_put = rss_anon()
writer = HashWriter(peak)
returned = kv.get_to_file("big", writer)
peak.sample()
kv.close()
peak.sample()
print(json.dumps({
    "base": peak.base,
    "peak": peak.peak,
    "after_put": after_put,
    "returned": returned,
    "written": writer.n,
    "left": reader.left,
    "put_sha": reader.sha.hexdigest(),
    "get_sha": writer.sha.hexdigest(),
}))
"""


@pytest.mark.parametrize("mode", ["sized", "to-eof"])
def test_256_mib_stream_bounded_memory(tmp_path, mode):
    total = 256 << 20
    result = run_python(_BIG_STREAM_SCRIPT, tmp_path / "big.db", total, mode, timeout=300)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["left"] == 0
    assert info["returned"] == total
    assert info["written"] == total
    assert info["get_sha"] == info["put_sha"]
    growth = info["peak"] - info["base"]
    assert growth < 64 << 20, f"RssAnon grew by {growth / (1 << 20):.1f} MiB: {info}"
