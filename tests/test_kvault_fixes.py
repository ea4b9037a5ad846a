"""Regression tests for the defects of kohakuvault.KVault 0.6.0 that ambervault fixes.

See /work/shared/research/kohakuvault.md section 7.1 (items 1-6) and the
KVault table in section 2.3. Each test fails on the reference's behaviour.
"""

import io
import random

import pytest

from ambervault import DatabaseBusy, IoError, KohakuVaultError, KVault, NotFound

from conftest import read_back

# ------------------------------------- scans cover every key (ref: 10,000)

N_MANY = 25_000


@pytest.fixture
def many(kv):
    keys = [b"k%06d" % i for i in range(N_MANY)]
    shuffled = keys[:]
    random.Random(7).shuffle(shuffled)
    with kv.cache(cap_bytes=16 << 20):
        for k in shuffled:
            kv[k] = k[::-1]
    assert len(kv) == N_MANY
    return kv, keys


def test_iteration_covers_all_keys(many):
    kv, keys = many
    assert list(kv) == keys


def test_keys_cover_all_keys(many):
    kv, keys = many
    assert list(kv.keys()) == keys
    assert list(kv.keys(prefix=b"k")) == keys
    assert list(kv.keys(prefix=b"k01")) == keys[10_000:20_000]
    assert list(kv.keys(limit=12_345)) == keys[:12_345]


def test_values_cover_all_keys(many):
    kv, keys = many
    assert list(kv.values()) == [k[::-1] for k in keys]


def test_items_cover_all_keys(many):
    kv, keys = many
    assert list(kv.items()) == [(k, k[::-1]) for k in keys]


def test_clear_removes_all_keys(many, vault_path):
    kv, _ = many
    kv.clear()
    assert len(kv) == 0
    assert list(kv) == []
    assert read_back(vault_path) == {}


# -------------------------------------- prefix scan and 0xFF continuation


def test_prefix_scan_includes_ff_continuations(kv):
    keys = [
        b"`",
        b"a",
        b"a\x00",
        b"a\x01",
        b"a\xfe\xff",
        b"a\xff",
        b"a\xff\x01",
        b"a\xff\xff\x00",
        b"a\xff\xff\xff\xff",
        b"b",
        b"b\x00",
        b"\xff",
    ]
    for k in keys:
        kv[k] = b"v"
    assert list(kv.keys(prefix=b"a")) == [
        b"a",
        b"a\x00",
        b"a\x01",
        b"a\xfe\xff",
        b"a\xff",
        b"a\xff\x01",
        b"a\xff\xff\x00",
        b"a\xff\xff\xff\xff",
    ]
    assert list(kv.keys(prefix=b"a\xff")) == [b"a\xff", b"a\xff\x01", b"a\xff\xff\x00", b"a\xff\xff\xff\xff"]


def test_prefix_scan_all_ff_prefix(kv):
    keys = [b"\xfe", b"\xfe\xff\xff", b"\xff", b"\xff\xfe", b"\xff\xff", b"\xff\xff\x00", b"\xff\xff\xff\xff"]
    for k in keys:
        kv[k] = b"v"
    assert list(kv.keys(prefix=b"\xff\xff")) == [b"\xff\xff", b"\xff\xff\x00", b"\xff\xff\xff\xff"]
    assert list(kv.keys(prefix=b"\xff")) == [b"\xff", b"\xff\xfe", b"\xff\xff", b"\xff\xff\x00", b"\xff\xff\xff\xff"]


# ----------------------------------- cache-aware reads, deletes and counts


@pytest.fixture
def pending(kv):
    """Committed: a, c, e. Pending in the cache: b (new), c (overwrite), d (new)."""
    kv.update({b"a": b"A0", b"c": b"C0", b"e": b"E0"})
    kv.enable_cache(cap_bytes=1 << 20, flush_threshold=1 << 20)
    kv[b"b"] = b"B1"
    kv[b"c"] = b"C1"
    kv[b"d"] = b"D1"
    return kv


def test_contains_sees_pending(pending):
    assert b"b" in pending
    assert "d" in pending
    assert pending.exists(b"b") is True
    assert b"z" not in pending


def test_len_counts_pending_once(pending):
    assert len(pending) == 5


def test_iteration_merges_pending_in_order(pending):
    assert list(pending) == [b"a", b"b", b"c", b"d", b"e"]
    assert list(pending.keys()) == [b"a", b"b", b"c", b"d", b"e"]
    assert list(pending.keys(limit=2)) == [b"a", b"b"]
    assert list(pending.values()) == [b"A0", b"B1", b"C1", b"D1", b"E0"]
    assert list(pending.items()) == [(b"a", b"A0"), (b"b", b"B1"), (b"c", b"C1"), (b"d", b"D1"), (b"e", b"E0")]


