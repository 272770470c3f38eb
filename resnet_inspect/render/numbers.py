"""Number and shape formatting shared by the renderers."""

from __future__ import annotations


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
