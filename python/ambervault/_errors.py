"""Exception hierarchy of AmberVault (KohakuVault's names, with builtin bases).

Every class also derives from the builtin exception a caller would naturally
catch, so ``except KeyError`` or ``except ValueError`` keep working:

- ``KohakuVaultError``          base of every AmberVault error
- ``NotFound``                  missing key (also ``KeyError``)
- ``DatabaseBusy``              database still locked after all retries (also ``TimeoutError``)
- ``InvalidArgument``           unusable argument (also ``ValueError``)
- ``InvalidTypeError``          argument of the wrong type (``InvalidArgument`` and ``TypeError``)
- ``IoError``                   I/O failure, cannot open (also ``OSError``)
- ``CorruptionError``           not an SQLite database, or a damaged one (an ``IoError``)
- ``DiskFull``                  the disk or database is full (an ``IoError``)
- ``ReadOnlyError``             a write to a read-only database (an ``IoError``)
- ``ClosedError``               use after ``close()`` (also ``ValueError``)
- ``OutOfRangeError``           a number the dtype cannot hold (``InvalidArgument`` and ``OverflowError``)
- ``NotSupportedError``         a newer file format, or a vault used after ``fork()`` in the child
"""

from __future__ import annotations

from typing import Any


class KohakuVaultError(Exception):
    """Base class of every AmberVault error."""


class NotFound(KohakuVaultError, KeyError):
    """A key that does not exist. ``.key`` is the key as given."""

    def __init__(self, key: Any = None) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"Key not found: {self.key!r}"


class DatabaseBusy(KohakuVaultError, TimeoutError):
    """The database stayed locked by another connection through every retry."""


class InvalidArgument(KohakuVaultError, ValueError):
    """An argument that cannot be used (bad value, bad option)."""


class InvalidTypeError(InvalidArgument, TypeError):
    """An argument of the wrong type (e.g. a key that is not str or bytes)."""


class OutOfRangeError(InvalidArgument, OverflowError):
    """A number outside what the target type holds (e.g. 300 for ``u8``)."""


class IoError(KohakuVaultError, OSError):
    """An I/O failure: the file cannot be opened, read or written."""

    def __init__(self, message: str = "", cause: BaseException | None = None) -> None:
        super().__init__(message)
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CorruptionError(IoError):
    """The file is not an SQLite database, or it is damaged."""


class DiskFull(IoError):
    """The disk (or the database's size limit) is full."""


class ReadOnlyError(IoError):
    """A write to a database opened (or only openable) read-only."""


class ClosedError(KohakuVaultError, ValueError):
    """The vault was closed."""


class NotSupportedError(KohakuVaultError):
    """Something this version or this process cannot do: a file with a newer
    column schema, or a vault used in a child process after ``fork()``."""


# Clearer aliases.
VaultError = KohakuVaultError
BusyError = DatabaseBusy

__all__ = [
    "KohakuVaultError",
    "NotFound",
    "DatabaseBusy",
    "InvalidArgument",
    "InvalidTypeError",
    "IoError",
    "CorruptionError",
    "DiskFull",
    "ReadOnlyError",
    "ClosedError",
    "OutOfRangeError",
    "NotSupportedError",
    "VaultError",
    "BusyError",
]
