"""The hash index of CSBTree and SkipList (python/bindings/hash_index.h).

While every key of a map belongs to one class of built-in types whose `<`,
`==` and hash agree (numbers, str, bytes, naive or fixed-offset datetimes,
tuples of those), get / [] / in are answered by a dict kept beside the map.
The index must never change an answer: every test here compares a map with
the index against the same map without it (hash_index=False), which gives
exactly the pre-index behaviour, or against a dict.
"""

import datetime
import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from ambervault import CSBTree, SkipList

UTC = datetime.timezone.utc
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))

MAKERS = [
    pytest.param(lambda **kw: CSBTree(**kw), id="CSBTree"),
    pytest.param(lambda **kw: CSBTree(order=3, **kw), id="CSBTree-order3"),
    pytest.param(lambda **kw: SkipList(**kw), id="SkipList"),
]


@pytest.fixture(params=MAKERS)
def make(request):
    return request.param


def _zone():
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Berlin")
    except Exception:  # no tz database on this machine
        return None


class StrSub(str):
    pass


# Key families whose every key shares one class: the index turns on.
INDEXED = {
    "int": lambda i: i * 7919 % 10007,
    "float": lambda i: i / 3,
    "int-float-bool": lambda i: [i, i + 0.5, bool(i % 2)][i % 3],
    "big-int": lambda i: 2**70 + i,
    "str": lambda i: f"/data/{i * 31 % 997}/x",
    "non-ascii-str": lambda i: f"ключ-{i}-é",
    "bytes": lambda i: bytes([i % 256, i // 256]) + b"\x00" * (i % 3),
    "naive-datetime": lambda i: datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i * 37),
    "utc-datetime": lambda i: datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(minutes=i),
    "offset-datetimes": lambda i: datetime.datetime(2024, 1, 1, tzinfo=[UTC, PLUS2][i % 2])
    + datetime.timedelta(minutes=i),
    "tuple-int-int": lambda i: (i % 10, i),
    "tuple-str-datetime": lambda i: (f"run{i % 5}", datetime.datetime(2024, 1, 1) + datetime.timedelta(hours=i)),
    "empty-tuple-and-nothing-else": lambda i: (),
}

# Key families the index must stay off for (no class, or several classes).
NOT_INDEXED = {
    "str-subclass": lambda i: StrSub(f"k{i}"),
    "fraction": lambda i: Fraction(i, 3),
    "nan-among-floats": lambda i: math.nan if i == 5 else float(i),
    "list": lambda i: [i, i],
    "tuple-with-list": lambda i: (i, [i]),
    "long-tuple": lambda i: tuple(range(i, i + 13)),
    "tuples-of-two-lengths": lambda i: (i,) if i % 2 else (i, 0),
    "naive-and-aware-never-mixed-but-int-and-str-tuple": lambda i: (i, "a") if i % 2 else (i, b"a"),
}


def _fill(t, key_fn, n=200):
    keys = [key_fn(i) for i in range(n)]
    for i, k in enumerate(keys):
        t[k] = i
    return keys


@pytest.mark.parametrize("family", sorted(INDEXED))
def test_index_turns_on_and_answers_like_the_map(make, family):
    t, plain = make(), make(hash_index=False)
    keys = _fill(t, INDEXED[family])
    _fill(plain, INDEXED[family])
    assert t.hash_index_active is (len(t) > 0)
    assert not plain.hash_index_active
    assert t.items() == plain.items()
    probes = keys + [INDEXED[family](i) for i in range(200, 260)]
    for k in probes:
        assert t.get(k, "missing") == plain.get(k, "missing")
        assert (k in t) == (k in plain)
        try:
            expect = plain[k]
        except KeyError:
            with pytest.raises(KeyError):
                t[k]
        else:
            assert t[k] == expect


@pytest.mark.parametrize("family", sorted(NOT_INDEXED))
def test_index_stays_off_and_answers_like_the_map(make, family):
    t, plain = make(), make(hash_index=False)
    try:
        keys = _fill(t, NOT_INDEXED[family])
    except TypeError:  # keys of the family cannot all be ordered together
        with pytest.raises(TypeError):
            _fill(plain, NOT_INDEXED[family])
        assert not t.hash_index_active
        return
    assert not t.hash_index_active
    if family.startswith("nan"):
        return  # NaN is "equal" to every key: which one it replaces is arbitrary
    _fill(plain, NOT_INDEXED[family])
    assert t.items() == plain.items()
    for k in keys:
        assert t.get(k) == plain.get(k)
        assert (k in t) == (k in plain)


def test_zoneinfo_datetimes_are_not_indexed(make):
    zone = _zone()
    if zone is None:
        pytest.skip("no time zone database")
    t = make()
    for i in range(50):
        t[datetime.datetime(2024, 3, 31, 0, tzinfo=zone) + datetime.timedelta(hours=i)] = i
    assert not t.hash_index_active
    assert t[datetime.datetime(2024, 3, 31, 1, tzinfo=zone)] == 1


def test_hash_index_false_never_indexes(make):
    t = make(hash_index=False)
    _fill(t, INDEXED["int"])
    assert not t.hash_index_active
    assert t[INDEXED["int"](3)] == 3


def test_equal_numbers_are_one_key_through_the_index(make):
    t = make()
    t[1] = "one"
    t[2**64] = "big"
    t[0] = "zero"
    assert t.hash_index_active
    assert t[1.0] == "one" and t[True] == "one" and t.get(1.0) == "one" and 1.0 in t
    assert t[float(2**64)] == "big"
    assert t[-0.0] == "zero" and t[False] == "zero"
    assert t.get(1.5) is None and 1.5 not in t
    t[1.0] = "uno"  # replaces the value of key 1 (the stored key object stays 1)
    assert len(t) == 3 and t[1] == "uno" and t.keys()[1] == 1 and type(t.keys()[1]) is int
    assert t.remove(True) == "uno" and 1 not in t and len(t) == 2
    assert t.hash_index_active


def test_same_instant_in_two_offsets_is_one_key(make):
    t = make()
    noon_utc = datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)
    t[noon_utc] = "noon"
    two_pm_plus2 = datetime.datetime(2024, 1, 1, 14, tzinfo=PLUS2)
    assert t.hash_index_active
    assert t[two_pm_plus2] == "noon" and two_pm_plus2 in t
    t[two_pm_plus2] = "same instant"
    assert len(t) == 1 and t[noon_utc] == "same instant"


