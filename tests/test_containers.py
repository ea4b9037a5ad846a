"""Tests for the in-memory ordered maps ambervault.CSBTree and ambervault.SkipList.

Reference behaviour: KohakuVault's CSBTree / SkipList (tests/test_csbtree.py,
test_skiplist.py, test_skiplist_concurrent.py at 0.6.0), extended by the
AmberVault spec: floor/ceiling/min/max/pop_min, range(reverse, limit),
iteration that survives mutation, exception propagation from key
comparisons, exact reference counting.

Most tests run for every container factory in MAKERS (both classes, and a
CSBTree of the smallest order so that even small tests exercise splits,
merges and separators).
"""

import bisect
import dataclasses
import datetime
import faulthandler
import gc
import random
import sys
import threading
import time
import weakref
from decimal import Decimal
from fractions import Fraction

import pytest

from ambervault import CSBTree, SkipList

from conftest import run_python, run_threads

CLASSES = [CSBTree, SkipList]

MAKERS = [
    pytest.param(CSBTree, id="CSBTree"),
    pytest.param(lambda: CSBTree(order=3), id="CSBTree-order3"),
    pytest.param(SkipList, id="SkipList"),
]

RANDOM_MAKERS = [
    pytest.param(CSBTree, id="CSBTree"),
    pytest.param(lambda: CSBTree(order=3), id="CSBTree-order3"),
    pytest.param(lambda: CSBTree(order=8), id="CSBTree-order8"),
    pytest.param(SkipList, id="SkipList"),
]


@pytest.fixture(params=CLASSES, ids=lambda c: c.__name__)
def cls(request):
    return request.param


@pytest.fixture(params=MAKERS)
def make(request):
    return request.param


