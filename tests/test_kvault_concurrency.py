"""Threads, processes, busy databases and the GIL."""

import os
import random
import subprocess
import sys
import threading
import time

import pytest

import ambervault
from ambervault import DatabaseBusy, KVault

from conftest import read_back, subprocess_env

N_THREADS = 8
PER_THREAD = 1000


def _value(t, i):
    return b"thread %d item %d " % (t, i) * (1 + i % 5)


def _run_threads(target, n):
    """Runs target(index) in n threads started together; returns raised exceptions."""
    barrier = threading.Barrier(n)
    errors = []

    def body(index):
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.mark.parametrize("cache", [False, True], ids=["nocache", "cache"])
def test_threads_put_distinct_keys(kv, vault_path, cache):
    if cache:
        kv.enable_cache(cap_bytes=4096, flush_threshold=2048)

    def writer(t):
        for i in range(PER_THREAD):
            kv[b"t%d-%04d" % (t, i)] = _value(t, i)

    assert _run_threads(writer, N_THREADS) == []
    if cache:
        kv.flush_cache()
    expected = {b"t%d-%04d" % (t, i): _value(t, i) for t in range(N_THREADS) for i in range(PER_THREAD)}
    assert len(kv) == N_THREADS * PER_THREAD
    assert dict(kv.items()) == expected
    assert read_back(vault_path) == expected


@pytest.mark.parametrize("cache", [False, True], ids=["nocache", "cache"])
def test_mixed_readers_and_writers(kv, vault_path, cache):
    base = [b"r%03d" % i for i in range(200)]
    kv.update({k: k + b":0" for k in base})
    if cache:
        kv.enable_cache(cap_bytes=8192, flush_threshold=4096)
    ops = 400

    def worker(index):
        rng = random.Random(index)
        if index % 2 == 0:  # writer
            for i in range(ops):
                k = rng.choice(base)
                kv[k] = k + b":%d" % (i + 1)
                kv[b"w%d-%04d" % (index, i)] = b"w"
                if i % 50 == 0:
                    kv.delete(b"w%d-%04d" % (index, i))
        else:  # reader
            for i in range(ops):
                k = rng.choice(base)
                v = kv[k]
                assert v.startswith(k + b":"), (k, v)
                assert k in kv
                if i % 40 == 0:
                    assert list(kv.keys(prefix=b"r")) == base
                    keys = list(kv)
                    assert keys == sorted(set(keys))
                    assert len(kv) >= len(base)
                    for key, value in kv.items():
                        if key.startswith(b"r"):
                            assert value.startswith(key + b":")

    assert _run_threads(worker, 8) == []
    if cache:
        kv.flush_cache()
    expected_w = {b"w%d-%04d" % (t, i) for t in (0, 2, 4, 6) for i in range(ops) if i % 50}
    data = read_back(vault_path)
    assert set(data) == set(base) | expected_w
    assert len(kv) == len(data)


def test_two_vaults_in_one_process_see_each_other(open_vault):
    a = open_vault()
    b = open_vault()
    a[b"x"] = b"from a"
    assert b[b"x"] == b"from a"
    b[b"y"] = b"from b"
    assert a[b"y"] == b"from b"
    b[b"x"] = b"b overwrote"
    assert a[b"x"] == b"b overwrote"
    assert b.delete(b"y") is True
    assert b"y" not in a
    assert len(a) == len(b) == 1
    assert list(a.items()) == list(b.items()) == [(b"x", b"b overwrote")]


_PROCESS_WRITER = r"""
import sys
from ambervault import KVault
path, n, count, cache = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
sys.stdin.readline()  # start together
with KVault(path) as kv:
    if cache:
        kv.enable_cache(cap_bytes=4096, flush_threshold=2048)
    for i in range(count):
        kv[b"p%d-%04d" % (n, i)] = b"process %d value %d" % (n, i)
print("done")
"""