def test_incomparable_lookups_still_raise_typeerror(make):
    t = make()
    for i in range(100):
        t[i] = i
    assert t.hash_index_active
    for op in (lambda: t.get("a"), lambda: t["a"], lambda: "a" in t, lambda: t.get(b"x")):
        with pytest.raises(TypeError):
            op()
    naive = make()
    naive[datetime.datetime(2024, 1, 1)] = 1
    with pytest.raises(TypeError):
        naive.get(datetime.datetime(2024, 1, 1, tzinfo=UTC))


def test_failed_insert_and_remove_keep_the_index(make):
    """An incomparable key's TypeError leaves the map unchanged, and the
    index with it (it is only suspended while the change runs)."""
    t = make()
    for i in range(100):
        t[i] = i
    with pytest.raises(TypeError):
        t["a"] = 1
    assert t.hash_index_active
    with pytest.raises(TypeError):
        del t["a"]
    with pytest.raises(TypeError):
        t.remove(b"a")
    assert t.hash_index_active
    assert t.remove(Fraction(1, 3)) is None  # compares fine, finds nothing
    assert t.hash_index_active and len(t) == 100 and t[50] == 50


def test_foreign_key_turns_the_index_off_until_the_map_empties(make):
    t = make()
    for i in range(10):
        t[i] = i
    t[Fraction(1, 2)] = "half"  # comparable with ints, but not of their class
    assert not t.hash_index_active
    assert t[Fraction(1, 2)] == "half" and t[3] == 3 and t[0.5] == "half"
    del t[Fraction(1, 2)]
    assert not t.hash_index_active  # not empty yet: stays off
    for i in range(10):
        del t[i]
    t["a"] = 1  # empty again: the next key fixes a new class
    assert t.hash_index_active and t["a"] == 1
    t.clear()
    t[b"x"] = 2
    assert t.hash_index_active and t[b"x"] == 2
    assert t.pop_min() == (b"x", 2)
    t[(1, "a")] = 3
    assert t.hash_index_active and t[(1, "a")] == 3


class EqualToAll:
    """Equal to every key under `<` (never less, never greater)."""

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False


