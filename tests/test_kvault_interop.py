"""Files written by kohakuvault.KVault open in ambervault and the other way round.

kohakuvault bundles its own SQLite; two SQLite copies in one process do not
share POSIX lock state, so the kohakuvault side always runs in a child
process (and never while an ambervault handle on the file is open).
"""

import io
import pickle
import random

import pytest

pytest.importorskip("kohakuvault")

from ambervault import KVault  # noqa: E402

from conftest import run_python  # noqa: E402

_KOHAKU_WRITE = r"""
import pickle, sys
import kohakuvault
path, table, data_file = sys.argv[1:4]
with open(data_file, "rb") as f:
    entries = pickle.load(f)
kv = kohakuvault.KVault(path, table=table)
if hasattr(kv, "disable_auto_pack"):
    kv.disable_auto_pack()
for key, value in entries:
    kv[key] = value
kv.close()
"""

_KOHAKU_READ = r"""
import pickle, sys
import kohakuvault
path, table, out_file = sys.argv[1:4]
kv = kohakuvault.KVault(path, table=table)
if hasattr(kv, "disable_auto_pack"):
    kv.disable_auto_pack()
keys = list(kv.keys(limit=10_000_000))
result = {
    "keys": keys,
    "values": [kv[k] for k in keys],
    "len": len(kv),
    "by_str": kv["héllo wörld"],
}
kv.close()
with open(out_file, "wb") as f:
    pickle.dump(result, f)
"""


def _entries():
    rng = random.Random(2024)
    mib = b"\x00\x01" + rng.randbytes((1 << 20) - 2)  # never looks like a 0x89 0x4B header
    entries = [
        (b"", b"value of the empty key"),
        (b"zero-length", b""),
        (b"one-mib", mib),
        (b"\x00\x01\xfe\xff", b"\xff\x00binary value\x00"),
        (b"\xff\xff\xff", b"all ff key"),
        (b"\x80", b"high bit"),
        ("héllo wörld", b"str key"),
        ("日本", "値".encode()),
    ]
    entries += [(b"num%05d" % i, b"n" * (i % 37) + b"%d" % i) for i in range(2000)]
    return entries


def _expected_items(entries):
    as_bytes = {(k.encode() if isinstance(k, str) else k): v for k, v in entries}
    return sorted(as_bytes.items())


@pytest.mark.parametrize("table", ["kv", "media_blobs"])
def test_kohakuvault_file_reads_in_ambervault(tmp_path, table):
    path = tmp_path / "written_by_kohaku.db"
    entries = _entries()
    data_file = tmp_path / "entries.pickle"
    data_file.write_bytes(pickle.dumps(entries))
    result = run_python(_KOHAKU_WRITE, path, table, data_file)
    assert result.returncode == 0, result.stderr
    expected = _expected_items(entries)

    with KVault(path, table=table) as kv:
        assert len(kv) == len(expected)
        assert list(kv.items()) == expected
        assert list(kv) == [k for k, _ in expected]
        for key, value in entries:
            got = kv[key]
            assert type(got) is bytes and got == value
        assert kv["héllo wörld"] == kv["héllo wörld".encode()] == b"str key"
        assert kv[b"zero-length"] == b""
        out = io.BytesIO()
        assert kv.get_to_file(b"one-mib", out, chunk_size=65536) == 1 << 20
        assert out.getvalue() == dict(entries)[b"one-mib"]
        # ambervault can keep writing to it.
        kv[b"added by ambervault"] = b"ok"
        del kv[b"num00000"]
    with KVault(path, table=table) as kv:
        assert kv[b"added by ambervault"] == b"ok"
        assert b"num00000" not in kv
        assert len(kv) == len(expected)


@pytest.mark.parametrize("table", ["kv", "media_blobs"])
@pytest.mark.parametrize("cache", [False, True], ids=["nocache", "cache"])
def test_ambervault_file_reads_in_kohakuvault(tmp_path, table, cache):
    path = tmp_path / "written_by_amber.db"
    entries = _entries()
    with KVault(path, table=table) as kv:
        if cache:
            kv.enable_cache(cap_bytes=256 << 10)
        for key, value in entries:
            if key == b"one-mib":
                kv.put_file(key, io.BytesIO(value), chunk_size=100_000)
            else:
                kv[key] = value
    expected = _expected_items(entries)

    out_file = tmp_path / "read.pickle"
    result = run_python(_KOHAKU_READ, path, table, out_file)
    assert result.returncode == 0, result.stderr
    got = pickle.loads(out_file.read_bytes())
    assert got["len"] == len(expected)
    assert got["keys"] == [k for k, _ in expected]
    assert got["values"] == [v for _, v in expected]
    assert got["by_str"] == b"str key"