@pytest.mark.parametrize("cache", [False, True], ids=["nocache", "cache"])
def test_processes_write_one_file(vault_path, cache):
    with KVault(vault_path):
        pass  # create the file (and WAL mode) once, up front
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WRITER, vault_path, str(n), "500", "1" if cache else "0"],
            env=subprocess_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out == "done\n"
    data = read_back(vault_path)
    assert data == {b"p%d-%04d" % (n, i): b"process %d value %d" % (n, i) for n in range(4) for i in range(500)}


def test_busy_database_raises_database_busy(vault_path, write_lock):
    kv = KVault(vault_path, busy_timeout=0.05, retries=3, backoff_base=0.01)
    try:
        kv[b"before"] = b"1"
        with write_lock(vault_path):
            start = time.monotonic()
            with pytest.raises(DatabaseBusy) as info:
                kv[b"k"] = b"v"
            elapsed = time.monotonic() - start
            assert isinstance(info.value, TimeoutError)
            assert elapsed < 2.0
            # WAL: readers are not blocked by the writer.
            assert kv[b"before"] == b"1"
            assert b"k" not in kv
        kv[b"k"] = b"v"
        assert read_back(vault_path) == {b"before": b"1", b"k": b"v"}
    finally:
        kv.close()


@pytest.mark.parametrize(
    "call",
    [lambda kv: kv.put(b"k", b"v"), lambda kv: kv.delete(b"before"), lambda kv: kv.clear(),
     lambda kv: kv.put_file(b"k", __import__("io").BytesIO(b"data"))],
    ids=["put", "delete", "clear", "put_file"],
)
def test_busy_database_every_write_raises_database_busy(vault_path, write_lock, call):
    kv = KVault(vault_path, busy_timeout=0.05, retries=2, backoff_base=0.01)
    try:
        kv[b"before"] = b"1"
        with write_lock(vault_path):
            with pytest.raises(DatabaseBusy):
                call(kv)
        assert dict(kv.items()) == {b"before": b"1"}
    finally:
        kv.close()


def test_busy_wait_releases_gil(vault_path, write_lock):
    kv = KVault(vault_path, busy_timeout=1.0, retries=1, backoff_base=0.0)
    try:
        kv[b"warm"] = b"up"
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                time.sleep(0.05)
                ticks.append(time.monotonic())

        t = threading.Thread(target=ticker)
        with write_lock(vault_path):
            t.start()
            time.sleep(0.1)
            start = time.monotonic()
            with pytest.raises(DatabaseBusy):
                kv[b"k"] = b"v"
            end = time.monotonic()
            stop.set()
            t.join(10)
        during = [x for x in ticks if start < x < end]
        assert len(during) >= 5, f"{len(during)} ticks in {end - start:.2f} s of busy wait"
    finally:
        kv.close()


def test_one_iterator_shared_by_threads_yields_each_key_once(open_vault):
    kv = open_vault()
    with kv.cache():
        for i in range(20_000):
            kv[b"k%06d" % i] = b"v"
    it = kv.keys()
    seen: list[list[bytes]] = [[] for _ in range(4)]

    def drain(out: list[bytes]) -> None:
        for key in it:
            out.append(key)

    threads = [threading.Thread(target=drain, args=(seen[t],)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = sorted(k for part in seen for k in part)
    assert merged == [b"k%06d" % i for i in range(20_000)]


def test_inherited_vault_in_forked_child_raises_and_parent_is_unharmed(open_vault):
    kv = open_vault()
    kv[b"parent"] = b"1"
    assert kv[b"parent"] == b"1"
    pid = os.fork()
    if pid == 0:  # child: the inherited vault must refuse, never corrupt
        code = 1
        try:
            kv[b"child"] = b"1"
        except ambervault.KohakuVaultError as exc:
            code = 0 if "another process" in str(exc) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    kv[b"after"] = b"2"
    assert b"child" not in kv
    assert sorted(kv.keys()) == [b"after", b"parent"]
