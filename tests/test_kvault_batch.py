"""KVault batch calls, transactions, ordered range scans and partial reads."""

from __future__ import annotations

import contextlib
import io
import os
import random
import threading

import pytest

from ambervault import InvalidArgument, InvalidTypeError, KVault, NotFound


@pytest.fixture
def kv(tmp_path):
    with KVault(str(tmp_path / "vault.db")) as vault:
        yield vault


# --------------------------------------------------------------- batch calls


def test_get_many_in_order_with_default(kv):
    kv.put_many({"a": 1, "b": b"raw", "c": "text"})
    assert kv.get_many(["c", "zz", "a", b"b"]) == ["text", None, 1, b"raw"]
    assert kv.get_many(iter(["zz"]), default=0) == [0]
    assert kv.get_many([]) == []


def test_get_many_sees_the_cache(kv):
    kv.put_many({"a": 1})
    with kv.cache():
        kv["p"] = "pending"
        assert kv.get_many(["a", "p"]) == [1, "pending"]


def test_put_many_accepts_mappings_and_pairs(kv):
    kv.put_many({"a": 1})
    kv.put_many([("b", 2), ["c", 3]])
    kv.put_many(((f"g{i}", i) for i in range(3)))
    assert dict(kv.items()) == {b"a": 1, b"b": 2, b"c": 3, b"g0": 0, b"g1": 1, b"g2": 2}


def test_put_many_is_all_or_nothing(kv):
    kv["a"] = b"old"
    with pytest.raises(TypeError):
        kv.put_many([("a", b"new"), ("b", 2), ("c", object())])
    with pytest.raises(InvalidArgument):
        kv.put_many([("a", b"new"), ("b",)])
    assert kv["a"] == b"old" and "b" not in kv and len(kv) == 1


def test_update_is_one_transaction(kv):
    kv["a"] = b"old"
    with pytest.raises(TypeError):
        kv.update({"a": b"new", "bad": object()})
    assert kv["a"] == b"old" and len(kv) == 1


def test_delete_many_counts_existing_keys(kv):
    kv.put_many({"a": 1, "b": 2, "c": 3})
    assert kv.delete_many(["a", "zz", "b", "a"]) == 2
    assert list(kv.keys()) == [b"c"]


def test_batch_calls_reject_a_single_key(kv):
    with pytest.raises(InvalidTypeError):
        kv.get_many("abc")
    with pytest.raises(InvalidTypeError):
        kv.delete_many(b"abc")


def test_batch_calls_against_a_dict_oracle(kv):
    rng = random.Random(5)
    oracle: dict[bytes, object] = {}
    for _ in range(300):
        keys = [f"k{rng.randrange(60):02d}".encode() for _ in range(rng.randrange(1, 8))]
        op = rng.randrange(3)
        if op == 0:
            pairs = [(k, rng.choice([rng.random(), rng.randrange(10**15), k.decode(), [1, {"x": k}]])) for k in keys]
            kv.put_many(pairs)
            oracle.update(pairs)
        elif op == 1:
            expected = sum(1 for k in set(keys) if k in oracle)
            assert kv.delete_many(keys) == expected
            for k in keys:
                oracle.pop(k, None)
        else:
            assert kv.get_many(keys) == [oracle.get(k) for k in keys]
    assert dict(kv.items()) == dict(sorted(oracle.items()))


# --------------------------------------------------------------- transactions


def test_transaction_commits_on_exit(kv):
    kv["x"] = b"keep"
    with kv.transaction():
        kv["a"] = 1
        kv["b"] = kv["a"] + 1  # reads see the transaction's writes
        del kv["x"]
        assert "x" not in kv and kv.get("x") is None
        assert kv.get_many(["a", "x"]) == [1, None]
        assert kv.setdefault("a", 9) == 1 and kv.setdefault("c", [3]) == [3]
        assert kv.pop("c") == [3]
        kv.update(d=4)
        kv.put_many({"e": 5})
        assert kv.delete_many(["e", "nope"]) == 1
    assert dict(kv.items()) == {b"a": 1, b"b": 2, b"d": 4}


