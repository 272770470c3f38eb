"""Writing output files atomically: a temp file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile

from resnet_inspect.errors import RenderError


def _mode_for(path: str) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 less the umask
    (mkstemp's temporary file is 0600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str, data: str | bytes) -> None:
    """Write all of `data` to `path` or leave any existing file untouched."""
    directory = os.path.dirname(os.path.abspath(path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if os.path.isdir(path):
        raise RenderError(f"{path}: is a directory")
    try:
        handle, temp = tempfile.mkstemp(prefix=".resnet-inspect-", dir=directory)
    except OSError as err:
        raise RenderError(f"{path}: cannot write: {err.strerror}") from None
    try:
        os.chmod(temp, _mode_for(path))
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as err:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise RenderError(f"{path}: cannot write: {err.strerror}") from None