@pytest.fixture(autouse=True)
def _watchdog():
    """A hang (e.g. a lock left held after an exception) dumps all stacks and
    ends the run instead of blocking forever."""
    faulthandler.dump_traceback_later(240, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def filled(make, keys, value=lambda k: ("v", k)):
    t = make()
    for k in keys:
        assert t.insert(k, value(k)) is None
    return t


def contents(t):
    """items() and iteration, checked to agree with each other and len()."""
    items = t.items()
    assert list(t) == items
    assert len(t) == len(items)
    return items


def assert_strictly_ascending(keys):
    for a, b in zip(keys, keys[1:]):
        assert a < b, (a, b)


# --------------------------------------------------------------------------
# Key types used below.


@dataclasses.dataclass(order=True, frozen=True)
class Point:
    x: int
    y: str


class Rank:
    """Ordered only through __lt__ (no __eq__, no __gt__): two instances with
    the same rank are the same key of an ordered map."""

    def __init__(self, rank):
        self.rank = rank

    def __lt__(self, other):
        if not isinstance(other, Rank):
            return NotImplemented
        return self.rank < other.rank

    def __repr__(self):
        return f"Rank({self.rank})"


class Desc:
    """A custom __lt__ that orders by *decreasing* value."""

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return self.v > other.v

    def __gt__(self, other):
        return self.v < other.v

    def __repr__(self):
        return f"Desc({self.v})"


class RevInt(int):
    """An int subclass whose comparisons are reversed: the container must use
    the subclass's `<`, not a native int comparison."""

    def __lt__(self, other):
        return int(self) > int(other)

    def __gt__(self, other):
        return int(self) < int(other)

    def __le__(self, other):
        return int(self) >= int(other)

    def __ge__(self, other):
        return int(self) <= int(other)

    __hash__ = int.__hash__


class Poisoned:
    """Compares by value, except that any comparison involving the value
    `poison` raises ValueError."""

    poison = None

    def __init__(self, v):
        self.v = v

    def _check(self, other):
        if self.v == Poisoned.poison or other.v == Poisoned.poison:
            raise ValueError("poisoned comparison")

    def __lt__(self, other):
        self._check(other)
        return self.v < other.v

    def __gt__(self, other):
        self._check(other)
        return self.v > other.v

    def __repr__(self):
        return f"Poisoned({self.v})"


class AlwaysRaises:
    def __lt__(self, other):
        raise ValueError("no order")

    def __gt__(self, other):
        raise ValueError("no order")


class Val:
    """A unique, weak-referenceable value whose == raises (values must never
    be compared)."""

    def __init__(self, tag):
        self.tag = tag

    def __eq__(self, other):
        raise AssertionError("values must not be compared")

    __hash__ = object.__hash__

    def __repr__(self):
        return f"Val({self.tag!r})"


# --------------------------------------------------------------------------
# Construction.


def test_csbtree_order_accepted():
    for order in (3, 4, 5, 16, 63, 64, 255):
        t = CSBTree(order)
        assert len(t) == 0
        keys = list(range(300))
        random.Random(order).shuffle(keys)
        for k in keys:
            t[k] = k * 2
        assert t.items() == [(k, k * 2) for k in range(300)]
        for k in keys[:200]:
            del t[k]
        assert t.items() == [(k, k * 2) for k in sorted(keys[200:])]
    t = CSBTree(order=7)
    t[1] = 2
    assert t.items() == [(1, 2)]
    assert repr(CSBTree(order=63)) == "CSBTree(len=0)"


@pytest.mark.parametrize("order", [2, 1, 0, -1, -63])
def test_csbtree_order_too_small(order):
    with pytest.raises(ValueError):
        CSBTree(order)
    with pytest.raises(ValueError):
        CSBTree(order=order)


@pytest.mark.parametrize("order", ["63", 63.0, 3.5, None, [63], object()])
def test_csbtree_order_not_int(order):
    with pytest.raises(TypeError):
        CSBTree(order)


def test_csbtree_order_not_representable():
    with pytest.raises((ValueError, TypeError, OverflowError)):
        CSBTree(2**70)


def test_skiplist_takes_no_arguments():
    with pytest.raises(TypeError):
        SkipList(63)
    assert repr(SkipList()) == "SkipList(len=0)"


# --------------------------------------------------------------------------
# Basic API, both classes.


def test_empty(make):
    t = make()
    assert len(t) == 0
    assert t.is_empty() is True
    assert list(t) == []
    assert t.keys() == [] and t.values() == [] and t.items() == []
    assert t.range(0, 100) == []
    assert t.range(0, 100, reverse=True) == []
    assert t.get(1) is None
    assert t.get(1, "d") == "d"
    assert (1 in t) is False
    assert t.remove(1) is None
    with pytest.raises(KeyError):
        t[1]
    with pytest.raises(KeyError):
        del t[1]
    for method in (t.min, t.max, t.pop_min):
        with pytest.raises(KeyError):
            method()
    assert t.floor(5) is None
    assert t.ceiling(5) is None
    assert repr(t) == f"{type(t).__name__}(len=0)"
    t.clear()
    assert len(t) == 0


def test_insert_get_replace(make):
    t = make()
    assert t.insert(5, "five") is None
    assert t.insert(3, "three") is None
    assert len(t) == 2
    assert t.is_empty() is False
    assert t.get(5) == "five"
    assert t.get(3, "d") == "three"
    assert t.get(4) is None
    assert t.get(4, "d") == "d"
    assert t.get(4, default="kw") == "kw"
    assert t.insert(5, "FIVE") == "five"
    assert len(t) == 2
    assert t[5] == "FIVE"
    assert t.insert(5, "5") == "FIVE"
    assert t.items() == [(3, "three"), (5, "5")]


def test_values_are_stored_by_identity_and_never_compared(make):
    t = make()
    vals = [Val(i) for i in range(50)]
    for i, v in enumerate(vals):
        t[i] = v
    for i, v in enumerate(vals):
        assert t[i] is v
        assert t.get(i) is v
    assert len(t.values()) == 50
    assert all(a is b for a, b in zip(t.values(), vals))
    assert t.insert(7, "x") is vals[7]
    assert t.remove(8) is vals[8]


def test_keys_are_stored_by_identity(make):
    keys = [Rank(i) for i in range(40)]
    t = make()
    for k in reversed(keys):
        t[k] = k.rank
    assert all(a is b for a, b in zip(t.keys(), keys))
    assert all(a is b for (a, _), b in zip(t, keys))


def test_none_values(make):
    t = make()
    assert t.insert(1, None) is None
    assert 1 in t
    assert t[1] is None
    assert len(t) == 1
    assert t.get(1, "d") is None
    assert t.items() == [(1, None)]
    assert t.remove(1) is None
    assert 1 not in t
    assert len(t) == 0
    t[2] = None
    del t[2]
    with pytest.raises(KeyError):
        t[2]


def test_remove_and_delitem(make):
    t = filled(make, range(10))
    assert t.remove(4) == ("v", 4)
    assert t.remove(4) is None
    assert 4 not in t
    assert len(t) == 9
    del t[5]
    assert 5 not in t
    with pytest.raises(KeyError):
        del t[5]
    assert len(t) == 8
    assert t.keys() == [0, 1, 2, 3, 6, 7, 8, 9]


def test_getitem_setitem_contains(make):
    t = make()
    t["b"] = 2
    t["a"] = 1
    t["b"] = 3
    assert t["a"] == 1 and t["b"] == 3
    assert "a" in t and "c" not in t
    with pytest.raises(KeyError):
        t["c"]
    assert len(t) == 2


def test_iteration_yields_pairs_in_order(make):
    keys = random.Random(1).sample(range(-5000, 5000), 1000)
    t = filled(make, keys, value=lambda k: k * 3)
    expected = [(k, k * 3) for k in sorted(keys)]
    got = list(t)
    assert got == expected
    assert all(type(p) is tuple and len(p) == 2 for p in got)
    assert [k for k, _ in t] == sorted(keys)


def test_keys_values_items_are_lists(make):
    t = filled(make, [3, 1, 2], value=lambda k: str(k))
    assert type(t.keys()) is list and t.keys() == [1, 2, 3]
    assert type(t.values()) is list and t.values() == ["1", "2", "3"]
    assert type(t.items()) is list and t.items() == [(1, "1"), (2, "2"), (3, "3")]
    assert all(type(p) is tuple for p in t.items())
    # The returned lists are copies.
    t.keys().append(99)
    t.items().clear()
    assert t.keys() == [1, 2, 3]


def test_iterator_protocol(make):
    t = filled(make, [1, 2, 3])
    it = iter(t)
    assert iter(it) is it
    assert next(it) == (1, ("v", 1))
    assert list(it) == [(2, ("v", 2)), (3, ("v", 3))]
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    # Two iterators are independent.
    a, b = iter(t), iter(t)
    assert next(a)[0] == 1 and next(a)[0] == 2 and next(b)[0] == 1


def test_exhausted_iterator_stays_exhausted(make):
    """Python's iterator protocol: once StopIteration, always StopIteration,
    even if the container later gains keys after the last one returned."""
    t = filled(make, [1, 2, 3])
    it = iter(t)
    assert [k for k, _ in it] == [1, 2, 3]
    t[10] = "late"
    with pytest.raises(StopIteration):
        next(it)
    empty_it = iter(make())
    with pytest.raises(StopIteration):
        next(empty_it)


def test_iterator_keeps_container_alive(make):
    t = filled(make, range(600))
    it = iter(t)
    assert next(it) == (0, ("v", 0))
    ref_holder = [it]
    del t
    gc.collect()
    assert [k for k, _ in ref_holder[0]] == list(range(1, 600))


def test_range_half_open(make):
    t = filled(make, range(0, 100, 2), value=lambda k: -k)
    assert t.range(10, 20) == [(10, -10), (12, -12), (14, -14), (16, -16), (18, -18)]
    assert t.range(11, 19) == [(12, -12), (14, -14), (16, -16), (18, -18)]
    assert t.range(10, 11) == [(10, -10)]
    assert t.range(10, 10) == []
    assert t.range(20, 10) == []
    assert t.range(-100, 1) == [(0, 0)]
    assert t.range(97, 1000) == [(98, -98)]
    assert t.range(100, 1000) == []
    assert t.range(-10, 0) == []
    assert t.range(-1, 1000) == t.items()
    assert t.range(9.5, 12.5) == [(10, -10), (12, -12)]
    assert t.range(start=2, end=6) == [(2, -2), (4, -4)]


def test_range_reverse_and_limit(make):
    t = filled(make, range(0, 100, 2), value=lambda k: -k)
    assert t.range(10, 20, reverse=True) == [(18, -18), (16, -16), (14, -14), (12, -12), (10, -10)]
    assert t.range(10, 20, True) == t.range(10, 20, reverse=True)
    assert t.range(10, 20, reverse=False) == t.range(10, 20)
    assert t.range(10, 20, limit=2) == [(10, -10), (12, -12)]
    assert t.range(10, 20, reverse=True, limit=2) == [(18, -18), (16, -16)]
    assert t.range(10, 20, limit=0) == []
    assert t.range(10, 20, reverse=True, limit=0) == []
    assert t.range(10, 20, limit=5) == t.range(10, 20)
    assert t.range(10, 20, limit=1000) == t.range(10, 20)
    assert t.range(10, 20, limit=None) == t.range(10, 20)
    assert t.range(20, 10, reverse=True) == []
    assert t.range(10, 10, reverse=True) == []
    assert t.range(-5, 1000, reverse=True) == t.items()[::-1]
    assert t.range(11, 13, reverse=True) == [(12, -12)]
    assert t.range(99, 1000, reverse=True, limit=3) == []
    assert t.range(0, 1, reverse=True, limit=3) == [(0, 0)]
    assert t.range(0, 300, False, 3) == [(0, 0), (2, -2), (4, -4)]


def test_range_large(make):
    t = filled(make, range(1000), value=lambda k: k)
    r = t.range(100, 200)
    assert r == [(k, k) for k in range(100, 200)]
    assert t.range(100, 200, reverse=True, limit=7) == [(k, k) for k in range(199, 192, -1)]
    assert t.range(500, 1_000_000, limit=600) == [(k, k) for k in range(500, 1000)]


def test_min_max_pop_min(make):
    t = filled(make, [5, -3, 12, 7], value=lambda k: k * 10)
    assert t.min() == (-3, -30)
    assert t.max() == (12, 120)
    assert len(t) == 4
    assert t.pop_min() == (-3, -30)
    assert len(t) == 3 and -3 not in t
    assert t.min() == (5, 50)
    assert [t.pop_min() for _ in range(3)] == [(5, 50), (7, 70), (12, 120)]
    assert len(t) == 0 and t.is_empty()
    for method in (t.min, t.max, t.pop_min):
        with pytest.raises(KeyError):
            method()
    assert type(filled(make, [1]).min()) is tuple


def test_pop_min_drains_in_order(make):
    keys = random.Random(2).sample(range(100000), 3000)
    t = filled(make, keys)
    out = [t.pop_min()[0] for _ in range(len(keys))]
    assert out == sorted(keys)
    assert len(t) == 0
    with pytest.raises(KeyError):
        t.pop_min()


def test_floor_ceiling(make):
    t = filled(make, [10, 20, 30], value=lambda k: k + 1)
    assert t.floor(20) == (20, 21)
    assert t.ceiling(20) == (20, 21)
    assert t.floor(25) == (20, 21)
    assert t.ceiling(25) == (30, 31)
    assert t.floor(9) is None
    assert t.ceiling(9) == (10, 11)
    assert t.floor(31) == (30, 31)
    assert t.ceiling(31) is None
    assert t.floor(10) == (10, 11)
    assert t.ceiling(30) == (30, 31)
    assert t.floor(19.999) == (10, 11)
    assert t.ceiling(10.001) == (20, 21)
    assert t.floor(10**30) == (30, 31)
    assert t.ceiling(-(10**30)) == (10, 11)


def test_clear_and_reuse(make):
    t = filled(make, range(2000))
    t.clear()
    assert len(t) == 0 and t.is_empty() and list(t) == []
    assert t.get(5) is None and 5 not in t
    with pytest.raises(KeyError):
        t.min()
    t.clear()
    # Reuse with keys of another type: nothing of the old content remains.
    t["b"] = 2
    t["a"] = 1
    assert t.items() == [("a", 1), ("b", 2)]


def test_clear_and_pop_min_with_a_key_incomparable_with_itself(make):
    """None (or any object without `<`) is accepted as the only key of an
    empty map; clear() and pop_min() must not need to compare it."""
    t = make()
    t[None] = "only"
    assert len(t) == 1 and t.min() == (None, "only")
    with pytest.raises(TypeError):
        t.get(None)  # finding it needs None < None
    t.clear()
    assert len(t) == 0 and t.items() == []
    t[None] = "again"
    assert t.pop_min() == (None, "again") and len(t) == 0
    t[1] = 1
    assert t[1] == 1


def test_repr(make):
    t = make()
    name = "CSBTree" if isinstance(t, CSBTree) else "SkipList"
    assert repr(t) == f"{name}(len=0)"
    for i in range(123):
        t[i] = i
    assert repr(t) == f"{name}(len=123)"
    t[5] = "replaced"
    assert repr(t) == f"{name}(len=123)"
    del t[5]
    assert repr(t) == f"{name}(len=122)"
    t.clear()
    assert repr(t) == f"{name}(len=0)"


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_large_insert_orders(make, order):
    n = 30_000
    keys = list(range(n))
    if order == "descending":
        keys.reverse()
    elif order == "shuffled":
        random.Random(3).shuffle(keys)
    t = filled(make, keys, value=lambda k: k)
    assert len(t) == n
    assert t.keys() == list(range(n))
    assert t.min() == (0, 0) and t.max() == (n - 1, n - 1)
    assert t.range(12_345, 12_350) == [(k, k) for k in range(12_345, 12_350)]
    for k in keys[::2]:
        assert t.remove(k) == k
    assert t.keys() == sorted(keys[1::2])
    for k in keys[1::2]:
        del t[k]
    assert len(t) == 0 and list(t) == []


def test_big_container_deallocation(make):
    t = filled(make, range(200_000), value=lambda k: k)
    assert len(t) == 200_000
    del t
    gc.collect()


# --------------------------------------------------------------------------
# CSBTree extras.


def test_csbtree_get_default():
    t = CSBTree()
    t[1] = "one"
    assert t.get_default(1, "d") == "one"
    assert t.get_default(2, "d") == "d"
    assert t.get_default(2, None) is None
    assert 2 not in t and len(t) == 1


def test_csbtree_setdefault():
    t = CSBTree()
    t[1] = "one"
    assert t.setdefault(1, "other") == "one"
    assert t[1] == "one"
    v = Val("new")
    assert t.setdefault(2, v) is v
    assert t[2] is v
    assert len(t) == 2
    assert t.setdefault(2, "again") is v
    assert t.setdefault(1.0, "float") == "one"
    assert len(t) == 2
    assert t.setdefault(3, None) is None
    assert 3 in t and t[3] is None
    with pytest.raises(TypeError):
        t.setdefault("x", 1)
    assert len(t) == 3


def test_csbtree_update_pairs_and_mappings():
    t = CSBTree()
    t.update([(3, "c"), (1, "a")])
    assert t.items() == [(1, "a"), (3, "c")]
    t.update(((k, k * k) for k in range(5, 8)))
    assert t.items() == [(1, "a"), (3, "c"), (5, 25), (6, 36), (7, 49)]
    t.update([(1, "A"), (1, "AA"), [2, "b"]])
    assert t[1] == "AA" and t[2] == "b"
    t.update({10: "ten", 0: "zero"})
    assert t[10] == "ten" and t[0] == "zero" and 10 in t
    assert t.keys() == [0, 1, 2, 3, 5, 6, 7, 10]
    t.update([])
    t.update({})
    assert len(t) == 8
    other = CSBTree()
    other.update({-1: "m", 100: "h"})
    t.update(other)
    assert t.keys() == [-1, 0, 1, 2, 3, 5, 6, 7, 10, 100]
    sl = SkipList()
    sl[50] = "sl"
    t.update(sl)
    assert t[50] == "sl"


def test_csbtree_update_bad_input():
    t = CSBTree()
    t[0] = 0
    with pytest.raises(TypeError):
        t.update(5)
    with pytest.raises((TypeError, ValueError)):
        t.update([5])
    with pytest.raises((TypeError, ValueError)):
        t.update([(1, 2, 3)])
    with pytest.raises(TypeError):
        t.update([("str-key", 1)])  # incomparable with 0
    assert t.items() == [(0, 0)]

    def gen():
        yield (1, "a")
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        t.update(gen())
    # Pairs consumed before the failure may or may not be kept; the tree stays usable.
    assert t.items() in ([(0, 0)], [(0, 0), (1, "a")])
    t[2] = "b"
    assert t[2] == "b"


# --------------------------------------------------------------------------
# Key types.

NUMERIC_SPECIAL = [
    0,
    -1,
    1,
    2**31,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**63 + 1,
    2**64,
    2**100,
    -(2**63),
    -(2**63) - 1,
    -(2**100),
    10**400,
    -(10**400),
    0.5,
    -0.5,
    1e300,
    -1e300,
    float("inf"),
    float("-inf"),
    1.5e-300,
    Fraction(1, 3),
    Fraction(-7, 2),
    Decimal("2.25"),
    Decimal("-1e30"),
]


def _distinct_sorted(keys):
    out = []
    for k in sorted(keys):
        if not out or out[-1] < k:
            out.append(k)
    return out


def check_key_set(make, keys, seed=0):
    """Insert keys in random order; everything agrees with a sorted oracle."""
    order = list(keys)
    random.Random(seed).shuffle(order)
    expect = _distinct_sorted(order)
    t = make()
    for i, k in enumerate(order):
        t[k] = i
    got = t.keys()
    assert len(got) == len(expect) == len(t)
    for a, b in zip(got, expect):
        assert not (a < b) and not (b < a), (got, expect)
    for k in order:
        assert k in t
        assert t[k] == max(i for i, o in enumerate(order) if not (o < k) and not (k < o))
    for i, k in enumerate(expect):
        lo = expect[max(i - 2, 0)]
        assert [x for x, _ in t.range(lo, k)] == expect[max(i - 2, 0) : i]
        assert t.floor(k)[0] is got[i]
        assert t.ceiling(k)[0] is got[i]
    assert t.min()[0] is got[0] and t.max()[0] is got[-1]
    return t


def test_numeric_keys_compare_exactly(make):
    keys = NUMERIC_SPECIAL + [-0.0, 0.0, 1.0, True, False, float(2**53), float(2**63), 2.0**64]
    t = check_key_set(make, keys)
    # 2**53 == 2.0**53 but 2**53 + 1 is a different, larger key.
    assert t[2**53] == t[float(2**53)]
    assert t[2**53 + 1] != t[2**53]
    assert t.floor(2**53 + 1)[0] == 2**53 + 1
    assert t.ceiling(float(2**63))[0] == 2**63
    ks = t.keys()
    assert ks[0] == float("-inf") and ks[-1] == float("inf")
    assert ks.index(2**63 - 1) + 1 == ks.index(2**63)
    assert ks.index(10**400) + 1 == ks.index(float("inf"))


def test_int_float_bool_same_key(make):
    t = make()
    t[0] = "int"
    assert t.insert(0.0, "float") == "int"
    assert t.insert(-0.0, "negzero") == "float"
    assert t.insert(False, "false") == "negzero"
    assert t.insert(Fraction(0), "frac") == "false"
    assert len(t) == 1
    assert t[0] == "frac"
    t[True] = "true"
    assert t[1] == "true" and t[1.0] == "true"
    assert t.insert(1, "one") == "true"
    assert len(t) == 2
    del t[1.0]
    assert 1 not in t and True not in t
    assert t.remove(-0.0) == "frac"
    assert len(t) == 0


def test_int_float_boundaries(make):
    t = make()
    t[2**63 - 1] = "max"
    t[float(2**63)] = "2**63 as float"
    t[2**63] = "2**63 as int"  # same key as float(2**63)
    t[2**63 + 1] = "2**63+1"
    t[-(2**63)] = "min"
    t[float(-(2**63))] = "min as float"
    assert len(t) == 4
    assert t.values() == ["min as float", "max", "2**63 as int", "2**63+1"]
    assert float(2**63 - 1) in t  # float(2**63 - 1) == 2.0**63
    assert t[float(2**63 - 1)] == "2**63 as int"
    assert t.range(2**63 - 1, 2**63) == [(2**63 - 1, "max")]
    assert [v for _, v in t.range(9.223372036854775e18, 2**64)] == ["max", "2**63 as int", "2**63+1"]


def test_str_keys_codepoint_order(make):
    keys = [
        "", "a", "b", "ab", "aa", "a\x00", "a\x00b", "\x00", "Z", "z", "é", "ß",
        "\u00ff", "\u0100", "\u4e2d", "\u4e2d\u6587", "\ud7ff", "\ue000",
        "\uffff", "\U00010000", "\U0001F600", "\U0010FFFF",
        "\ud800", "\udfff", "a\ud800",  # lone surrogates
        "naïve", "naive", "Ärger", "Zebra",
    ]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)


