"""Writing output files atomically: a temp file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile

from resnet_inspect.errors import RenderError


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
