"""CSBTree and SkipList with several Python threads
(python/bindings/index_binding.cc).

SkipList reads take no lock and, on lists of at least 65,536 entries with
int, float, str, bytes or naive datetime keys, release the GIL while they
search. SkipList writes, and every CSBTree call, take turns: a call that
meets another thread's call paused in a key's __lt__ waits for it (GIL
released) instead of failing.
"""

import sys
import threading
import time
from fractions import Fraction

import pytest

from ambervault import CSBTree, SkipList

from conftest import run_threads

GIL_FREE_SIZE = 65536  # PySkipList::kGilFreeSize


def _other_thread_ran_during(work, n_loops=200_000):
    """Runs work() in this thread while another thread waits for the GIL to
    count to n_loops. With a switch interval of 100 s the interpreter never
    takes the GIL from this thread, so the other thread can only finish
    during work() if work() releases the GIL. Returns whether it did."""
    go = threading.Event()
    count = [0]

    def counter():
        go.wait()
        c = 0
        while c < n_loops:
            c += 1
        count[0] = c

    th = threading.Thread(target=counter, daemon=True)
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        th.start()
        go.set()  # the counter now waits for the GIL, which this thread holds
        work()
        ran = count[0] == n_loops
    finally:
        sys.setswitchinterval(old)
    th.join(60)
    assert not th.is_alive()
    return ran


def test_range_on_a_big_list_releases_the_gil():
    s = SkipList(hash_index=False)
    for i in range(200_000):
        s[i] = i

    def work():
        for _ in range(20):
            assert len(s.range(0, 200_000)) == 200_000

    assert _other_thread_ran_during(work)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: SkipList(), id="small-SkipList"),
        pytest.param(lambda: CSBTree(), id="CSBTree"),
    ],
)
def test_reads_that_keep_the_gil(make):
    """Below 65,536 entries a SkipList read keeps the GIL (releasing it would
    cost more than the search); a CSBTree never releases it."""
    s = make()
    n = GIL_FREE_SIZE - 1 if isinstance(s, SkipList) else 50_000
    for i in range(n):
        s[i] = i

    def work():
        for _ in range(200):
            assert len(s.range(0, n)) == n

    assert not _other_thread_ran_during(work)


def test_gil_free_reads_with_concurrent_writers():
    """Readers on a big list (GIL released during their searches) while
    writers insert, replace and remove: every value read belongs to its key
    (value = key * 10 + generation), ranges are sorted and inside their
    bounds, and the final contents are exactly what the writers left."""
    s = SkipList(hash_index=False)  # every lookup goes through the list
    n = GIL_FREE_SIZE + 4_000
    for k in range(n):
        s[k] = k * 10
    stop = threading.Event()
    problems = []

    def check_pair(k, v):
        if v // 10 != k:
            problems.append((k, v))

    def writer(w):
        def run():
            for rnd in range(1, 3):
                for k in range(w, n, 4):
                    if k % 3 == 0:
                        s.remove(k)
                    else:
                        s[k] = k * 10 + rnd
                for k in range(w, n, 4):
                    if k % 3 == 0:
                        s[k] = k * 10 + rnd
        return run

    def reader(r):
        def run():
            i = r
            while not stop.is_set():
                k = (i * 7919) % n
                v = s.get(k)
                if v is not None:
                    check_pair(k, v)
                for pair in (s.floor(k + 0.5), s.ceiling(k - 0.5)):
                    if pair is not None:
                        check_pair(*pair)
                rng = s.range(k, k + 50)
                keys = [kk for kk, _ in rng]
                if keys != sorted(keys) or any(not (k <= kk < k + 50) for kk in keys):
                    problems.append(("range", k, keys))
                for kk, vv in rng:
                    check_pair(kk, vv)
                i += 1
        return run

    writers = [writer(w) for w in range(2)]
    readers = [reader(r) for r in range(2)]

    def writers_then_stop():
        try:
            run_threads(writers, switch=1e-4)
        finally:
            stop.set()

    run_threads([writers_then_stop] + readers, switch=1e-4)
    assert problems == []
    # Writers 0 and 1 covered the keys k % 4 in {0, 1}; the others kept
    # their initial values.
    for k in range(n):
        expect = k * 10 + 2 if k % 4 in (0, 1) else k * 10
        assert s[k] == expect


