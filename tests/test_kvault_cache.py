"""The write-back cache: enable/disable/flush, thresholds, context managers.

"peer" below is a second KVault on the same file: it sees only what the
first vault has committed. Regressions for the reference's cache defects are
in test_kvault_fixes.py.
"""

import threading
import time

import pytest

from ambervault import KVault

from conftest import read_back, wait_until


@pytest.fixture
def peer(open_vault):
    return open_vault()


def test_cache_enabled_flag(kv):
    assert kv.cache_enabled() is False
    kv.enable_cache()
    assert kv.cache_enabled() is True
    kv.disable_cache()
    assert kv.cache_enabled() is False


def test_pending_writes_are_committed_only_by_flush(kv, peer):
    kv.enable_cache()
    kv[b"a"] = b"1"
    kv[b"b"] = b"2"
    kv[b"c"] = b"3"
    assert len(peer) == 0
    assert kv[b"a"] == b"1"
    assert kv.flush_cache() == 3
    assert dict(peer.items()) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert kv.flush_cache() == 0


def test_flush_counts_distinct_keys(kv, peer):
    kv.enable_cache()
    kv[b"a"] = b"1"
    kv[b"a"] = b"2"
    kv["a"] = b"3"
    kv[b"b"] = b"x"
    assert kv.flush_cache() == 2
    assert dict(peer.items()) == {b"a": b"3", b"b": b"x"}


def test_flush_without_cache_returns_zero(kv):
    kv[b"a"] = b"1"
    assert kv.flush_cache() == 0
    assert kv[b"a"] == b"1"


def test_pending_overwrite_of_committed_value(kv, peer):
    kv[b"a"] = b"old"
    kv.enable_cache()
    kv[b"a"] = b"new"
    assert kv[b"a"] == b"new"
    assert kv.get(b"a") == b"new"
    assert list(kv.values()) == [b"new"]
    assert list(kv.items()) == [(b"a", b"new")]
    assert peer[b"a"] == b"old"
    kv.flush_cache()
    assert peer[b"a"] == b"new"


def test_flush_threshold_triggers_flush(kv, peer):
    kv.enable_cache(cap_bytes=1 << 20, flush_threshold=1000)
    kv[b"a"] = b"x" * 600
    assert len(peer) == 0
    kv[b"b"] = b"y" * 600  # brings the cache past 1000 bytes
    assert dict(peer.items()) == {b"a": b"x" * 600, b"b": b"y" * 600}
    assert kv.flush_cache() == 0


def test_full_cache_flushes_before_insert(kv, peer):
    kv.enable_cache(cap_bytes=1000, flush_threshold=1000)
    kv[b"a"] = b"x" * 600
    kv[b"b"] = b"y" * 600  # does not fit: the cache is flushed first
    assert peer[b"a"] == b"x" * 600
    assert kv[b"b"] == b"y" * 600
    kv.flush_cache()
    assert dict(peer.items()) == {b"a": b"x" * 600, b"b": b"y" * 600}


def test_entry_larger_than_cap_bypasses_cache(kv, peer):
    kv.enable_cache(cap_bytes=1000, flush_threshold=1000)
    kv[b"small"] = b"s"
    kv[b"big"] = b"B" * 5000
    assert peer[b"big"] == b"B" * 5000
    assert kv[b"big"] == b"B" * 5000
    kv.flush_cache()
    assert dict(peer.items()) == {b"small": b"s", b"big": b"B" * 5000}


def test_disable_cache_flushes(kv, peer):
    kv.enable_cache()
    kv[b"a"] = b"1"
    kv.disable_cache()
    assert kv.cache_enabled() is False
    assert peer[b"a"] == b"1"
    kv[b"b"] = b"2"  # cache off: written through
    assert peer[b"b"] == b"2"


def test_cache_context_manager(kv, peer):
    with kv.cache() as entered:
        assert entered is kv
        assert kv.cache_enabled() is True
        kv[b"a"] = b"1"
        kv[b"b"] = b"2"
        assert len(peer) == 0
        assert kv[b"a"] == b"1"
    assert kv.cache_enabled() is False
    assert dict(peer.items()) == {b"a": b"1", b"b": b"2"}