def test_prefix_scan_merges_pending(kv):
    kv.update({b"p1": b"1", b"p3": b"3", b"q": b"q"})
    kv.enable_cache()
    kv[b"p2"] = b"2"
    kv[b"o"] = b"o"
    kv[b"p\xff"] = b"f"
    assert list(kv.keys(prefix=b"p")) == [b"p1", b"p2", b"p3", b"p\xff"]
    assert list(kv.keys(prefix=b"p", limit=2)) == [b"p1", b"p2"]


@pytest.mark.parametrize("how", ["delitem", "delete"])
def test_delete_pending_only_key(pending, vault_path, how):
    if how == "delitem":
        del pending[b"b"]
    else:
        assert pending.delete(b"b") is True
        assert pending.delete(b"b") is False
    assert b"b" not in pending
    assert pending.get(b"b") is None
    assert len(pending) == 4
    pending.flush_cache()
    assert b"b" not in pending
    assert b"b" not in read_back(vault_path)


@pytest.mark.parametrize("how", ["delitem", "delete"])
def test_delete_key_with_pending_overwrite(pending, vault_path, how):
    if how == "delitem":
        del pending[b"c"]
    else:
        assert pending.delete(b"c") is True
    assert b"c" not in pending
    with pytest.raises(KeyError):
        del pending[b"c"]
    pending.flush_cache()
    assert b"c" not in pending
    assert read_back(vault_path) == {b"a": b"A0", b"b": b"B1", b"d": b"D1", b"e": b"E0"}


def test_delete_committed_key_while_cache_on(pending, vault_path):
    assert pending.delete(b"e") is True
    assert b"e" not in pending
    pending.flush_cache()
    assert b"e" not in read_back(vault_path)


def test_get_to_file_sees_pending(pending):
    out = io.BytesIO()
    assert pending.get_to_file(b"c", out) == 2
    assert out.getvalue() == b"C1"
    out = io.BytesIO()
    assert pending.get_to_file(b"d", out) == 2
    assert out.getvalue() == b"D1"


def test_pop_sees_pending(pending, vault_path):
    assert pending.pop(b"d") == b"D1"
    assert pending.pop(b"c") == b"C1"
    assert b"d" not in pending and b"c" not in pending
    with pytest.raises(KeyError):
        pending.pop(b"d")
    pending.flush_cache()
    assert read_back(vault_path) == {b"a": b"A0", b"b": b"B1", b"e": b"E0"}


def test_setdefault_keeps_pending_value(pending, vault_path):
    assert pending.setdefault(b"b", b"DEFAULT") == b"B1"
    assert pending.setdefault(b"c", b"DEFAULT") == b"C1"
    assert pending[b"b"] == b"B1"
    pending.flush_cache()
    data = read_back(vault_path)
    assert data[b"b"] == b"B1"
    assert data[b"c"] == b"C1"


def test_clear_drops_pending(pending, vault_path):
    pending.clear()
    assert len(pending) == 0
    assert list(pending) == []
    assert pending.flush_cache() == 0
    assert read_back(vault_path) == {}


# ---------------------------------------------------- cache never loses data


def test_full_locked_cache_raises_busy_instead_of_dropping(kv, vault_path):
    kv.enable_cache(cap_bytes=1024, flush_threshold=1024)
    first, second = b"1" * 600, b"2" * 600
    with kv.lock_cache():
        kv[b"first"] = first
        with pytest.raises(DatabaseBusy):
            kv[b"second"] = second
        assert kv[b"first"] == first
        assert b"second" not in kv
    kv.flush_cache()
    assert read_back(vault_path) == {b"first": first}


def test_enable_cache_again_flushes_first(kv, vault_path):
    kv.enable_cache()
    kv[b"a"] = b"1"
    kv.enable_cache(cap_bytes=1 << 20)
    assert read_back(vault_path) == {b"a": b"1"}
    assert kv[b"a"] == b"1"


def test_close_flushes_pending(vault_path):
    kv = KVault(vault_path)
    kv.enable_cache()
    kv[b"a"] = b"1"
    kv[b"b"] = b"2"
    kv.close()
    assert read_back(vault_path) == {b"a": b"1", b"b": b"2"}


def test_context_exit_flushes_pending(vault_path):
    with KVault(vault_path) as kv:
        kv.enable_cache(flush_interval=60)
        kv[b"a"] = b"1"
    assert read_back(vault_path) == {b"a": b"1"}