def test_gil_free_search_meets_keys_that_need_python():
    """A big list of ints with Fractions among them: a read that released
    the GIL takes it back to compare a Fraction, and errors from such a
    comparison come through."""
    s = SkipList(hash_index=False)
    n = GIL_FREE_SIZE + 1000
    for i in range(n):
        s[i] = i
    for i in range(0, n, 97):
        s[Fraction(2 * i + 1, 2)] = "half"
    got = s.range(0, n)
    assert [k for k, _ in got] == sorted(k for k, _ in got)
    assert len(got) == n + len(range(0, n, 97))
    assert s.get(5000) == 5000 and s.floor(0.75) == (Fraction(1, 2), "half")
    assert s.ceiling(97.2) == (Fraction(195, 2), "half")

    class Flaky:
        """Orders like the number v until `broken` is set, then raises."""

        broken = False

        def __init__(self, v):
            self.v = v

        def __lt__(self, other):
            if Flaky.broken:
                raise ValueError("no order")
            return self.v < other

        def __gt__(self, other):
            if Flaky.broken:
                raise ValueError("no order")
            return self.v > other

    s[Flaky(1000.5)] = "flaky"
    Flaky.broken = True
    with pytest.raises(ValueError, match="no order"):
        s.range(0, n)  # meets the key on its walk, GIL released
    with pytest.raises(ValueError, match="no order"):
        for k in range(990, 1010):
            s.get(k)
            s.floor(k)
    Flaky.broken = False
    assert s.get(5000) == 5000 and len(s.range(0, n)) == len(got) + 1


class SlowKey:
    """Ordered through a Python __lt__ that lets other threads run."""

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        time.sleep(0)
        return self.v < other.v

    def __gt__(self, other):
        return other.__lt__(self)


@pytest.mark.parametrize("cls", [SkipList, CSBTree])
def test_threads_with_python_compared_keys_take_turns(cls):
    """Writers whose comparisons run Python (and switch threads) and readers
    at the same time: no RuntimeError, nothing lost (a call that finds
    another thread's call paused in __lt__ waits for it)."""
    s = cls()
    per = 300

    def writer(w):
        def run():
            for i in range(per):
                s[SlowKey(w * per + i)] = i
            for i in range(0, per, 3):
                assert s.remove(SlowKey(w * per + i)) == i
        return run

    def reader():
        for _ in range(300):
            k = SlowKey(150)
            s.get(k)
            s.range(SlowKey(0), SlowKey(100))
            s.floor(k)
            for _ in zip(range(20), s):  # iteration steps, interleaved
                pass

    run_threads([writer(0), writer(1), writer(2), reader], switch=1e-6)
    expect = sorted(w * per + i for w in range(3) for i in range(per) if i % 3)
    assert [k.v for k in s.keys()] == expect


@pytest.mark.parametrize("cls", [SkipList, CSBTree])
def test_reentrant_write_from_lt_raises_runtimeerror(cls):
    s = cls()
    for i in range(10):
        s[SlowKey(i)] = i

    class Meddler(SlowKey):
        def __lt__(self, other):
            s[SlowKey(100)] = "from __lt__"
            return self.v < other.v

    with pytest.raises(RuntimeError):
        s[Meddler(5.5)] = "x"
    assert len(s) == 10 and [k.v for k in s.keys()] == list(range(10))
    # A read from inside a write's __lt__ is fine: the list is consistent.
    seen = []

    class Reader(SlowKey):
        def __lt__(self, other):
            seen.append(len(s))
            return self.v < other.v

    s[Reader(4.5)] = "y"
    assert seen and len(s) == 11


def test_value_del_may_change_the_list():
    """Replaced and removed values are released at the end of the write,
    after its turn, so their __del__ may write to the list."""
    s = SkipList()

    class V:
        def __init__(self, i):
            self.i = i

        def __del__(self):
            s[("del", self.i)] = True

    for i in range(20):
        s[("k", i)] = V(i)
    for i in range(0, 20, 2):
        s[("k", i)] = "plain"  # replaces V(i)
    for i in range(1, 20, 2):
        del s[("k", i)]
    assert sorted(k for k in s.keys() if k[0] == "del") == [("del", i) for i in range(20)]
    assert s.hash_index_active