def test_transaction_rolls_back_on_exception(kv):
    kv["a"] = 1
    with pytest.raises(RuntimeError):
        with kv.transaction():
            kv["a"] = 2
            kv["b"] = 3
            raise RuntimeError("abort")
    assert kv["a"] == 1 and "b" not in kv
    with kv.transaction():  # usable again
        kv["b"] = 3
    assert kv["b"] == 3


def test_transaction_writes_are_invisible_until_commit(kv, tmp_path):
    with KVault(str(tmp_path / "vault.db")) as other:
        with kv.transaction():
            kv["a"] = 1
            assert "a" not in other
            assert len(kv) == 0  # len and scans see committed data
            seen = []
            t = threading.Thread(target=lambda: seen.append("a" in kv))
            t.start()
            t.join()
            assert seen == [False]  # other threads too
        assert other["a"] == 1


def test_transaction_with_the_cache_on(kv):
    with kv.cache():
        with kv.transaction():
            kv["a"] = 1
            kv["b"] = 2
        assert kv["a"] == 1 and kv.get_many(["b"]) == [2]
    assert kv["a"] == 1 and kv["b"] == 2


def test_transactions_do_not_nest_and_refuse_clear(kv):
    with kv.transaction():
        with pytest.raises(InvalidArgument):
            with kv.transaction():
                pass
        with pytest.raises(InvalidArgument):
            kv.clear()
        kv["a"] = 1
    assert kv["a"] == 1


def test_failed_commit_writes_nothing(kv):
    kv["a"] = b"old"
    huge = bytearray(1_000_000_001)
    with pytest.raises(InvalidArgument):
        with kv.transaction():
            kv["a"] = b"new"
            kv["big"] = huge
    assert kv["a"] == b"old" and "big" not in kv


# --------------------------------------------------------------- range scans


def test_range_scans_match_a_sorted_oracle(kv):
    rng = random.Random(9)
    keys = sorted({bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4))) for _ in range(400)})
    kv.put_many([(k, i) for i, k in enumerate(keys)])
    with kv.cache():
        kv[b"\x80pending"] = -1
        oracle = dict(zip(keys, range(len(keys))))
        oracle[b"\x80pending"] = -1
        everything = sorted(oracle)
        for _ in range(60):
            lo, hi = sorted(rng.sample(everything, 2))
            start = rng.choice([lo, None])
            stop = rng.choice([hi, None])
            want = [k for k in everything if (start is None or k >= start) and (stop is None or k < stop)]
            assert list(kv.keys(start=start, stop=stop)) == want
            assert list(kv.keys(start=start, stop=stop, reverse=True)) == want[::-1]
            assert list(kv.items(start=start, stop=stop, limit=5)) == [(k, oracle[k]) for k in want[:5]]
            assert list(kv.values(start=start, stop=stop, reverse=True, limit=3)) == [oracle[k] for k in want[::-1][:3]]


def test_range_and_prefix_cannot_be_mixed(kv):
    with pytest.raises(InvalidArgument):
        kv.keys("p", start="a")


# --------------------------------------------------------------- partial reads


def test_readinto_value_size_get_buffer(kv):
    data = os.urandom((1 << 20) + 12345)
    kv["blob"] = data
    assert kv.value_size("blob") == len(data)
    buf = bytearray(len(data))
    assert kv.readinto("blob", buf) == len(data) and buf == data
    small = bytearray(100)
    assert kv.readinto("blob", small, offset=777) == 100 and small == data[777:877]
    assert kv.readinto("blob", small, offset=len(data)) == 0
    with pytest.raises(InvalidArgument):
        kv.readinto("blob", small, offset=len(data) + 1)
    assert kv.get_buffer("blob") == data
    with pytest.raises(NotFound):
        kv.readinto("missing", small)
    with pytest.raises(InvalidTypeError):
        kv.readinto("blob", b"read-only bytes")