def test_str_subclass_keys_mix_with_str(make):
    class S(str):
        pass

    keys = ["b", S("a"), "c", S("bb"), "\u4e2d", S("\U0001F600")]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    t[S("b")] = "sub"
    assert t["b"] == "sub" and len(t) == len(keys)


def test_bytes_keys(make):
    keys = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00", b"abc", b"ab", b"b"]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    with pytest.raises(TypeError):
        t["abc"] = 1
    assert len(t) == len(keys)


def test_tuple_keys(make):
    keys = [(1, "a"), (1, "b"), (0, "z"), (1,), (), (2, (0, 1)), (2, (0,)), (1, "a", 0), (-1, "")]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    assert t.range((1,), (2,)) == [((1,), t[(1,)]), ((1, "a"), t[(1, "a")]), ((1, "a", 0), t[(1, "a", 0)]), ((1, "b"), t[(1, "b")])]


def test_list_keys_need_no_hash(make):
    keys = [[2, 1], [1, 2], [1], [1, 2, 3]]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    assert t[[1, 2]] == t.get([1, 2])


def test_dataclass_keys(make):
    keys = [Point(2, "a"), Point(1, "z"), Point(1, "b"), Point(-5, "")]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    assert t[Point(1, "b")] == t.get(Point(1, "b"))


def test_datetime_keys(make):
    base = datetime.datetime(2026, 11, 24, 12, 0, 0)
    keys = [base + datetime.timedelta(seconds=s) for s in (0, 1, -1, 86400, -86400 * 365, 0.5)]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(keys)
    aware = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    with pytest.raises(TypeError):
        t[aware] = "aware"  # naive vs aware datetimes are incomparable
    assert len(t) == len(keys)
    assert t.range(base, base + datetime.timedelta(days=2)) == [(k, t[k]) for k in sorted(keys) if k >= base]


def test_naive_datetime_fast_path_matches_python(make):
    # Naive datetimes compare in C++ by their packed fields: the extremes,
    # microseconds, and fold (which plays no part in naive comparisons).
    D = datetime.datetime
    keys = [D.min, D.max, D(1, 1, 1, 0, 0, 0, 1), D(9999, 12, 31, 23, 59, 59, 999998),
            D(2026, 11, 24, 12, 0, 0, 999999), D(2026, 11, 24, 12, 0, 1),
            D(2026, 11, 24, 12, 0, 1, fold=1), D(2026, 2, 28), D(2026, 3, 1), D(2024, 2, 29)]
    t = check_key_set(make, keys)
    assert t.keys() == sorted(set(keys))
    assert t[D(2026, 11, 24, 12, 0, 1)] == t[D(2026, 11, 24, 12, 0, 1, fold=1)]


def test_datetime_kinds_that_go_through_python(make):
    D = datetime.datetime

    class Sub(D):
        pass

    t = make()
    keys = [D(2026, 1, 2), Sub(2026, 1, 1), D(2026, 1, 3), Sub(2026, 1, 4)]
    for i, k in enumerate(keys):
        t[k] = i
    assert t.keys() == sorted(keys)
    for bad in (datetime.date(2026, 1, 2), D(2026, 1, 2, tzinfo=datetime.timezone.utc), 20260102):
        with pytest.raises(TypeError):
            t[bad] = "x"
    assert len(t) == 4
    # Aware datetimes among themselves order by their UTC instant.
    east = datetime.timezone(datetime.timedelta(hours=9))
    a = make()
    a[D(2026, 1, 1, 9, tzinfo=east)] = "09:00+09 = 00:00Z"
    a[D(2026, 1, 1, 0, 30, tzinfo=datetime.timezone.utc)] = "00:30Z"
    assert a.insert(D(2026, 1, 1, 0, tzinfo=datetime.timezone.utc), "00:00Z") == "09:00+09 = 00:00Z"
    assert a.values() == ["00:00Z", "00:30Z"]


