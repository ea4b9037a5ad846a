"""Shared fixtures and helpers for the ambervault.KVault test suite.

Other connections to a vault's file are made from *other processes* (a
subprocess running Python's own sqlite3 module) rather than from this
process: two different SQLite library copies in one process do not share
POSIX lock state, so an in-process `sqlite3` connection next to an open
vault can silently break locking. Readers that only need to observe what a
vault committed use a second ambervault.KVault (same library, safe).
"""

import math
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

import ambervault
from ambervault import KVault

PYTHON_DIR = pathlib.Path(ambervault.__file__).resolve().parent.parent


def subprocess_env():
    """Environment for a child Python that must import this ambervault."""
    env = dict(os.environ)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(PYTHON_DIR) + (os.pathsep + old if old else "")
    return env


def run_python(code, *args, timeout=120):
    """Runs `python -c code args...`; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_back(path, table="kv"):
    """Everything committed in `path`, read through a fresh KVault."""
    with KVault(path, table=table) as other:
        return dict(other.items())


_HOLDER = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
sys.stdout.write("locked\n")
sys.stdout.flush()
sys.stdin.readline()
con.execute("ROLLBACK")
con.close()
sys.stdout.write("released\n")
sys.stdout.flush()
"""


class WriteLockHolder:
    """Another process whose sqlite3 connection holds BEGIN IMMEDIATE."""

    def __init__(self, path):
        self.path = str(path)
        self.proc = None

    def acquire(self):
        assert self.proc is None
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if line != "locked\n":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            self.proc = None
            raise AssertionError(f"lock holder failed to lock: {line!r} {err}")
        return self

    def release(self):
        proc, self.proc = self.proc, None
        assert proc is not None
        out, err = proc.communicate("\n", timeout=30)
        assert proc.returncode == 0, err
        assert out == "released\n", (out, err)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate(timeout=10)
            self.proc = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        if self.proc is not None:
            self.release()


@pytest.fixture
def write_lock():
    """Factory: write_lock(path) -> WriteLockHolder (not yet acquired)."""
    holders = []

    def make(path):
        holder = WriteLockHolder(path)
        holders.append(holder)
        return holder

    yield make
    for holder in holders:
        holder.kill()


@pytest.fixture
def vault_path(tmp_path):
    return str(tmp_path / "vault.db")


@pytest.fixture
def open_vault(vault_path):
    """Factory: open_vault(path=vault_path, **options) -> KVault, closed at teardown."""
    opened = []

    def make(path=None, **options):
        vault = KVault(vault_path if path is None else path, **options)
        opened.append(vault)
        return vault

    yield make
    for vault in reversed(opened):
        try:
            vault.close()
        except Exception:  # teardown only; the test already reported
            pass


@pytest.fixture
def kv(open_vault):
    return open_vault()


def wait_until(predicate, timeout, interval=0.02):
    """Polls predicate() until true or timeout seconds; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def strict_same(a, b):
    """a == b, also checking types, NaN, the sign of zero, dict order and
    (for numpy arrays) dtype and shape."""
    if type(a).__module__ == "numpy" and type(a).__name__ == "ndarray":
        import numpy as np

        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(strict_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            strict_same(ka, kb) and strict_same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items())
        )
    return a == b


LEGACY_KOHAKUVAULT = "0.9.0"


@pytest.fixture(scope="session")
def legacy_kohakuvault():
    """Folder holding kohakuvault 0.9.0, the last release that writes the
    legacy column format (site-packages holds 1.0+, which cannot read it).
    Put it first on a child's PYTHONPATH; never import it here. The folder
    is $AMBERVAULT_LEGACY_KV or <repo>/.deps/kohakuvault-0.9.0; it is
    installed there on first use (`make deps` does the same)."""
    repo = pathlib.Path(__file__).resolve().parent.parent
    folder = pathlib.Path(os.environ.get("AMBERVAULT_LEGACY_KV")
                          or repo / ".deps" / f"kohakuvault-{LEGACY_KOHAKUVAULT}")
    if not (folder / "kohakuvault" / "__init__.py").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
             str(folder), f"kohakuvault=={LEGACY_KOHAKUVAULT}"],
            capture_output=True, text=True, timeout=600,
        )
        if proc.returncode != 0 or not (folder / "kohakuvault" / "__init__.py").is_file():
            pytest.skip(f"cannot install kohakuvault {LEGACY_KOHAKUVAULT} into {folder}: "
                        f"{proc.stderr.strip()[-1000:]}")
    return str(folder)


def run_threads(targets, timeout=120, switch=1e-5):
    """Runs each callable in its own thread, all released together, with a
    short switch interval so that they interleave finely; re-raises the
    first exception a thread raised and fails if one does not finish."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def body(fn):
        try:
            barrier.wait()
            fn()
        except BaseException as exc:  # reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(switch)
    try:
        threads = [threading.Thread(target=body, args=(fn,), daemon=True) for fn in targets]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout)
        assert not any(th.is_alive() for th in threads), "threads did not finish"
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