def test_disable_cache_under_lock_loses_nothing(vault_path):
    kv = KVault(vault_path)
    kv.enable_cache()
    kv[b"a"] = b"1"
    with kv.lock_cache():
        try:
            kv.disable_cache()
        except DatabaseBusy:
            pass  # refusing is fine; dropping the data is not
        assert kv[b"a"] == b"1"
    kv.close()
    assert read_back(vault_path) == {b"a": b"1"}


def test_failed_flush_keeps_pending_data(vault_path, write_lock):
    kv = KVault(vault_path, busy_timeout=0.05, retries=2, backoff_base=0.01)
    try:
        kv.enable_cache(cap_bytes=1 << 20, flush_threshold=1 << 20)
        kv[b"a"] = b"1"
        kv[b"b"] = b"2"
        kv[b"c"] = b"3"
        holder = write_lock(vault_path).acquire()
        with pytest.raises(DatabaseBusy):
            kv.flush_cache()
        assert dict(kv.items()) == {b"a": b"1", b"b": b"2", b"c": b"3"}
        assert len(kv) == 3
        holder.release()
        assert kv.flush_cache() == 3
        assert read_back(vault_path) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    finally:
        kv.close()


# ----------------------------------------------------------------- pop default


@pytest.mark.parametrize("default", [b"fallback", None, 42])
def test_pop_missing_returns_given_default(kv, default):
    assert kv.pop(b"missing", default) == default


def test_pop_without_default_raises_keyerror(kv):
    with pytest.raises(KeyError):
        kv.pop(b"missing")


def test_get_to_file_missing_is_keyerror(kv):
    with pytest.raises(KeyError):
        kv.get_to_file(b"missing", io.BytesIO())
    with pytest.raises(NotFound):
        kv.get_to_file(b"missing", io.BytesIO())


# ------------------------------------------------------ put_file is atomic


class ShortReader:
    """Delivers `n` bytes, then EOF."""

    def __init__(self, n):
        self.left = n

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        return b"s" * size


class RaisingReader:
    """Delivers `n` bytes, then raises."""

    def __init__(self, n):
        self.left = n

    def read(self, size=-1):
        if self.left == 0:
            raise RuntimeError("reader exploded")
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        return b"r" * size


class BadReturnReader:
    """Delivers `n` bytes, then returns `bad` (None, str, int...)."""

    def __init__(self, n, bad):
        self.left = n
        self.bad = bad

    def read(self, size=-1):
        if self.left == 0:
            return self.bad
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        return b"b" * size


OLD = {"absent": None, "present": b"old value"}

FAILURES = {
    "short-sized": (lambda: ShortReader(3000), 10_000, IoError),
    "short-empty": (lambda: ShortReader(0), 10, IoError),
    "raises-sized": (lambda: RaisingReader(3000), 10_000, (IoError, RuntimeError)),
    "raises-eof": (lambda: RaisingReader(3000), None, (IoError, RuntimeError)),
    "raises-first": (lambda: RaisingReader(0), None, (IoError, RuntimeError)),
    "none-sized": (lambda: BadReturnReader(3000, None), 10_000, KohakuVaultError),
    "none-eof": (lambda: BadReturnReader(3000, None), None, KohakuVaultError),
    "str-sized": (lambda: BadReturnReader(3000, "text"), 10_000, KohakuVaultError),
    "str-eof": (lambda: BadReturnReader(3000, "text"), None, KohakuVaultError),
    "int-eof": (lambda: BadReturnReader(0, 5), None, KohakuVaultError),
}


@pytest.mark.parametrize("old", OLD.values(), ids=OLD.keys())
@pytest.mark.parametrize("make_reader, size, exc", FAILURES.values(), ids=FAILURES.keys())
@pytest.mark.parametrize("cache", [False, True], ids=["nocache", "cache"])
def test_put_file_failure_is_atomic(kv, vault_path, make_reader, size, exc, old, cache):
    kv[b"other"] = b"untouched"
    if old is not None:
        kv[b"k"] = old
    if cache:
        kv.enable_cache()
    with pytest.raises(exc) as info:
        kv.put_file(b"k", make_reader(), size=size, chunk_size=1024)
    if exc == (IoError, RuntimeError) and not isinstance(info.value, RuntimeError):
        assert isinstance(info.value.__cause__, RuntimeError)
    expected = {b"other": b"untouched"}
    if old is not None:
        expected[b"k"] = old
    assert kv.get(b"k") == old
    assert dict(kv.items()) == expected
    kv.flush_cache()
    assert read_back(vault_path) == expected
