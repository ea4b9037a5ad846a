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