def test_readinto_numpy_buffer(kv):
    import numpy as np

    arr = np.arange(1000, dtype=np.float32)
    kv["arr"] = arr.tobytes()
    out = np.empty(1000, dtype=np.float32)
    assert kv.readinto("arr", out) == 4000
    assert np.array_equal(out, arr)


def test_open_is_a_seekable_read_only_file(kv):
    data = os.urandom(300_000)
    kv["blob"] = data
    with kv.open("blob") as f:
        assert f.readable() and f.seekable() and not f.writable()
        assert f.read(10) == data[:10]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
        f.seek(1000)
        assert f.tell() == 1000
        assert f.read(50_000) == data[1000:51_000]
        f.seek(0)
        assert f.read() == data
        assert f.read() == b""
    with pytest.raises(ValueError):
        f.read(1)


def test_open_buffered_and_line_reading(kv):
    kv["text"] = b"one\ntwo\nthree\n"
    with io.BufferedReader(kv.open("text")) as f:
        assert f.readlines() == [b"one\n", b"two\n", b"three\n"]


def test_open_reader_never_mixes_versions(kv):
    kv["v"] = b"a" * 1000
    f = kv.open("v")
    assert f.read(10) == b"a" * 10
    kv["v"] = b"b" * 1000
    with pytest.raises(InvalidArgument, match="changed since open"):
        f.read(10)
    assert kv.open("v").read(3) == b"bbb"


def test_open_missing_key(kv):
    with pytest.raises(NotFound):
        kv.open("nope")


def test_random_operations_with_transactions_against_a_dict(kv):
    """Every single-key and batch call, inside and outside transactions, with
    the cache toggled, against a dict oracle (committed state and the view
    inside an open transaction)."""
    rng = random.Random(17)
    committed: dict[bytes, object] = {}
    values = [1, -2**63, 2.5, "s", b"raw", [1, "x"], {"k": None}, True, None]

    def key():
        return f"k{rng.randrange(25):02d}".encode()

    for round_ in range(400):
        if rng.random() < 0.3:
            kv.enable_cache() if not kv.cache_enabled() else kv.disable_cache()
        in_txn = rng.random() < 0.5
        view = dict(committed)
        fail = in_txn and rng.random() < 0.2
        try:
            ctx = kv.transaction() if in_txn else contextlib.nullcontext()
            with ctx:
                for _ in range(rng.randrange(1, 12)):
                    op = rng.randrange(9)
                    k = key()
                    if op == 0:
                        v = rng.choice(values)
                        kv[k] = v
                        view[k] = v
                    elif op == 1:
                        assert kv.get(k, "absent") == view.get(k, "absent")
                    elif op == 2:
                        assert kv.delete(k) == (k in view)
                        view.pop(k, None)
                    elif op == 3:
                        assert kv.pop(k, "absent") == view.pop(k, "absent")
                    elif op == 4:
                        v = rng.choice(values)
                        assert kv.setdefault(k, v) == view.setdefault(k, v)
                    elif op == 5:
                        pairs = [(key(), rng.choice(values)) for _ in range(rng.randrange(1, 5))]
                        kv.put_many(pairs)
                        view.update(pairs)
                    elif op == 6:
                        ks = [key() for _ in range(rng.randrange(1, 5))]
                        assert kv.delete_many(ks) == len({x for x in ks if x in view})
                        for x in ks:
                            view.pop(x, None)
                    elif op == 7:
                        ks = [key() for _ in range(4)]
                        assert kv.get_many(ks, default="absent") == [view.get(x, "absent") for x in ks]
                    else:
                        assert (k in kv) == (k in view)
                if fail:
                    raise RuntimeError("roll back")
        except RuntimeError:
            assert fail
        else:
            committed = view
        assert dict(kv.items()) == dict(sorted(committed.items())), round_