def _random_tuple(rng, depth=0):
    # Position i always holds the same family of types, so any two tuples
    # are comparable: ints (with bools and big ints) and floats, str, bytes,
    # or a nested tuple.
    n = rng.randint(0, 4)
    out = []
    for i in range(n):
        family = (i + depth) % 4
        if family == 0:
            out.append(rng.choice([rng.randint(-3, 3), rng.randint(-2**64, 2**64), True, False,
                                   rng.randint(-3, 3) + 0.5, float(rng.randint(-3, 3))]))
        elif family == 1:
            out.append(rng.choice(["", "a", "ab", "b", "\u00e9", "\U0001F600", "a\x00", "\ud800"]))
        elif family == 2:
            out.append(rng.choice([b"", b"\x00", b"a", b"ab", b"\xff", b"a\x00"]))
        elif depth < 2:
            out.append(_random_tuple(rng, depth + 1))
        else:
            out.append(rng.randint(0, 2))
    return tuple(out)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tuple_fast_path_agrees_with_python(make, seed):
    rng = random.Random(seed)
    keys = [_random_tuple(rng) for _ in range(600)]
    check_key_set(make, keys, seed=seed)


def test_tuple_fast_path_corner_cases(make):
    nan = float("nan")
    t = make()
    t[(1, nan)] = "same nan object"
    # Identity means equality inside tuples, as in Python.
    assert t[(1, nan)] == "same nan object"
    # Another NaN is neither < nor > it: the same key under < ordering.
    assert t[(1, float("nan"))] == "same nan object"
    t = make()
    t[(True, "x")] = "bool first"
    assert t.insert((1, "x"), "int first") == "bool first"
    assert t.insert((1.0, "x"), "float first") == "int first"
    t[(2**64, b"")] = "big"
    t[(2**64 + 1,)] = "bigger"
    t[(-(2**64),)] = "smallest"
    assert [k for k, _ in t][0] == (-(2**64),)
    assert [k for k, _ in t][-2:] == [(2**64, b""), (2**64 + 1,)]


@pytest.mark.parametrize("seed", [4, 5])
def test_int_pair_tuples_agree_with_python(make, seed):
    """Tuples starting with two ints: both are kept in the key when they fit
    int32. Boundaries, bools, big ints, longer and shorter tuples, and
    floats mixed in must still order exactly as Python does."""
    rng = random.Random(seed)
    edge = [0, 1, -1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), 2**64, True, False]

    def part():
        r = rng.random()
        if r < 0.5:
            return rng.choice(edge)
        if r < 0.9:
            return rng.randint(-5, 5)
        return rng.randint(-5, 5) + 0.5

    keys = []
    for _ in range(700):
        n = rng.choice([1, 2, 2, 2, 3])
        keys.append(tuple(part() for _ in range(n)))
    check_key_set(make, keys, seed=seed)
    t = make()
    t[(1, 2)] = "pair"
    assert t[(1, 2.0)] == "pair" and t[(True, 2)] == "pair"
    t[(1, 2, 0)] = "longer"
    t[(1,)] = "shorter"
    t[(1, 2**31)] = "big second"
    assert [k for k, _ in t] == [(1,), (1, 2), (1, 2, 0), (1, 2**31)]


def test_tuple_with_incomparable_elements_raises(make):
    t = make()
    t[(1, "a")] = 1
    t[(2, 0)] = 2
    for bad in [(1, 2), (2, "b"), (1, b"a")]:
        with pytest.raises(TypeError):
            t[bad] = "x"
    # The first elements decide before the incomparable ones are reached.
    t[(3, "c")] = 3
    assert len(t) == 3 and t.keys() == [(1, "a"), (2, 0), (3, "c")]


def test_tuple_element_errors_propagate(make):
    class EqRaises:
        def __eq__(self, other):
            raise ValueError("no equality")

        __hash__ = None

    t = make()
    first = (1, AlwaysRaises())
    t[first] = "a"
    with pytest.raises(ValueError, match="no order"):
        t[(1, AlwaysRaises())] = "b"  # == is False, then < raises
    assert t[first] == "a"  # identical elements are equal without calling <
    t2 = make()
    t2[(1, EqRaises())] = "a"
    with pytest.raises(ValueError, match="no equality"):
        t2[(1, EqRaises())] = "b"
    assert len(t) == 1 and len(t2) == 1


def test_mapping_slots_on_an_uninitialized_instance(cls):
    obj = cls.__new__(cls)
    for op in (lambda: len(obj), lambda: obj[1], lambda: 1 in obj,
               lambda: obj.__setitem__(1, 2), lambda: obj.__delitem__(1)):
        with pytest.raises(TypeError):
            op()


def test_custom_lt_only_keys(make):
    keys = [Rank(r) for r in (5, 1, 9, 3, 7)]
    t = check_key_set(make, keys)
    assert [k.rank for k in t.keys()] == [1, 3, 5, 7, 9]
    # Equivalent under `<` means the same key.
    assert t.insert(Rank(5), "again") is not None
    assert len(t) == 5
    assert t[Rank(5)] == "again"
    del t[Rank(3)]
    assert [k.rank for k in t.keys()] == [1, 5, 7, 9]


def test_custom_lt_order_is_used(make):
    t = make()
    for v in range(50):
        t[Desc(v)] = v
    assert t.values() == list(range(49, -1, -1))
    assert t.min()[1] == 49 and t.max()[1] == 0
    assert [v for _, v in t.range(Desc(10), Desc(5))] == [10, 9, 8, 7, 6]


def test_int_subclass_uses_its_own_lt(make):
    t = make()
    for v in range(40):
        t[RevInt(v)] = v
    assert t.values() == list(range(39, -1, -1))
    assert [v for _, v in t.range(RevInt(10), RevInt(5))] == [10, 9, 8, 7, 6]


# --------------------------------------------------------------------------
# Comparison errors.

OPS_WITH_KEY = {
    "insert": lambda t, k: t.insert(k, "x"),
    "setitem": lambda t, k: t.__setitem__(k, "x"),
    "get": lambda t, k: t.get(k),
    "get_default": lambda t, k: t.get(k, "d"),
    "contains": lambda t, k: k in t,
    "getitem": lambda t, k: t[k],
    "remove": lambda t, k: t.remove(k),
    "delitem": lambda t, k: t.__delitem__(k),
    "floor": lambda t, k: t.floor(k),
    "ceiling": lambda t, k: t.ceiling(k),
    "range_start": lambda t, k: t.range(k, t.max()[0]),
    "range_end": lambda t, k: t.range(t.min()[0], k),
    "range_reverse": lambda t, k: t.range(t.min()[0], k, reverse=True),
}


@pytest.mark.parametrize("size", [1, 7, 200, 3000])
@pytest.mark.parametrize("op", sorted(OPS_WITH_KEY))
def test_incomparable_key_raises_type_error(make, size, op):
    t = filled(make, range(0, 2 * size, 2))
    before = t.items()
    for bad in ("a", b"a", None, (1,), object()):
        with pytest.raises(TypeError):
            OPS_WITH_KEY[op](t, bad)
        assert len(t) == size
    assert t.items() == before
    # Still fully usable.
    t[1] = "one"
    assert t[1] == "one" and len(t) == size + 1
    del t[1]
    assert t.items() == before


@pytest.mark.parametrize("op", sorted(OPS_WITH_KEY))
def test_key_lt_raising_value_error(make, op):
    t = filled(make, [Rank(i) for i in range(300)])
    before = t.items()
    with pytest.raises(ValueError, match="no order"):
        OPS_WITH_KEY[op](t, AlwaysRaises())
    assert t.items() == before
    t[Rank(1000)] = "ok"
    assert len(t) == 301