def test_cache_context_manager_with_options(kv, peer):
    with kv.cache(cap_bytes=4096, flush_threshold=1024, auto_flush=True):
        kv[b"a"] = b"x" * 800
        assert len(peer) == 0
        kv[b"b"] = b"y" * 800
        assert len(peer) == 2
        kv[b"c"] = b"z"
    assert len(peer) == 3


def test_cache_context_manager_flushes_when_body_raises(kv, peer):
    with pytest.raises(ZeroDivisionError):
        with kv.cache():
            kv[b"a"] = b"1"
            1 / 0
    assert peer[b"a"] == b"1"
    assert kv.cache_enabled() is False


def test_nested_cache_context_managers_keep_everything(kv, vault_path):
    with kv.cache(cap_bytes=1 << 20):
        kv[b"outer-before"] = b"1"
        with kv.cache(cap_bytes=1 << 20):
            kv[b"inner"] = b"2"
            assert kv[b"outer-before"] == b"1"
        kv[b"outer-after"] = b"3"
        assert kv[b"inner"] == b"2"
    expected = {b"outer-before": b"1", b"inner": b"2", b"outer-after": b"3"}
    assert dict(kv.items()) == expected
    assert read_back(vault_path) == expected


def test_lock_cache_blocks_every_flush(kv, peer):
    kv.enable_cache(cap_bytes=1 << 20, flush_threshold=1000)
    with kv.lock_cache():
        kv[b"a"] = b"x" * 600
        kv[b"b"] = b"y" * 600  # threshold reached, but locked
        assert kv.flush_cache() == 0
        assert len(peer) == 0
        assert len(kv) == 2
    assert kv.flush_cache() in (0, 2)  # 0 if unlocking flushed already
    assert dict(peer.items()) == {b"a": b"x" * 600, b"b": b"y" * 600}


def test_lock_cache_nests(kv, peer):
    kv.enable_cache()
    with kv.lock_cache():
        with kv.lock_cache():
            kv[b"a"] = b"1"
        assert kv.flush_cache() == 0
        assert len(peer) == 0
    kv.flush_cache()
    assert peer[b"a"] == b"1"


def test_background_flush(kv, peer):
    kv.enable_cache(flush_interval=0.2)
    kv[b"a"] = b"1"
    kv[b"b"] = b"2"
    assert wait_until(lambda: len(peer) == 2, timeout=10), "background flush never ran"
    assert dict(peer.items()) == {b"a": b"1", b"b": b"2"}
    # It keeps running for later writes.
    kv[b"c"] = b"3"
    assert wait_until(lambda: len(peer) == 3, timeout=10)
    kv.disable_cache()


def test_background_flush_respects_lock(kv, peer):
    kv.enable_cache(flush_interval=0.1)
    with kv.lock_cache():
        kv[b"a"] = b"1"
        time.sleep(0.6)
        assert len(peer) == 0
    assert wait_until(lambda: len(peer) == 1, timeout=10)


def test_flush_is_one_transaction(kv, vault_path):
    """A concurrent reader sees none or all of one flush, never a part."""
    n = 20_000
    kv.enable_cache(cap_bytes=256 << 20, flush_threshold=256 << 20)
    for i in range(n):
        kv[b"key%06d" % i] = b"v%d" % i
    seen = set()
    stop = threading.Event()
    errors = []

    def observe():
        try:
            with KVault(vault_path) as reader:
                while not stop.is_set():
                    seen.add(len(reader))
        except Exception as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=observe)
    t.start()
    try:
        wait_until(lambda: bool(seen), timeout=10)
        assert kv.flush_cache() == n
        wait_until(lambda: n in seen, timeout=10)
    finally:
        stop.set()
        t.join(30)
    assert errors == []
    assert seen <= {0, n}
    assert n in seen


def test_cache_many_entries_round_trip(vault_path):
    with KVault(vault_path) as kv:
        with kv.cache(cap_bytes=64 << 10):  # forces many flushes
            for i in range(5000):
                kv[b"%05d" % i] = b"v" * (i % 50)
        assert len(kv) == 5000
    data = read_back(vault_path)
    assert len(data) == 5000
    assert all(data[b"%05d" % i] == b"v" * (i % 50) for i in range(5000))
