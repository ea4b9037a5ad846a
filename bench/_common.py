"""Helpers shared by the benchmark scripts in bench/."""

from __future__ import annotations

import importlib
import datetime as _dt
import hashlib
import importlib.util
import platform
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_PYTHON = REPO_ROOT / "python"


def import_repo_aware(name: str):
    """Import module `name`; ambervault falls back to <repo>/python.

    When ambervault is not installed, the repository's own package is used.
    When an installed copy is found but broken (a stale install, say), the
    import is retried once from the repository tree.
    """
    if name == "ambervault" and importlib.util.find_spec("ambervault") is None:
        sys.path.insert(0, str(REPO_PYTHON))
    try:
        return importlib.import_module(name)
    except ImportError:
        if name == "ambervault" and str(REPO_PYTHON) not in sys.path:
            sys.path.insert(0, str(REPO_PYTHON))
            for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[mod]
            return importlib.import_module(name)
        raise


# ---------------------------------------------------------------------------
# Machine state and number formatting, for the reports
# ---------------------------------------------------------------------------


def cpu_busy_jiffies():
    """Busy CPU time of the whole machine (user+nice+system), or None."""
    try:
        with open("/proc/stat") as fh:
            f = fh.readline().split()
        return int(f[1]) + int(f[2]) + int(f[3])
    except (OSError, IndexError, ValueError):
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total() -> str:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def module_version(mod) -> str:
    """The version of an imported module: __version__, else its distribution's."""
    for attr in ("__version__", "_distribution_version"):
        v = getattr(mod, attr, None)
        if isinstance(v, str) and v:
            return v
    try:
        from importlib.metadata import version

        return version(mod.__name__)
    except Exception:
        return "unknown"


def native_fingerprint(mod) -> dict:
    """sha256 prefix and mtime of the package's extension modules, so a
    rebuild in the middle of a run is noticed."""
    out: dict = {}
    if mod is None:
        return out
    dirs = list(getattr(mod, "__path__", None) or [])
    if not dirs and getattr(mod, "__file__", None):
        dirs = [str(Path(mod.__file__).resolve().parent)]
    for d in dirs:
        for p in sorted(Path(d).glob("*.so")):
            try:
                mtime = _dt.datetime.fromtimestamp(p.stat().st_mtime).astimezone().isoformat(timespec="seconds")
                out[p.name] = [hashlib.sha256(p.read_bytes()).hexdigest()[:16], mtime]
            except OSError:
                pass
    return out
