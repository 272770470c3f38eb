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


# What a path is, by its mode: one name for each kind, used in messages as "is a <kind>".
_KINDS = (
    (stat.S_ISREG, "regular file"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)
WRITTEN_IN_PLACE = ("character device", "FIFO (named pipe)")


def kind_of(mode: int) -> str:
    """The kind of file an os.stat mode describes: "regular file", "directory", …"""
    return next((kind for test, kind in _KINDS if test(mode)), "special file")


def path_kind(path: str) -> str:
    """kind_of the path (following symbolic links), or "new" where nothing is there yet."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "new"
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RenderError(f"{path}: cannot write: too many levels of symbolic links") from None
        raise RenderError(f"{path}: cannot write: {_reason(err)}") from None
    return kind_of(mode)


def check_writable(path: str) -> str:
    """Refuse, before any work is done, a path that output can never go to; its kind."""
    if path == STDOUT:
        return "standard output"
    kind = path_kind(path)
    if kind not in ("new", "regular file", *WRITTEN_IN_PLACE):
        raise RenderError(f"{path}: is a {kind}; give a file name")
    return kind


def write_output(path: str, data: str | bytes) -> None:
    """Write all of `data` to `path` by the path's kind (see the module docstring)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if path == STDOUT:
        sys.stdout.flush()  # text written before goes first
        _write_stream(sys.stdout.buffer, payload, "standard output")
        return
    kind = check_writable(path)
    if kind in WRITTEN_IN_PLACE:
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
