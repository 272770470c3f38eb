"""Number and shape formatting shared by the renderers."""

from __future__ import annotations

from typing import Any


def count(value: int) -> str:
    """Exact, with thousands separators: 25,557,032."""
    return f"{value:,}"


def si(value: float, unit: str = "") -> str:
    """Short form for a glance: 4.09 G, 25.6 M."""
    for factor, prefix in (
        (1e18, "E"),
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
    ):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def size_bytes(value: int) -> str:
    for factor, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:,.2f} {unit}"
    return f"{value} B"


def shape(dims: list[int]) -> str:
    return "×".join(str(d) for d in dims) if dims else "-"


def kernel(kernel_size: list[int] | None, stride: list[int] | None, groups: int | None) -> str:
    if not kernel_size:
        return ""
    text = "×".join(str(k) for k in kernel_size)
    if stride:
        text += f"/{stride[0]}" if len(set(stride)) == 1 else "/" + "×".join(str(s) for s in stride)
    if groups and groups > 1:
        text += f" g{groups}"
    return text


def field(receptive_field: int | str | None, local: int | None) -> str:
    """A total receptive field: "427 px", or "global (427 px local)"; "-" when there is none."""
    if receptive_field == "global":
        return f"global ({local} px local)" if local else "global"
    return f"{receptive_field} px" if receptive_field else "-"


def kind_of(spec: dict[str, Any] | None) -> str | None:
    """What a spec describes, where its name could mislead: "residual block" for one block on
    its own (the `plain` preset is the notes' non-bottleneck block, with an identity shortcut),
    "block without a shortcut", or "network without shortcuts" (plain18, plain34); None for
    any other network and for models that are not specs."""
    if not spec:
        return None
    stages = spec.get("stages") or []
    single = not spec.get("stem") and spec.get("head") is None and len(stages) == 1
    single = single and stages[0].get("blocks") == 1
    no_shortcut = spec.get("shortcut") == "none"
    if single:
        return "block without a shortcut" if no_shortcut else "residual block"
    return "network without shortcuts" if no_shortcut else None
