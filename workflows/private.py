"""The data folder and the secrets in it, readable by the user Legato runs as and nobody else.

Imported by the settings, so no Django here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

# What Legato keeps in its data folder that nobody else may read: the database (sessions,
# token hashes, execution data) with SQLite's WAL and shared-memory files, the secret key
# and the generated first password.
PRIVATE_FILES = (
    "legato.sqlite3",
    "legato.sqlite3-wal",
    "legato.sqlite3-shm",
    "secret_key",
    "admin-password",
)


def prepare_data_dir(path: Path, database: Path | None) -> None:
    """Create the data folder 0700, or make an existing one of ours private, and the
    SQLite database 0600 before SQLite opens it: SQLite gives its WAL and shared-memory
    files the database file's mode, and would create the database itself 0644."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    for name in PRIVATE_FILES:
        _tighten(path / name, 0o600)
    if database is not None:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _tighten(path: Path, mode: int) -> None:
    """chmod what this user owns (installs from before this rule were 0755/0644), but
    never a shared folder such as /tmp named as the data folder (sticky or world-writable)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    shared = info.st_mode & (stat.S_ISVTX | stat.S_IWOTH)
    if info.st_uid == os.getuid() and not shared and stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)


def create_private_file(path: Path, text: str) -> bool:
    """Write ``text`` to a new file ``path`` that is 0600 from its first byte.

    False (and nothing written) when ``path`` exists: of two processes starting at once,
    one writes and the other reads what it wrote, never a half-written file.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp: 0600 already
            handle.write(text)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return True
