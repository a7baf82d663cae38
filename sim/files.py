"""Reading a user's file (trace, scenario, history, report) with bounds: never a hang.

``Path.read_text`` on ``/dev/zero``, ``/dev/urandom`` or a pipe that never ends reads
until memory runs out. Every file the CLI reads comes through ``read_file``, which
refuses devices and anything larger than ``MAX_FILE_BYTES`` with an ``OSError``
whose ``strerror`` is the one-line reason (callers already print ``OSError`` so).
A pipe (``python -m sim check <(node run.mjs)``) is read, within the bound.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "read_file"]

#: the largest file read: far above any trace or history the tools write (a few MB)
MAX_FILE_BYTES = 256 << 20


def read_file(path: str | Path) -> bytes:
    """The bytes of *path*; ``OSError`` if unreadable, a device, a directory or too large.

    ``TypeError`` for anything but a path: ``open(5)`` would read (and close) descriptor 5.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a file path must be a str or a Path, not {type(path).__name__}")
    with open(path, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise OSError(errno.ENODEV, "is a device, not a file")
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_FILE_BYTES >> 20} MiB")
    return data