def test_remove_by_a_key_equal_only_under_lt(make):
    """A user key that `<` finds equal to a stored int, which a dict could
    not find: the map removes the stored entry and the index turns off, so
    no later lookup sees the removed key."""
    t = make()
    for i in range(20):
        t[i] = i
    gone = t.remove(EqualToAll())  # which entry is "equal" depends on the map's shape
    assert gone in range(20)
    assert not t.hash_index_active
    assert t.items() == [(i, i) for i in range(20) if i != gone]
    for i in range(20):
        assert t.get(i) == (None if i == gone else i)
        assert (i in t) == (i != gone)


def _key(rng, phase):
    """Keys drawn from a few classes, so maps switch the index on and off."""
    r = rng.random()
    if phase == 0:
        return rng.randrange(40) if r < 0.9 else rng.randrange(40) + 0.5
    if phase == 1:
        return f"k{rng.randrange(40)}"
    if phase == 2:
        if r < 0.05:
            return Fraction(rng.randrange(80), 2)
        if r < 0.08:
            return Decimal(rng.randrange(80)) / 4
        return rng.randrange(40)
    if phase == 3:
        return (rng.randrange(5), f"s{rng.randrange(8)}") if r < 0.95 else (rng.randrange(5),)
    return rng.choice([rng.randrange(40), f"k{rng.randrange(40)}", b"b", None])


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as exc:  # the exception type is part of the answer
        return ("raised", type(exc))


@pytest.mark.parametrize("seed", range(6))
def test_random_operations_match_the_map_without_index(make, seed):
    rng = random.Random(seed)
    t, plain = make(), make(hash_index=False)
    for step in range(6000):
        phase = (step // 1000) % 5
        k = _key(rng, phase)
        op = rng.randrange(10)
        if op < 4:
            v = (step, k)
            got = _outcome(lambda: t.insert(k, v))
            exp = _outcome(lambda: plain.insert(k, v))
        elif op < 6:
            got = _outcome(lambda: t.remove(k))
            exp = _outcome(lambda: plain.remove(k))
        elif op == 6:
            got = _outcome(lambda: t[k])
            exp = _outcome(lambda: plain[k])
        elif op == 7:
            got = _outcome(lambda: k in t)
            exp = _outcome(lambda: k in plain)
        elif op == 8:
            got = _outcome(lambda: t.get(k, "d"))
            exp = _outcome(lambda: plain.get(k, "d"))
        else:
            if rng.random() < 0.05:
                t.clear()
                plain.clear()
            got = _outcome(lambda: t.pop_min() if len(t) and rng.random() < 0.3 else None)
            exp = got if got == ("ok", None) else _outcome(lambda: plain.pop_min())
        assert repr(got) == repr(exp), (step, k, got, exp)
        if step % 250 == 0:
            assert repr(t.items()) == repr(plain.items()), step
    assert repr(t.items()) == repr(plain.items())


def test_index_against_dict_under_churn(make):
    """Many inserts, overwrites and deletes of one class: the index stays on
    and agrees with a dict throughout."""
    rng = random.Random(7)
    t, d = make(), {}
    for step in range(30000):
        k = rng.randrange(3000)
        if rng.random() < 0.6:
            t[k] = d[k] = step
        elif k in d:
            assert t.remove(k) == d.pop(k)
        else:
            assert t.remove(k) is None
        if step % 97 == 0:
            probe = rng.randrange(3100)
            assert t.get(probe) == d.get(probe)
    assert t.hash_index_active == bool(d)
    assert dict(t.items()) == d
    for k in range(3100):
        assert t.get(k) == d.get(k)


def test_values_with_del_that_read_the_map(make):
    """A value's __del__ that reads the map when the value is replaced or
    removed sees the map and its index agree."""
    t = make()
    seen = []

    class V:
        def __init__(self, i):
            self.i = i

        def __del__(self):
            try:
                seen.append((self.i, t.get(self.i), self.i in t))
            except RuntimeError:
                seen.append((self.i, "busy"))

    for i in range(50):
        t[i] = V(i)
    for i in range(0, 50, 2):
        t[i] = "replaced"
    for i in range(1, 50, 2):
        del t[i]
    for i, *rest in seen:
        if rest != ["busy"]:
            got, present = rest
            assert (got, present) in (("replaced", True), (None, False)), (i, rest)
