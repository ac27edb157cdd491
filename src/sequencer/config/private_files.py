"""Only the account that runs Sequencer may read its data directory and database.

The SQLite file holds password hashes, encrypted mailbox secrets and every contact; the
data directory also holds the generated secret key. Other local accounts get no access:
the directory is 0700 and the files in it 0600, whatever the process's umask.

SQLite creates the ``-wal`` and ``-shm`` files with the mode of the database file
(``findCreateFileMode`` in its Unix VFS), so creating the database file 0600 before the
first connection keeps them private too; files left readable by an older version are
narrowed here at start-up.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents, with the default mode) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    _narrow(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing, and make it and existing companions 0600."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _narrow(path, FILE_MODE)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            _narrow(companion, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    # Only the owner can change the mode; a path owned by someone else (a shared
    # directory given on purpose) is left as its owner set it.
    current = stat.S_IMODE(path.stat().st_mode)
    if current != mode and path.stat().st_uid == os.getuid():
        path.chmod(mode)
