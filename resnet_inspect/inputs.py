"""Input shapes as people write them: '3x224x224', (3, 224, 224), a 4-D shape with the batch;
and a model's several inputs: 'x=1x3x224x224', 'mask=1x224x224:bool', 'ids=1x128:int64'.

One parser for the CLI's `--input` and the Python API's `input_shape`. No torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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


# The element types an input may be given (`ids=1x128:int64`); floating inputs default to the
# report's dtype.
INPUT_DTYPES = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)
_ITEM_EXAMPLE = "e.g. x=1x3x224x224, mask=1x224x224:bool or ids=1x128:int64"


@dataclass(frozen=True)
class InputSpec:
    """One input of a model: the keyword it is passed by (None: positional), its whole shape
    with the batch first, as torch.empty takes it, and its element type (None: the report's
    floating-point dtype)."""

    name: str | None
    shape: tuple[int, ...]
    dtype: str | None = None

    def to_dict(self, default_dtype: str) -> dict[str, object]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype or default_dtype}


def is_input_item(text: str) -> bool:
    """Whether `--input` text names an input or gives its type (an InputSpec, not a shape)."""
    return "=" in text or ":" in text


def parse_input_item(text: str) -> InputSpec:
    """'name=1x128:int64' (or '1x128:int64', positional) -> InputSpec. The shape is the whole
    tensor's, batch first: nothing is guessed about which dimension is which."""
    name: str | None = None
    rest = text.strip()
    if "=" in rest:
        name, _, rest = (part.strip() for part in rest.partition("="))
        if not name.isidentifier():
            raise UsageError(
                f"input {text!r}: {name!r} is not a Python keyword name, {_ITEM_EXAMPLE}"
            )
    shape_text, _, dtype_text = rest.partition(":")
    dtype = dtype_text.strip().lower() or None
    if dtype is not None and dtype not in INPUT_DTYPES:
        raise UsageError(
            f"input {text!r}: unknown element type {dtype!r}; "
            f"choose one of {', '.join(INPUT_DTYPES)}"
        )
    parts = [part for part in re.split(r"[x×*,\s()\[\]]+", shape_text.strip().lower()) if part]
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:
        raise UsageError(f"input {text!r}: expected whole numbers, {_ITEM_EXAMPLE}") from None
    if not shape or min(shape) < 1 or len(shape) > 6:
        raise UsageError(f"input {text!r}: expected 1 to 6 positive sizes, {_ITEM_EXAMPLE}")
    if shape[0] > MAX_BATCH_SIZE or max(shape) > max(MAX_SPATIAL, MAX_WIDTH) * 4:
        raise UsageError(f"input {text!r}: a size is over the limit")
    return InputSpec(name, shape, dtype)
