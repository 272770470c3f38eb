"""Input shapes as people write them: '3x224x224', (3, 224, 224), a 4-D shape with the batch.

One parser for the CLI's `--input` and the Python API's `input_shape`. No torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from resnet_inspect.errors import UsageError
from resnet_inspect.spec.parser import MAX_BATCH_SIZE, MAX_SPATIAL, MAX_WIDTH

_EXAMPLE = "e.g. 3x224x224, 224x224 (the spec's channels) or 8x3x224x224 (with the batch)"


def parse_input_shape(value: object) -> tuple[tuple[int, ...], int | None]:
    """(dims, batch) from a shape: dims are [C, H, W] or [H, W]; batch is the first number of a
    4-D shape (N, C, H, W), else None. Raises UsageError with an example otherwise."""
    shown = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value
    if isinstance(value, str):
        parts = [part for part in re.split(r"[x×*,\s()\[\]]+", value.strip().lower()) if part]
        try:
            numbers = [int(part) for part in parts]
        except ValueError:
            raise UsageError(f"input shape {shown!r}: expected whole numbers, {_EXAMPLE}") from None
    elif _is_sequence(value):
        items = list(value)  # type: ignore[call-overload]
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            raise UsageError(f"input shape {shown!r}: expected whole numbers, {_EXAMPLE}")
        numbers = [int(item) for item in items]
    else:
        raise UsageError(f"input shape {shown!r}: expected a shape, {_EXAMPLE}")
    if len(numbers) not in (2, 3, 4) or min(numbers) < 1:
        raise UsageError(
            f"input shape {shown!r}: expected 2 to 4 positive sizes ([N,] C, H, W), {_EXAMPLE}"
        )
    batch = numbers[0] if len(numbers) == 4 else None
    dims = tuple(numbers[1:] if len(numbers) == 4 else numbers)
    if batch is not None and batch > MAX_BATCH_SIZE:
        raise UsageError(f"input shape {shown!r}: batch {batch:,} is over {MAX_BATCH_SIZE:,}")
    if len(dims) == 3 and dims[0] > MAX_WIDTH:
        raise UsageError(f"input shape {shown!r}: {dims[0]:,} channels is over {MAX_WIDTH:,}")
    if max(dims[-2:]) > MAX_SPATIAL:
        raise UsageError(
            f"input shape {shown!r}: height and width are limited to {MAX_SPATIAL:,} pixels"
        )
    return dims, batch


def resolve_batch(batch_from_shape: int | None, batch_size: int | None) -> int:
    """The batch: the shape's or batch_size's (they must agree when both are given), else 1."""
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise UsageError(f"batch size {batch_size!r}: expected a whole number of at least 1")
    if batch_size is not None and batch_size > MAX_BATCH_SIZE:
        raise UsageError(f"batch size {batch_size:,} is over the limit of {MAX_BATCH_SIZE:,}")
    if batch_from_shape is not None and batch_size is not None and batch_from_shape != batch_size:
        raise UsageError(
            f"the input shape says batch {batch_from_shape} but the batch size is {batch_size}"
        )
    return batch_from_shape or batch_size or 1


def check_channels_first(dims: tuple[int, ...], channels: int | None, what: str) -> None:
    """Refuse a channels-last shape (224x224x3) where the model takes `channels` first."""
    if channels is None or len(dims) != 3 or dims[0] == channels or dims[2] != channels:
        return
    height, width = dims[0], dims[1]
    raise UsageError(
        f"input shape {'x'.join(map(str, dims))} looks channels-last (H×W×C), but {what} takes "
        f"{channels} channels first: write {channels}x{height}x{width}"
    )


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
