"""Promises of docs/durability.md that are not covered by the stress harnesses:
the durability option, and fork()."""

from __future__ import annotations

import os

import pytest

import ambervault
from ambervault import ColumnVault, KVault

from conftest import run_python


@pytest.mark.parametrize("cls", [KVault, ColumnVault])
def test_durability_option(tmp_path, cls):
    for level in ("normal", "full"):
        v = cls(str(tmp_path / f"{level}.db"), durability=level)
        v.close()
    with pytest.raises(ambervault.InvalidArgument):
        cls(str(tmp_path / "x.db"), durability="paranoid")
    with pytest.raises(ambervault.InvalidArgument):
        cls(str(tmp_path / "y.db"), synchronous="sometimes")


_FORK = r"""
import os, sys, ambervault
path = sys.argv[1]
kv = ambervault.KVault(path)
cv = ambervault.ColumnVault(kv)
col = cv.ensure("c", "i64")
kv["before"] = b"1"; col.append(1)
pid = os.fork()
if pid == 0:
    code = 0
    for name, fn in [("kv get", lambda: kv["before"]), ("kv put", lambda: kv.put("child", b"x")),
                     ("col len", lambda: len(col)), ("col append", lambda: col.append(2))]:
        try:
            fn()
            print("child", name, "worked"); code = 1
        except ambervault.NotSupportedError:
            pass
    # A vault opened in the child works.
    with ambervault.KVault(path) as own:
        own["child"] = b"ok"
    with ambervault.ColumnVault(path) as own:
        own["c"].append(3)
    os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
# The parent's handles are unharmed and see the child's writes.
assert kv["child"] == b"ok", kv.get("child")
assert col[:] == [1, 3], col[:]
kv["after"] = b"2"; col.append(4)
cv.close(); kv.close()
import sqlite3
con = sqlite3.connect(path)
assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_vaults_refuse_to_work_in_a_forked_child(tmp_path):
    res = run_python(_FORK, tmp_path / "f.db", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")


def test_cache_block_failing_at_exit_leaves_no_cache_behind(tmp_path, write_lock):
    # The exit flush of `with kv.cache()` / `col.cache()` meets a locked file:
    # it raises and keeps the pending data, but later plain writes must be
    # written at once (and after the leftovers), not cached silently.
    path = str(tmp_path / "c.db")
    kv = KVault(path, busy_timeout=0.05, retries=1)
    cv = ColumnVault(kv, busy_timeout=0.05, retries=1)
    col = cv.ensure("c", "i64")
    lock = write_lock(path).acquire()
    with pytest.raises(ambervault.DatabaseBusy):
        with kv.cache():
            kv["pending"] = b"1"
    with pytest.raises(ambervault.DatabaseBusy):
        with col.cache():
            col.append(1)
    assert not kv.cache_enabled() and col._cache_options() is None
    assert kv["pending"] == b"1" and col[:] == [1]  # still readable
    # A plain write cannot be acknowledged while the leftovers cannot be written.
    with pytest.raises(ambervault.DatabaseBusy):
        kv["plain"] = b"2"
    with pytest.raises(ambervault.DatabaseBusy):
        col.append(2)
    lock.release()
    kv["plain"] = b"2"
    col.append(2)
    with KVault(path) as other:  # written, in order, and visible elsewhere
        assert other["pending"] == b"1" and other["plain"] == b"2"
        with ColumnVault(other) as ocv:
            assert ocv["c"][:] == [1, 2]
    assert not kv.cache_enabled() and col._cache_options() is None
    cv.close()
    kv.close()


_FORK_EXIT = r"""
import gc, os, sys, ambervault
path = sys.argv[1]
kv = ambervault.KVault(path)
cv = ambervault.ColumnVault(kv)
col = cv.ensure("c", "i64")
col.extend([1, 2]); kv["k"] = b"v"
assert col[:] == [1, 2] and kv["k"] == b"v"  # reads: the lease reaper threads run
kv.enable_cache(flush_interval=0.2); cv.enable_cache(flush_interval=0.2)  # flusher threads
kv["cached"] = b"c"; col.append(3)
pid = os.fork()
if pid == 0:
    # The handles are dropped and the interpreter exits normally: their
    # destructors run here, where the parent's threads do not exist.
    del col, cv, kv
    gc.collect()
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
kv["after"] = b"a"; col.append(4)
cv.close(); kv.close()
with ambervault.KVault(path) as check:
    assert check["cached"] == b"c" and check["after"] == b"a"
with ambervault.ColumnVault(path) as check:
    assert check["c"][:] == [1, 2, 3, 4], check["c"][:]
import sqlite3
con = sqlite3.connect(path)
assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_forked_child_dropping_vaults_exits_and_leaves_the_parent_working(tmp_path):
    # A ColumnVault destroyed in a forked child used to join the parent's
    # threads (which do not exist there) and hang forever.
    res = run_python(_FORK_EXIT, tmp_path / "f.db", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith("ok")
