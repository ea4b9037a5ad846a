"""The KVault value cache (repeated gets served from memory) is never stale:
every commit, from this vault, another vault or another process, empties it."""

from __future__ import annotations

import pytest

import ambervault
from ambervault import KVault

from conftest import run_python

_WRITER = r"""
import sys, ambervault
with ambervault.KVault(sys.argv[1]) as kv:
    kv["a"] = b"from-child"
    del kv["b"]
    kv.put_many([("c", b"c2"), ("d", b"d2")])
"""


@pytest.mark.parametrize("value_cache_bytes", [32 << 20, 300, 0])
def test_gets_see_other_processes_and_vaults(tmp_path, value_cache_bytes):
    path = str(tmp_path / "v.db")
    kv = KVault(path, value_cache_bytes=value_cache_bytes)
    kv.update({"a": b"1", "b": b"2", "c": b"3"})
    for _ in range(3):  # warm the cache
        assert (kv["a"], kv["b"], kv["c"]) == (b"1", b"2", b"3")
        assert kv.get_many(["a", "b", "c"]) == [b"1", b"2", b"3"]
    res = run_python(_WRITER, path)
    assert res.returncode == 0, res.stderr
    assert kv["a"] == b"from-child"
    assert "b" not in kv and kv.get("b") is None
    assert kv.get_many(["a", "b", "c", "d"]) == [b"from-child", None, b"c2", b"d2"]
    other = KVault(path)
    assert other["a"] == b"from-child"
    kv["a"] = b"mine"
    assert other["a"] == b"mine" and kv["a"] == b"mine"
    with kv.transaction():
        kv["a"] = b"in-txn"
        assert kv["a"] == b"in-txn"
    assert other["a"] == b"in-txn"
    with pytest.raises(RuntimeError):
        with kv.transaction():
            kv["a"] = b"rolled back"
            raise RuntimeError
    assert kv["a"] == b"in-txn" and other["a"] == b"in-txn"
    other.close()
    kv.close()


def test_rollback_journal_mode_has_no_cache_and_stays_correct(tmp_path):
    path = str(tmp_path / "j.db")
    kv = KVault(path, enable_wal=False)
    kv["k"] = b"1"
    assert kv["k"] == b"1"
    other = KVault(path, enable_wal=False)
    other["k"] = b"2"
    assert kv["k"] == b"2"
    other.close()
    kv.close()


def test_value_cache_bytes_must_not_be_negative(tmp_path):
    with pytest.raises(ambervault.InvalidArgument):
        KVault(str(tmp_path / "n.db"), value_cache_bytes=-1)