@pytest.mark.parametrize("op", sorted(OPS_WITH_KEY))
@pytest.mark.parametrize("size", [50, 3000])
def test_comparison_error_deep_inside_operation(make, op, size):
    """The failing comparison happens at the bottom of the structure (the
    neighbour of the probed key), after the descent has already visited
    several nodes; the container must be exactly as before."""
    keys = [Poisoned(i) for i in range(size)]
    t = make()
    for i in random.Random(size).sample(range(size), size):
        t[keys[i]] = i
    before = t.items()
    probe = Poisoned(size // 2 + 0.5)
    Poisoned.poison = size // 2
    try:
        with pytest.raises(ValueError, match="poisoned"):
            OPS_WITH_KEY[op](t, probe)
        Poisoned.poison = None
        assert t.items() == before
        assert len(t) == size
        # The container is still fully usable.
        t[Poisoned(size + 10)] = "end"
        assert t.max()[1] == "end"
        assert t.remove(Poisoned(size + 10)) == "end"
        assert t.items() == before
    finally:
        Poisoned.poison = None


def test_incomparable_after_empty(make):
    t = make()
    t["a"] = 1
    with pytest.raises(TypeError):
        t[1] = 2
    assert t.items() == [("a", 1)]
    t.clear()
    t[1] = 2
    with pytest.raises(TypeError):
        t.insert("a", 1)
    assert t.items() == [(1, 2)]


# --------------------------------------------------------------------------
# Mutation during iteration.


class IterModel:
    """Predicts the iteration rule: each step returns the smallest key (in
    the current state) greater than the last key returned."""

    def __init__(self, items):
        self.d = dict(items)
        self.keys = sorted(self.d)
        self.last = None
        self.started = False

    def next(self):
        if not self.started:
            i = 0
        else:
            i = bisect.bisect_right(self.keys, self.last)
        if i == len(self.keys):
            return None
        self.started = True
        self.last = self.keys[i]
        return (self.last, self.d[self.last])

    def set(self, k, v):
        if k not in self.d:
            bisect.insort(self.keys, k)
        self.d[k] = v

    def delete(self, k):
        if k in self.d:
            del self.d[k]
            self.keys.remove(k)


def _check_iteration_properties(visited, always_present):
    keys = [k for k, _ in visited]
    assert_strictly_ascending(keys)
    missing = set(always_present) - set(keys)
    assert not missing, sorted(missing)[:20]


@pytest.mark.parametrize("size", [10, 300, 3000])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_mutation_during_iteration(make, size, seed):
    rng = random.Random(seed * 1000 + size)
    keys = rng.sample(range(size * 10), size)
    t = filled(make, keys, value=lambda k: k)
    model = IterModel(t.items())
    untouched = set(keys)
    visited = []
    steps = 0
    for pair in t:
        steps += 1
        assert steps <= 20 * size + 10, "iteration does not terminate"
        expected = model.next()
        assert pair == expected, (pair, expected, steps)
        visited.append(pair)
        for _ in range(rng.randrange(3)):
            r = rng.random()
            k = rng.randrange(size * 10)
            if r < 0.3:
                t[k] = ("new", k)
                model.set(k, ("new", k))
                untouched.discard(k)
            elif r < 0.55:
                t.remove(k)
                model.delete(k)
                untouched.discard(k)
            elif r < 0.65:
                # Remove the key just returned.
                del t[pair[0]]
                model.delete(pair[0])
                untouched.discard(pair[0])
                break
            elif r < 0.75 and len(t) > 0:
                k, v = t.pop_min()
                model.delete(k)
                untouched.discard(k)
            elif r < 0.85:
                # Replace a value ahead of the iterator.
                c = model.keys[bisect.bisect_right(model.keys, pair[0]):][:1]
                if c:
                    t[c[0]] = ("replaced", c[0])
                    model.set(c[0], ("replaced", c[0]))
            else:
                t.insert(pair[0] + 0.5, "just after")
                model.set(pair[0] + 0.5, "just after")
    assert model.next() is None
    _check_iteration_properties(visited, untouched)
    assert contents(t) == [(k, model.d[k]) for k in model.keys]


def test_insert_ahead_during_iteration_is_visited(make):
    t = filled(make, [0], value=lambda k: k)
    seen = []
    for k, v in t:
        seen.append(k)
        if k < 1000:
            t[k + 1] = k + 1  # always just after the current key
            t[-k - 1] = "behind"  # never visited
    assert seen == list(range(1001))
    assert len(t) == 2001


def test_delete_current_during_iteration(make):
    t = filled(make, range(1000), value=lambda k: k)
    seen = [k for k, _ in t if t.remove(k) == k]
    assert seen == list(range(1000))
    assert len(t) == 0


def test_delete_ahead_during_iteration_is_not_visited(make):
    t = filled(make, range(1000), value=lambda k: k)
    seen = []
    for k, _ in t:
        seen.append(k)
        t.remove(k + 1)
    assert seen == list(range(0, 1000, 2))
    assert t.keys() == list(range(0, 1000, 2))


def test_replace_values_during_iteration(make):
    t = filled(make, range(700), value=lambda k: k)
    seen = []
    for k, v in t:
        seen.append((k, v))
        t[k] = v + 1
        if k + 1 in t:
            t[k + 1] = t[k + 1] * 10
    assert seen == [(0, 0)] + [(k, k * 10) for k in range(1, 700)]
    assert t.values() == [1] + [k * 10 + 1 for k in range(1, 700)]


def test_clear_during_iteration_stops(make):
    t = filled(make, range(1000))
    seen = []
    for k, _ in t:
        seen.append(k)
        if k == 500:
            t.clear()
    assert seen == list(range(501))


def test_clear_and_refill_during_iteration(make):
    t = filled(make, range(100))
    seen = []
    for k, _ in t:
        seen.append(k)
        if k == 50:
            t.clear()
            for j in range(40, 60):
                t[j] = "refill"
    assert seen == list(range(51)) + list(range(51, 60))


def test_mutation_before_first_next(make):
    t = filled(make, range(10, 20))
    it = iter(t)
    t[5] = "first"
    del t[19]
    assert [k for k, _ in it] == [5] + list(range(10, 19))


def test_nested_iteration_with_mutation(make):
    t = filled(make, range(50))
    outer = []
    for k, _ in t:
        outer.append(k)
        inner = [j for j, _ in t]
        assert inner == t.keys()
        if k % 5 == 0:
            t[k + 0.5] = "x"
    assert_strictly_ascending(outer)
    assert set(range(50)) <= set(outer)


# --------------------------------------------------------------------------
# Reference counts.

rc = sys.getrefcount


def _fresh_keys(kind, n):
    if kind == "int":
        return [int(str(10**9 + 7 * i)) for i in range(n)]
    if kind == "bigint":
        return [int(str(2**80 + i)) for i in range(n)]
    if kind == "float":
        return [float(str(1.5 + i)) for i in range(n)]
    if kind == "str":
        return ["".join(["key-", str(1000 + i), "-\u00e9"]) for i in range(n)]
    if kind == "tuple":
        return [tuple([i, str(i)]) for i in range(n)]
    if kind == "datetime":
        base = datetime.datetime(2026, 1, 1)
        return [base + datetime.timedelta(microseconds=i) for i in range(n)]
    if kind == "object":
        return [Rank(i) for i in range(n)]
    raise AssertionError(kind)


def _remove_three_ways(t, keys, n):
    for i in range(n // 4):
        assert t.remove(keys[i]) is not None
    for i in range(n // 4, n // 2):
        del t[keys[i]]
    for _ in range(n // 4):
        assert t.pop_min() is not None


KEY_KINDS = ["int", "bigint", "float", "str", "tuple", "datetime", "object"]


def _counts(objs):
    return [rc(o) for o in objs]


def _put_all(t, keys, vals):
    """Inserts pairwise without leaving loop variables in the caller's frame;
    returns [None for a new key, "old" for a replaced one]."""
    return [None if t.insert(k, v) is None else "old" for k, v in zip(keys, vals)]


@pytest.mark.parametrize("kind", KEY_KINDS)
@pytest.mark.parametrize("n", [8, 400])
def test_refcounts(make, kind, n):
    keys = _fresh_keys(kind, n)
    vals = [Val(i) for i in range(n)]
    vals2 = [Val(("second", i)) for i in range(n)]
    base_k, base_v, base_v2 = _counts(keys), _counts(vals), _counts(vals2)

    t = make()
    assert _put_all(t, keys, vals) == [None] * n
    assert all(c > b for c, b in zip(_counts(keys), base_k))
    assert all(c > b for c, b in zip(_counts(vals), base_v))
    stored_k, stored_v = _counts(keys), _counts(vals)

    # Lookups and scans do not change any count.
    def lookups():
        for k in keys:
            assert k in t
            t.get(k)
            t.get(k, None)
            t[k]
            t.floor(k)
            t.ceiling(k)
        list(t)
        for _ in t:
            pass
        it = iter(t)
        next(it)
        del it
        t.keys(), t.values(), t.items()
        t.range(keys[0], keys[-1]), t.range(keys[0], keys[-1], reverse=True, limit=3)
        t.min(), t.max(), repr(t), len(t), t.is_empty()
        if isinstance(t, CSBTree):
            t.get_default(keys[0], None)
            t.setdefault(keys[0], vals2[0])

    lookups()
    assert _counts(keys) == stored_k
    assert _counts(vals) == stored_v
    assert _counts(vals2) == base_v2

    # A missing key: KeyError, no count changes on the probe afterwards.
    probe = _fresh_keys(kind, n + 1)[-1]
    base_probe = rc(probe)
    for _ in range(3):
        try:
            t[probe]
        except KeyError:
            pass
        try:
            del t[probe]
        except KeyError:
            pass
        assert t.remove(probe) is None
        assert t.get(probe) is None
    assert rc(probe) == base_probe

    # Replace the first half (insert) and second half (setitem).
    half = n // 2
    for i in range(n):
        if i < half:
            assert t.insert(keys[i], vals2[i]) is vals[i]
        else:
            t[keys[i]] = vals2[i]
    assert _counts(vals) == base_v, "replaced values must be released"
    assert all(c > b for c, b in zip(_counts(vals2), base_v2))
    assert _counts(keys) == stored_k, "replacing a value must not change its key's count"

    # Replace through an equal but distinct key object: exactly one of the two
    # key objects stays referenced.
    twins = _fresh_keys(kind, n)
    base_tw = _counts(twins)
    _put_all(t, twins, vals)
    ck, ct = _counts(keys), _counts(twins)
    for i in range(n):
        extra = (ck[i] - base_k[i]) + (ct[i] - base_tw[i])
        assert extra == stored_k[i] - base_k[i], (i, keys[i])
    _put_all(t, twins, vals2)
    assert _counts(vals) == base_v

    # remove / del / pop_min release keys and values.
    _remove_three_ways(t, keys, n)
    # What is left: keys[3n/4:] (every kind's list order is its sorted order).
    left = t.keys()
    assert len(left) == n - 3 * n // 4
    assert all(not (a < b) and not (b < a) for a, b in zip(left, keys[3 * n // 4 :]))
    del left
    gone = list(range(0, 3 * n // 4))
    ck, ct, cv2 = _counts(keys), _counts(twins), _counts(vals2)
    leaked_k = [keys[i] for i in gone if ck[i] != base_k[i]]
    leaked_k += [twins[i] for i in gone if ct[i] != base_tw[i]]
    leaked_v = [vals2[i] for i in gone if cv2[i] != base_v2[i]]
    assert not leaked_k, f"{len(leaked_k)} removed keys still referenced, e.g. {leaked_k[:3]}"
    assert not leaked_v, f"{len(leaked_v)} removed values still referenced, e.g. {leaked_v[:3]}"

    # clear releases everything.
    t.clear()
    assert _counts(keys) == base_k
    assert _counts(twins) == base_tw
    assert _counts(vals2) == base_v2

    # Destroying a non-empty container releases everything.
    _put_all(t, keys, vals)
    del t
    gc.collect()
    assert _counts(keys) == base_k
    assert _counts(vals) == base_v


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_refcounts_eventually_released(make, kind):
    """Weaker than test_refcounts: removed entries are freed at the latest
    when the container is destroyed (no permanent leak)."""
    keys = _fresh_keys(kind, 500)
    vals = [Val(i) for i in range(500)]
    base_k, base_v = _counts(keys), _counts(vals)
    t = make()
    _put_all(t, keys, vals)
    for i in range(0, len(keys), 2):
        del t[keys[i]]
    _put_all(t, keys, vals)
    t.clear()
    _put_all(t, keys, vals)
    del t
    gc.collect()
    assert _counts(keys) == base_k
    assert _counts(vals) == base_v


def _remove_all(t, keys):
    for k in keys:
        t.remove(k)


def test_removed_values_released_after_further_operations(make):
    """Bounded retention: whatever a container may defer, values removed
    earlier are released once a few thousand later operations have run."""
    vals = [Val(i) for i in range(100)]
    base = _counts(vals)
    t = make()
    _put_all(t, list(range(100)), vals)
    _remove_all(t, list(range(100)))
    for i in range(5000):
        t[1000 + i % 50] = i
        t.remove(1000 + (i * 7) % 50)
    assert _counts(vals) == base


def test_failed_operations_do_not_retain_arguments(make):
    t = filled(make, [Rank(i) for i in range(100)])
    bad_key, value = AlwaysRaises(), Val("v")
    bk, bv = rc(bad_key), rc(value)
    for _ in range(5):
        with pytest.raises(ValueError):
            t.insert(bad_key, value)
        with pytest.raises(ValueError):
            t[bad_key] = value
        with pytest.raises(ValueError):
            t.get(bad_key, value)
    str_key = "".join(["not", "comparable"])
    sk = rc(str_key)
    for _ in range(5):
        with pytest.raises(TypeError):
            t.insert(str_key, value)
    gc.collect()
    assert rc(bad_key) == bk
    assert rc(value) == bv
    assert rc(str_key) == sk
    assert len(t) == 100


@pytest.mark.parametrize("error", ["TypeError", "ValueError"])
def test_failed_inserts_do_not_leak_memory(make, error):
    t = filled(make, range(100))
    if error == "TypeError":
        key = "".join(["incomparable", " with int"])
    else:
        key = AlwaysRaises()
    exc = TypeError if error == "TypeError" else ValueError
    base_key = rc(key)
    for _ in range(1000):  # warm-up: allocator pools, exception machinery
        with pytest.raises(exc):
            t.insert(key, None)
    gc.collect()
    rss0 = _rss_bytes()
    for _ in range(100_000):
        try:
            t.insert(key, None)
        except exc:
            pass
    gc.collect()
    grown = _rss_bytes() - rss0
    assert rc(key) == base_key, f"each failed insert keeps a reference to the key ({rc(key) - base_key} extra)"
    assert grown < 8 * 1024 * 1024, f"100k failed inserts grew RSS by {grown >> 20} MiB"
    assert t.keys() == list(range(100))


def test_iteration_and_pop_min_refcounts(make):
    keys = _fresh_keys("object", 600)
    vals = [Val(i) for i in range(600)]
    base_k, base_v = _counts(keys), _counts(vals)
    t = make()
    _put_all(t, keys, vals)
    stored_k, stored_v = _counts(keys), _counts(vals)
    for _ in range(3):
        pairs = list(t)
        del pairs
        for k, v in t:
            pass
        del k, v
        it = iter(t)
        for _ in range(300):
            next(it)
        del it
    assert _counts(keys) == stored_k and _counts(vals) == stored_v
    popped = [t.pop_min() for _ in range(600)]
    assert [k for k, _ in popped] == keys
    del popped
    assert _counts(keys) == base_k and _counts(vals) == base_v
    t.clear()
    assert _counts(keys) == base_k and _counts(vals) == base_v


def test_container_refcount_with_iterators(make):
    t = filled(make, range(10))
    base = rc(t)
    its = [iter(t) for _ in range(5)]
    assert rc(t) > base
    for it in its:
        list(it)
    del its, it
    gc.collect()
    assert rc(t) == base


def test_reference_cycle_through_value_is_collected(make):
    """A container that (indirectly) contains itself must be collectable by
    the cyclic GC, like a dict would be."""

    class Holder:
        pass

    t = make()
    h = Holder()
    h.container = t
    t[1] = h
    probe = weakref.ref(h)
    del t, h
    gc.collect()
    assert probe() is None, "container <-> value cycle is never freed (no GC support)"


def test_reference_cycle_through_key_is_collected(make):
    t = make()
    k = Rank(1)
    k.container = t
    t[k] = "v"
    probe = weakref.ref(k)
    del t, k
    gc.collect()
    assert probe() is None, "container <-> key cycle is never freed (no GC support)"


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _drive_mixed_ops(t, data, key_space):
    """The loop of test_no_leak_million_mixed_operations (in its own frame so
    that no loop variable keeps a key or value alive)."""
    nk = len(key_space)
    n_ops = len(data) // 2
    insert, remove, get, rng_ = t.insert, t.remove, t.get, t.range
    i = 0
    for pos in range(0, 2 * n_ops, 2):
        i += 1
        k = key_space[data[pos] % nk]
        sel = data[pos + 1] & 0xF
        if sel < 5:
            insert(k, (i, "v"))
        elif sel < 8:
            remove(k)
        elif sel < 10:
            get(k)
        elif sel == 10:
            t[k] = [i]
        elif sel == 11:
            try:
                del t[k]
            except KeyError:
                pass
        elif sel == 12:
            rng_(k, k + 20, bool(i & 1), 5)
        elif sel == 13:
            if len(t):
                t.pop_min()
        elif sel == 14:
            t.floor(k)
            t.ceiling(k)
            k in t
        else:
            for _ in zip(range(3), t):
                pass
    return i


@pytest.mark.parametrize("maker", [pytest.param(CSBTree, id="CSBTree"), pytest.param(SkipList, id="SkipList")])
@pytest.mark.parametrize("with_fraction", [False, True], ids=["numbers", "numbers+fraction"])
def test_no_leak_million_mixed_operations(maker, with_fraction):
    n_ops = 1_000_000
    rng = random.Random(1234)
    # A small key space mixing native (int, float) and Python-compared keys.
    # (Fresh objects, not the small-int cache, so their refcounts are exact.)
    # All numbers: the hash index stays on (and restarts whenever the map
    # empties); with a Fraction among them it also turns off and on again.
    key_space = [10**6 + 7 * i for i in range(48)] + [10**6 + i + 0.5 for i in range(8)] + [2**70 + i for i in range(8)]
    if with_fraction:
        key_space.append(Fraction(3 * 10**6 + 1, 3))
    nk = len(key_space)
    data = rng.randbytes(2 * n_ops)
    base_keys = _counts(key_space)
    t = maker()
    _put_all(t, key_space, [(k,) for k in key_space])  # warm-up: every code path once
    list(t)
    t.range(0, 10, reverse=True, limit=3)
    t.clear()
    gc.collect()
    blocks0 = sys.getallocatedblocks()
    objs0 = len(gc.get_objects())
    rss0 = _rss_bytes()
    i = _drive_mixed_ops(t, data, key_space)
    assert i == n_ops
    assert len(t) <= nk
    items = t.items()
    assert [k for k, _ in items] == sorted(k for k, _ in items)
    del items
    t.clear()
    gc.collect()
    blocks1 = sys.getallocatedblocks()
    objs1 = len(gc.get_objects())
    rss1 = _rss_bytes()
    assert blocks1 - blocks0 < 200, f"{blocks1 - blocks0} Python memory blocks leaked over {n_ops} ops"
    assert objs1 - objs0 < 50, f"{objs1 - objs0} GC objects leaked"
    assert rss1 - rss0 < 24 * 1024 * 1024, f"RSS grew by {(rss1 - rss0) >> 20} MiB"
    del t
    gc.collect()
    assert _counts(key_space) == base_keys, "key references leaked"


# --------------------------------------------------------------------------
# Randomized differential tests against dict + sorted list.


class Oracle:
    def __init__(self):
        self.d = {}
        self.keys = []

    def insert(self, k, v):
        old = self.d.get(k)
        if k not in self.d:
            bisect.insort(self.keys, k)
        self.d[k] = v
        return old

    def remove(self, k):
        if k not in self.d:
            return None
        self.keys.pop(bisect.bisect_left(self.keys, k))
        return self.d.pop(k)

    def items(self):
        return [(k, self.d[k]) for k in self.keys]

    def range(self, lo, hi, reverse=False, limit=None):
        a = bisect.bisect_left(self.keys, lo)
        b = bisect.bisect_left(self.keys, hi)
        sel = self.keys[a:b] if a < b else []
        if reverse:
            sel = sel[::-1]
        if limit is not None:
            sel = sel[:limit]
        return [(k, self.d[k]) for k in sel]

    def floor(self, k):
        i = bisect.bisect_right(self.keys, k) - 1
        return (self.keys[i], self.d[self.keys[i]]) if i >= 0 else None

    def ceiling(self, k):
        i = bisect.bisect_left(self.keys, k)
        return (self.keys[i], self.d[self.keys[i]]) if i < len(self.keys) else None


def _int_key(rng):
    r = rng.random()
    if r < 0.8:
        return rng.randrange(-1500, 1500)
    if r < 0.9:
        return 2**63 + rng.randrange(-60, 60)
    return -(2**63) + rng.randrange(-60, 60)


_ALPHABET = ["a", "b", "z", "\x00", "é", "\u4e2d", "\ue000", "\uffff", "\U0001F600", "A"]


def _str_key(rng):
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(4)))


def _tuple_key(rng):
    # A str first (always), then 0-3 ints: every pair of keys is comparable.
    return (rng.choice(["", "x", "y"]),) + tuple(rng.randrange(10) for _ in range(rng.randrange(4)))


def run_differential(t, key_fn, n_ops, seed, check_every=997):
    rng = random.Random(seed)
    o = Oracle()
    is_tree = isinstance(t, CSBTree)
    for step in range(n_ops):
        ctx = (seed, step)
        k = key_fn(rng)
        v = (step, "value")
        r = rng.randrange(100)
        if r < 22:
            assert t.insert(k, v) == o.insert(k, v), ctx
        elif r < 30:
            t[k] = v
            o.insert(k, v)
        elif r < 40:
            assert t.remove(k) == o.remove(k), ctx
        elif r < 45:
            if k in o.d:
                del t[k]
                o.remove(k)
            else:
                with pytest.raises(KeyError):
                    del t[k]
        elif r < 52:
            assert t.get(k) == o.d.get(k), ctx
            assert t.get(k, "dflt") == o.d.get(k, "dflt"), ctx
        elif r < 57:
            assert (k in t) == (k in o.d), ctx
            if k in o.d:
                assert t[k] == o.d[k], ctx
            else:
                with pytest.raises(KeyError):
                    t[k]
        elif r < 65:
            k2 = key_fn(rng)
            lo, hi = (k, k2) if rng.random() < 0.8 else (k2, k)
            rev = rng.random() < 0.4
            limit = rng.choice([None, None, 0, 1, 3, 50])
            assert t.range(lo, hi, reverse=rev, limit=limit) == o.range(lo, hi, rev, limit), (ctx, lo, hi, rev, limit)
        elif r < 70:
            assert t.floor(k) == o.floor(k), ctx
            assert t.ceiling(k) == o.ceiling(k), ctx
        elif r < 73:
            if o.keys:
                assert t.min() == (o.keys[0], o.d[o.keys[0]]), ctx
                assert t.max() == (o.keys[-1], o.d[o.keys[-1]]), ctx
            else:
                with pytest.raises(KeyError):
                    t.min()
                with pytest.raises(KeyError):
                    t.max()
        elif r < 76:
            if o.keys:
                k0 = o.keys[0]
                assert t.pop_min() == (k0, o.remove(k0)), ctx
            else:
                with pytest.raises(KeyError):
                    t.pop_min()
        elif r < 78:
            assert len(t) == len(o.d), ctx
            assert t.is_empty() == (not o.d), ctx
            assert repr(t) == f"{type(t).__name__}(len={len(o.d)})", ctx
        elif r < 79 and rng.random() < 0.01:
            t.clear()
            o.d.clear()
            o.keys.clear()
        elif is_tree and r < 84:
            assert t.get_default(k, "dd") == o.d.get(k, "dd"), ctx
        elif is_tree and r < 89:
            if k in o.d:
                expect = o.d[k]
            else:
                o.insert(k, v)
                expect = v
            assert t.setdefault(k, v) == expect, ctx
        elif is_tree and r < 92:
            pairs = [(key_fn(rng), (step, i)) for i in range(rng.randrange(4))]
            if rng.random() < 0.5:
                t.update(pairs)
            else:
                t.update(dict(pairs))
            for pk, pv in pairs:
                o.insert(pk, pv)
        if step % check_every == 0 or step == n_ops - 1:
            items = o.items()
            assert t.items() == items, ctx
            assert list(t) == items, ctx
            assert t.keys() == o.keys, ctx
            assert t.values() == [v for _, v in items], ctx
            assert len(t) == len(items), ctx
    return o


@pytest.mark.parametrize("maker", RANDOM_MAKERS)
@pytest.mark.parametrize(
    "key_fn, n_ops, seed",
    [
        pytest.param(_int_key, 50_000, 11, id="int"),
        pytest.param(_str_key, 20_000, 12, id="str"),
        pytest.param(_tuple_key, 20_000, 13, id="tuple"),
    ],
)
def test_differential_against_dict(maker, key_fn, n_ops, seed):
    run_differential(maker(), key_fn, n_ops, seed=seed)


@pytest.mark.parametrize("maker", RANDOM_MAKERS)
@pytest.mark.parametrize("seed", range(4))
def test_differential_small_key_space(maker, seed):
    """Tiny key space: the container repeatedly empties and refills."""
    run_differential(maker(), lambda rng: rng.randrange(12), 5000, seed=seed, check_every=7)


def test_differential_mixed_numeric_keys(make):
    def key_fn(rng):
        r = rng.random()
        if r < 0.4:
            return rng.randrange(-50, 50)
        if r < 0.7:
            return rng.randrange(-100, 100) / 2
        if r < 0.8:
            return Fraction(rng.randrange(-300, 300), 3)
        if r < 0.9:
            return 2**64 + rng.randrange(5)
        return bool(rng.getrandbits(1))

    run_differential(make(), key_fn, 10_000, seed=99, check_every=101)


# --------------------------------------------------------------------------
# Threads.


def test_threads_insert_disjoint_ranges(cls):
    t = cls()
    per = 20_000

    def writer(w):
        def run():
            keys = list(range(w * per, (w + 1) * per))
            random.Random(w).shuffle(keys)
            for k in keys:
                assert t.insert(k, -k) is None

        return run

    run_threads([writer(w) for w in range(4)])
    assert len(t) == 4 * per
    assert t.items() == [(k, -k) for k in range(4 * per)]


def test_threads_two_readers_two_writers(cls):
    t = cls()
    n = 20_000
    for k in range(0, 2 * n, 2):  # even keys present from the start
        t[k] = k * 3
    done = threading.Event()
    reads = [0, 0]

    def readers_started():
        # The writers are fast enough to finish before a reader thread is
        # first scheduled; start them once both readers are reading.
        while min(reads) == 0:
            time.sleep(0.0001)

    def writer_insert():
        readers_started()
        for k in range(1, 2 * n, 2):
            t[k] = k * 3

    def writer_remove():
        readers_started()
        for k in range(0, 2 * n, 4):
            assert t.remove(k) == k * 3

    def reader(r):
        def run():
            rng = random.Random(r)
            while not done.is_set():
                k = rng.randrange(2 * n)
                v = t.get(k)
                assert v is None or v == k * 3, (k, v)
                if k % 4 == 2:
                    assert t[k] == k * 3  # never removed
                    assert k in t
                page = t.range(k, k + 50)
                ks = [a for a, _ in page]
                assert ks == sorted(set(ks)) and all(b == a * 3 for a, b in page)
                assert all(j in ks for j in range(k, min(k + 50, 2 * n)) if j % 4 == 2)
                f = t.floor(k)
                assert f is None or (f[0] <= k and f[1] == f[0] * 3)
                reads[r] += 1

        return run

    # `done` is set by whichever writer finishes last.
    remaining = [2]
    lock = threading.Lock()

    def counted(fn):
        def run():
            try:
                fn()
            finally:
                with lock:
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        done.set()

        return run

    run_threads([counted(writer_insert), counted(writer_remove), reader(0), reader(1)])
    assert reads[0] > 0 and reads[1] > 0
    expect = [(k, k * 3) for k in range(2 * n) if k % 4 != 0]
    assert t.items() == expect
    assert len(t) == len(expect)


def test_threads_iterate_while_inserting(cls):
    t = cls()
    n = 30_000
    for k in range(0, n, 2):
        t[k] = -k
    done = threading.Event()
    passes = []

    def inserter():
        try:
            for k in range(1, n, 2):
                t[k] = -k
        finally:
            done.set()

    def iterator():
        while True:
            finished = done.is_set()
            keys = []
            for k, v in t:
                assert v == -k
                keys.append(k)
            assert_strictly_ascending(keys)
            assert set(range(0, n, 2)) <= set(keys)
            passes.append(len(keys))
            if finished:
                break

    run_threads([inserter, iterator])
    assert passes[-1] == n
    assert t.keys() == list(range(n))


def test_threads_pop_min_each_key_once(cls):
    t = cls()
    n = 40_000
    for k in range(n):
        t[k] = k
    got = [[] for _ in range(4)]

    def popper(p):
        def run():
            while True:
                try:
                    k, v = t.pop_min()
                except KeyError:
                    return
                assert k == v
                got[p].append(k)

        return run

    run_threads([popper(p) for p in range(4)])
    for g in got:
        assert g == sorted(g)
    assert sorted(k for g in got for k in g) == list(range(n))
    assert len(t) == 0


def test_threads_contended_small_key_space(cls):
    t = cls()
    values = [Val(i) for i in range(64)]
    base_v = _counts(values)

    def worker(w):
        def run():
            rng = random.Random(w)
            for i in range(20_000):
                k = rng.randrange(64)
                r = rng.random()
                if r < 0.4:
                    t[k] = values[k]
                elif r < 0.7:
                    v = t.remove(k)
                    assert v is None or v is values[k]
                else:
                    v = t.get(k)
                    assert v is None or v is values[k]

        return run

    run_threads([worker(w) for w in range(4)])
    items = t.items()
    assert [k for k, _ in items] == sorted(k for k, _ in items)
    assert all(v is values[k] for k, v in items)
    assert len(t) == len(items)
    t.clear()
    del items
    gc.collect()
    assert _counts(values) == base_v


# --------------------------------------------------------------------------
# Same results as KohakuVault's classes (on the behaviour they share).


def _same_ops(ours, theirs, seed, n_ops, is_tree):
    """KohakuVault's SkipList does not replace the value of an existing key
    (insert returns the old value and keeps it), unlike its CSBTree and the
    AmberVault spec; for SkipList, existing keys are therefore not re-inserted.
    Its SkipList also panics or crashes on lookups after removals (kohakuvault
    1.1.0: "index out of bounds" in skiplist/core.rs, or a segfault), so for
    SkipList only inserts and read operations are compared."""
    rng = random.Random(seed)
    for step in range(n_ops):
        ctx = (seed, step)
        k = rng.randrange(-300, 300)
        v = rng.randrange(10**6)
        r = rng.randrange(100)
        if not is_tree and (40 <= r < 55 or 70 <= r < 74 or 87 <= r < 88):
            r = 60  # a lookup instead of remove / del / clear
        if r < 40 and not is_tree and k in ours:
            assert k in theirs, ctx
            assert ours[k] == theirs[k], ctx
        elif r < 30:
            assert ours.insert(k, v) == theirs.insert(k, v), ctx
        elif r < 40:
            ours[k] = v
            theirs[k] = v
        elif r < 55:
            assert ours.remove(k) == theirs.remove(k), ctx
        elif r < 65:
            assert ours.get(k) == theirs.get(k), ctx
            assert (k in ours) == (k in theirs), ctx
        elif r < 70:
            a = b = None
            try:
                a = ours[k]
            except KeyError:
                a = KeyError
            try:
                b = theirs[k]
            except KeyError:
                b = KeyError
            assert a == b, ctx
        elif r < 74:
            a = b = None
            try:
                del ours[k]
            except KeyError:
                a = KeyError
            try:
                del theirs[k]
            except KeyError:
                b = KeyError
            assert a == b, ctx
        elif r < 84:
            hi = k + rng.randrange(-20, 100)
            assert ours.range(k, hi) == theirs.range(k, hi), ctx
        elif r < 87:
            assert len(ours) == len(theirs), ctx
            assert ours.is_empty() == theirs.is_empty(), ctx
            assert repr(ours) == repr(theirs), ctx
        elif r < 88 and rng.random() < 0.1:
            ours.clear()
            theirs.clear()
        elif is_tree and r < 93:
            assert ours.get_default(k, "d") == theirs.get_default(k, "d"), ctx
            assert ours.setdefault(k, v) == theirs.setdefault(k, v), ctx
        elif is_tree and r < 96:
            pairs = [(rng.randrange(-300, 300), i) for i in range(rng.randrange(5))]
            ours.update(pairs)
            theirs.update(pairs)
        if step % 500 == 0 or step == n_ops - 1:
            assert ours.items() == theirs.items(), ctx
            assert list(ours) == list(theirs), ctx
            assert ours.keys() == theirs.keys(), ctx
            assert ours.values() == theirs.values(), ctx


@pytest.mark.parametrize("name", ["CSBTree", "SkipList"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_results_as_kohakuvault(name, seed):
    kohakuvault = pytest.importorskip("kohakuvault")
    ours_cls = {"CSBTree": CSBTree, "SkipList": SkipList}[name]
    theirs_cls = getattr(kohakuvault, name)
    _same_ops(ours_cls(), theirs_cls(), seed, 8000, name == "CSBTree")


def test_same_results_as_kohakuvault_dataclass_and_bytes_keys():
    kohakuvault = pytest.importorskip("kohakuvault")
    for name in ("CSBTree", "SkipList"):
        ours, theirs = {"CSBTree": CSBTree, "SkipList": SkipList}[name](), getattr(kohakuvault, name)()
        rng = random.Random(5)
        for i in range(2000):
            k = Point(rng.randrange(30), rng.choice("abc"))
            if k not in ours:  # KohakuVault's SkipList does not replace values
                assert ours.insert(k, i) == theirs.insert(k, i)
        assert ours.items() == theirs.items()
        ours2, theirs2 = {"CSBTree": CSBTree, "SkipList": SkipList}[name](), getattr(kohakuvault, name)()
        for i in range(2000):
            b = bytes(rng.randrange(256) for _ in range(rng.randrange(3)))
            if b not in ours2:
                assert ours2.insert(b, i) == theirs2.insert(b, i)
        assert ours2.items() == theirs2.items()
        assert ours2.range(b"\x10", b"\x80") == theirs2.range(b"\x10", b"\x80")


# --------------------------------------------------------------------------
# Re-entrant user code (run in a child process: a crash must fail one test,
# not the whole run).

_HOSTILE_PRELUDE = r"""
import faulthandler, gc, sys
faulthandler.enable()
from ambervault import CSBTree, SkipList

def check(t):
    items = t.items()
    keys = [k for k, _ in items]
    assert all(a < b for a, b in zip(keys, keys[1:])), keys
    assert len(t) == len(items) == len(list(t)), (len(t), len(items))

def attempt(fn):
    try:
        fn()
    except Exception as exc:  # an exception is an acceptable outcome
        return exc
    return None

make = {"CSBTree": CSBTree, "CSBTree3": lambda: CSBTree(3), "SkipList": SkipList}[sys.argv[1]]
"""

_LT_MUTATES = r"""
mode = sys.argv[2]
t = make()
armed = [False]

class K:
    def __init__(self, v): self.v = v
    def __lt__(self, o):
        if armed[0]:
            armed[0] = False
            if mode == "clear":
                t.clear()
            elif mode == "insert":
                for j in range(300): t[K(10_000 + j)] = j  # splits / new nodes
            else:
                for j in range(0, 300, 2): t.remove(K(j))  # merges / freed nodes
        return self.v < o.v
    def __gt__(self, o): return o.__lt__(self)
    def __repr__(self): return f"K({self.v})"

ops = {
    "insert": lambda k: t.insert(k, "x"),
    "setitem": lambda k: t.__setitem__(k, "x"),
    "get": lambda k: t.get(k),
    "contains": lambda k: k in t,
    "getitem": lambda k: t[k],
    "remove": lambda k: t.remove(k),
    "delitem": lambda k: t.__delitem__(k),
    "floor": lambda k: t.floor(k),
    "ceiling": lambda k: t.ceiling(k),
    "range": lambda k: t.range(k, K(10**9)),
    "range-end": lambda k: t.range(K(-1), k),
    "range-reverse": lambda k: t.range(K(-1), k, reverse=True),
}
if isinstance(t, CSBTree):
    ops["setdefault"] = lambda k: t.setdefault(k, "x")
    ops["get_default"] = lambda k: t.get_default(k, "x")
    ops["update"] = lambda k: t.update([(k, "x")])
for name, op in ops.items():
    for probe in (150, 150.5, 0, 299.5):
        t.clear()
        for i in range(300): t[K(i)] = i
        print(name, probe, flush=True)
        armed[0] = True
        attempt(lambda: op(K(probe)))
        armed[0] = False
        check(t)
"""

_HOSTILE = {
    "lt-clears": _LT_MUTATES,
    "lt-inserts": _LT_MUTATES,
    "lt-removes": _LT_MUTATES,
    "value-del-mutates": r"""
t = make()
class V:
    def __init__(self, i): self.i = i
    def __del__(self):
        try:
            t[10_000 + self.i] = "from __del__"
            t.remove(self.i + 1)
        except Exception:
            pass
for i in range(300): t[i] = V(i)
for i in range(0, 300, 3): attempt(lambda: t.__setitem__(i, "replaced"))
check(t)
for i in range(1, 300, 3): attempt(lambda: t.remove(i))
check(t)
attempt(lambda: t.pop_min())
check(t)
for i in range(300): t[20_000 + i] = V(i)
attempt(t.clear)
check(t)
attempt(t.clear)
check(t)
""",
    "key-del-mutates": r"""
t = make()
class K:
    def __init__(self, v): self.v = v
    def __lt__(self, o): return self.v < o.v
    def __gt__(self, o): return self.v > o.v
    def __del__(self):
        try:
            if self.v < 5000 and self.v == int(self.v):
                t[K(self.v + 0.5)] = "from key __del__"
        except Exception:
            pass
for i in range(300): t[K(i * 10)] = i
for i in range(0, 300, 2): attempt(lambda: t.remove(K(i * 10)))
check(t)
attempt(t.clear)
check(t)
""",
    "iterate-and-destroy": r"""
t = make()
for i in range(1000): t[i] = [i]
it = iter(t)
next(it)
del t
gc.collect()
assert len(list(it)) == 999
""",
}


@pytest.mark.parametrize("maker", ["CSBTree", "CSBTree3", "SkipList"])
@pytest.mark.parametrize("scenario", sorted(_HOSTILE))
def test_reentrant_user_code_does_not_crash(maker, scenario):
    """A key's __lt__ (or a value's / key's __del__) that modifies the same
    container while an operation is running: the operation may raise, but
    the process must not crash or hang and the container must stay
    consistent. (The last line printed before a crash names the operation.)"""
    code = _HOSTILE_PRELUDE + _HOSTILE[scenario] + "\nprint('done')\n"
    mode = scenario.split("-")[1] if scenario.startswith("lt-") else ""
    proc = run_python(code, maker, mode.rstrip("s"), timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("done"), (
        f"exit {proc.returncode}\nstdout: {proc.stdout[-300:]}\nstderr: {proc.stderr[-3000:]}"
    )
