"""Writing output by the kind of path: regular files atomically, devices and FIFOs in place.

A regular file (or a new path) is written to a temporary file beside it and renamed into
place, so a failed write leaves the old file untouched. A character device (/dev/null, a
terminal, /dev/stdout) or a FIFO is written in place: renaming over it would replace the device
with a regular file. Directories, block devices and sockets are refused. `-` means standard
output.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile

from resnet_inspect.errors import RenderError

STDOUT = "-"


def _mode_for(path: str) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 less the umask
    (mkstemp's temporary file is 0600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def path_kind(path: str) -> str:
    """'new', 'file', 'directory', 'character device', 'fifo', 'block device', 'socket' or
    'other' (following symbolic links; a dangling link is 'new')."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "new"
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RenderError(f"{path}: cannot write: too many levels of symbolic links") from None
        raise RenderError(f"{path}: cannot write: {_reason(err)}") from None
    for test, kind in (
        (stat.S_ISREG, "file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return kind
    return "other"


def check_writable(path: str) -> None:
    """Refuse, before any work is done, a path that output can never go to."""
    if path == STDOUT:
        return
    kind = path_kind(path)
    if kind in ("directory", "block device", "socket", "other"):
        raise RenderError(f"{path}: is a {kind}; give a file name")


def write_output(path: str, data: str | bytes) -> None:
    """Write all of `data` to `path` by the path's kind (see the module docstring)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if path == STDOUT:
        _write_stream(sys.stdout.buffer, payload, "standard output")
        return
    check_writable(path)
    kind = path_kind(path)
    if kind in ("character device", "fifo"):
        try:
            with open(path, "wb", buffering=0) as out:
                _write_stream(out, payload, path)
        except OSError as err:
            raise RenderError(f"{path}: cannot write: {_reason(err)}") from None
        return
    _write_atomic(os.path.realpath(path), payload, path)


def _write_stream(stream, payload: bytes, name: str) -> None:  # noqa: ANN001 - any binary stream
    try:
        view = memoryview(payload)
        while view:
            written = stream.write(view)
            if written is None:  # a buffered stream wrote everything
                break
            view = view[written:]
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        raise RenderError(f"{name}: cannot write: {_reason(err)}") from None


def _write_atomic(target: str, payload: bytes, shown: str) -> None:
    """Write to a temporary file beside `target` (the real path: a symbolic link stays a link)
    and rename it into place, or leave any existing file untouched."""
    directory = os.path.dirname(target)
    try:
        handle, temp = tempfile.mkstemp(prefix=".resnet-inspect-", dir=directory)
    except OSError as err:
        raise RenderError(f"{shown}: cannot write: {_reason(err)}") from None
    try:
        os.chmod(temp, _mode_for(target))
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except OSError as err:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise RenderError(f"{shown}: cannot write: {_reason(err)}") from None
