"""Foreign and damaged files: a clear, typed error at open or on access, never
a crash or a hang, and never a silent change to another application's file.

Each case runs in a subprocess, so a crash (a signal) fails the test with its
return code instead of taking pytest down.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from conftest import run_python

# Opens `path` with KVault and ColumnVault and exercises both; prints one
# JSON line per step: [step, "ok" | exception class name, detail].
_PROBE = r"""
import json, sys, ambervault
path = sys.argv[1]
def step(name, fn):
    try:
        out = fn()
        print(json.dumps([name, "ok", repr(out)[:200]]), flush=True)
        return out
    except Exception as e:
        print(json.dumps([name, type(e).__name__, str(e)[:300]]), flush=True)
        return None
kv = step("kv_open", lambda: ambervault.KVault(path))
if kv is not None:
    step("kv_len", lambda: len(kv))
    step("kv_items", lambda: sum(1 for _ in kv.items()))
    step("kv_get", lambda: kv.get("k0"))
    step("kv_put", lambda: kv.put("new", b"x"))
    step("kv_close", kv.close)
cv = step("cv_open", lambda: ambervault.ColumnVault(path))
if cv is not None:
    step("cv_list", cv.list_columns)
    col = step("cv_get", lambda: cv["c"])
    if col is not None:
        step("cv_read", lambda: col[:])
        step("cv_append", lambda: col.append(1))
    step("cv_close", cv.close)
"""

TYPED = {
    "ok",
    "CorruptionError",
    "IoError",
    "InvalidArgument",
    "NotFound",
    "ReadOnlyError",
    "NotSupportedError",
    "KohakuVaultError",
}


def probe(path):
    res = run_python(_PROBE, path, timeout=60)
    assert res.returncode == 0, f"probe crashed ({res.returncode}): {res.stderr[-2000:]}"
    steps = [json.loads(line) for line in res.stdout.splitlines()]
    for name, outcome, detail in steps:
        assert outcome in TYPED, f"{name}: untyped {outcome}: {detail}"
        assert "Internal" not in detail, f"{name}: an internal error is not a clear one: {detail}"
    return {name: (outcome, detail) for name, outcome, detail in steps}


def make_vault(path, n=200, value_size=3000):
    import ambervault

    with ambervault.KVault(path) as kv:
        for i in range(n):
            kv[f"k{i}"] = bytes([i % 251]) * value_size
        cv = ambervault.ColumnVault(kv)
        cv.create_column("c", "i64").extend(range(5000))
        cv.close()
        kv.checkpoint()
    # Everything in the main file: no WAL left to mask the damage.
    for suffix in ("-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def test_empty_file_is_a_new_empty_database(tmp_path):
    path = str(tmp_path / "empty.db")
    open(path, "wb").close()
    steps = probe(path)
    assert steps["kv_open"][0] == "ok" and steps["kv_len"] == ("ok", "0")
    assert steps["cv_get"][0] == "NotFound"


def test_text_file_is_refused_at_open(tmp_path):
    path = str(tmp_path / "notes.db")
    with open(path, "w") as f:
        f.write("these are not the bytes you are looking for\n" * 200)
    before = open(path, "rb").read()
    steps = probe(path)
    assert steps["kv_open"][0] == "CorruptionError"
    assert steps["cv_open"][0] == "CorruptionError"
    assert open(path, "rb").read() == before  # untouched


@pytest.mark.parametrize("keep", [0.5, 0.1, 100])
def test_truncated_vault(tmp_path, keep):
    path = str(tmp_path / "trunc.db")
    make_vault(path)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep) if keep < 1 else keep)
    steps = probe(path)
    # Either refused at open, or every access that needs a lost page fails
    # with CorruptionError; nothing crashes.
    failures = {name: out for name, (out, _) in steps.items() if out != "ok"}
    assert failures, "a truncated vault cannot read back everything"
    assert set(failures.values()) <= {"CorruptionError", "IoError"}, steps


@pytest.mark.parametrize("seed", range(6))
def test_damaged_pages(tmp_path, seed):
    import random

    path = str(tmp_path / "damaged.db")
    make_vault(path)
    size = os.path.getsize(path)
    page = 32768
    rng = random.Random(seed)
    with open(path, "r+b") as f:
        # Scribble over the headers of a few pages after the first.
        for _ in range(4):
            p = rng.randrange(1, size // page)
            f.seek(p * page)
            f.write(bytes(rng.randrange(256) for _ in range(64)))
    probe(path)  # typed errors or wrong-but-safe data; never a crash


def test_file_of_another_application_is_not_modified(tmp_path):
    path = str(tmp_path / "app.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, data TEXT)")
    con.execute("CREATE TABLE col_meta (x)")
    con.execute("INSERT INTO kv (data) VALUES ('theirs')")
    con.commit()
    con.close()
    steps = probe(path)
    assert steps["kv_open"][0] == "InvalidArgument", steps["kv_open"]
    assert steps["cv_open"][0] == "InvalidArgument", steps["cv_open"]
    assert "another application" in steps["cv_open"][1]
    con = sqlite3.connect(path)
    tables = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    assert tables == ["col_meta", "kv"]
    assert con.execute("SELECT data FROM kv").fetchall() == [("theirs",)]
    con.close()


def test_other_tables_in_a_shared_file_are_left_alone(tmp_path):
    # An application's own tables beside the vault's: both keep working.
    path = str(tmp_path / "shared.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (body TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    steps = probe(path)
    assert steps["kv_put"][0] == "ok" and steps["cv_list"][0] == "ok"
    con = sqlite3.connect(path)
    assert con.execute("SELECT body FROM notes").fetchall() == [("mine",)]
    con.close()


def test_newer_column_schema_version_is_refused(tmp_path):
    path = str(tmp_path / "future.db")
    make_vault(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE kohakuvault_meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    steps = probe(path)
    assert steps["kv_open"][0] == "ok"  # the KV table is unaffected
    assert steps["cv_open"][0] == "NotSupportedError", steps["cv_open"]
    assert "schema_version is 3" in steps["cv_open"][1]
