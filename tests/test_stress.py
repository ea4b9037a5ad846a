"""The stress harnesses in stress/, at small size (about 35 s in all on 2 cores).

Each runs as a subprocess (it forks writers and readers, which pytest's own
process should not do) and must exit 0; on failure the assertion shows its
output, with the seed to run it again:

    python stress/crash_loop.py --kills 200 --seed S
    python stress/many_procs.py --seconds 4 --seed S
"""

import pathlib
import subprocess
import sys

import pytest

from conftest import subprocess_env

STRESS = pathlib.Path(__file__).resolve().parent.parent / "stress"

pytestmark = pytest.mark.slow


def run_harness(script, *args, timeout):
    proc = subprocess.run(
        [sys.executable, str(STRESS / script), *map(str, args)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"{script} {' '.join(map(str, args))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc.stdout


def test_crash_loop_200_kills(tmp_path):
    out = run_harness("crash_loop.py", "--kills", 200, "--path", tmp_path / "vault.db",
                      timeout=300)
    assert "kills survived: 200/200" in out, out


def test_many_procs_2_writers_6_readers(tmp_path):
    out = run_harness("many_procs.py", "--seconds", 4, "--writers", 2, "--readers", 6,
                      "--path", tmp_path / "vault.db", timeout=120)
    assert "processes: 8 (2 writers, 6 readers)" in out, out
    assert "final check:" in out, out


def test_many_procs_database_busy_comes_after_the_timeout(tmp_path):
    # A ninth process holds the write lock for 0.5 s at a time; with
    # busy_timeout=0.2 and retries=1 writers get DatabaseBusy, each of which
    # must have waited at least 0.2 s. Some land on the exit of a
    # `with kv.cache()` / `col.cache()` / `cv.cache()` block, which must still
    # turn the cache off (else later plain writes are silently only cached).
    out = run_harness("many_procs.py", "--seconds", 3, "--busy-timeout", 0.2,
                      "--retries", 1, "--hold-lock", 0.5, "--path", tmp_path / "vault.db",
                      timeout=120)
    assert "final check:" in out, out
    assert "DatabaseBusy: 0 " not in out, f"the lock holder caused no DatabaseBusy:\n{out}"


@pytest.mark.parametrize("script", ["crash_loop.py", "many_procs.py"])
def test_help(script):
    assert "usage:" in run_harness(script, "--help", timeout=60)
