"""The layer kinds (no torch at load): one module per kind, each owning everything about it
in one place — its nn.Module, its parameters, buffers and multiply-adds, its output shape, the
one operation a pass records for it and that operation's attributes, the facts the analyzers
read of its module, and what autograd saves for its backward.

Three walkers use this table: the builder makes each planned Layer's module
(`make_module`), the plan's pass records each Layer's operation on stand-ins, and the traced
fast path reads a torch module of exactly a kind's class back into a Layer (`from_module`) and
records the same operation without running torch's meta kernels. The two passes therefore
record the same thing for the same layer by construction.

Adding a kind: a module here (or in your own package) with a subclass of LayerKind that sets
`name`; it is registered when its class is defined. Kinds with `role = "norm"` may be named by
a spec's `norm:` key.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from resnet_inspect.plan.tree import Layer, Size

if TYPE_CHECKING:
    from torch import nn

Settings = dict[str, Any]
SettingProblem = tuple[tuple[str, ...], str, str]  # (key path, message, hint)

# name -> kind, for every LayerKind subclass that sets a name (ours, then the user's)
LAYER_KINDS: dict[str, LayerKind] = {}


class LayerKind:
    """One kind of layer. Subclasses set `name` and override what differs from these defaults
    (a layer with no parameters that keeps its input's shape and records nothing)."""

    name: ClassVar[str] = ""  # the plan's word for it ("conv"); registers the kind
    module_type: ClassVar[str] = ""  # its nn.Module's class name ("Conv2d"), as reports show it
    role: ClassVar[str | None] = None  # "norm": the spec's `norm:` key may name it
    # The ATen names of the operation it records (one per layer; `operation` picks), and what
    # autograd keeps for their backward: "input", "output" or "nothing" (analyzers/memory.py
    # reads it for these operations wherever they come from).
    operations: ClassVar[tuple[str, ...]] = ()
    saves: ClassVar[str] = "input"
    # The meta pass records its operation from the module's hyper-parameters (a shape-only
    # forward, `synthetic`), not from the torch function its module calls.
    fast_path: ClassVar[bool] = True
    windowed: ClassVar[bool] = False  # kernel and stride are facts of its module

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name:
            LAYER_KINDS[cls.name] = cls()

    # --- a spec's settings (norms) ---------------------------------------------------------
    def parse_settings(self, value: dict[str, Any]) -> tuple[Settings, list[SettingProblem]]:
        """The settings a spec gives the kind (`norm: {type: group_norm, groups: 16}` gives
        {"groups": 16}): JSON-native values and the problems found."""
        problems: list[SettingProblem] = [
            ((str(key),), f"{self.name} takes no settings", "") for key in value
        ]
        return {}, problems

    def layer(self, name: str, channels: int, size: Size, settings: Settings) -> Layer:
        """A layer of this kind over `channels` × `size`, with a spec's settings."""
        return Layer(name, self.name, channels, channels, size, size)

    def problem(self, layer: Layer) -> str | None:
        """What makes a planned layer impossible (a group count that does not divide)."""
        return None

    # --- shape ------------------------------------------------------------------------------
    def output(self, layer: Layer) -> tuple[int, Size]:
        """(channels, size) of its output, from its input and settings."""
        return layer.in_channels, layer.in_size

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Its output's shape for an input of `shape` (any leading dimensions)."""
        return shape

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        """The refusal the real module would give an input of `shape`, or None."""
        return None

    # --- cost -------------------------------------------------------------------------------
    def params(self, layer: Layer) -> int:
        return 0

    def buffers(self, layer: Layer) -> int:
        """Floating-point buffers (BN running mean and variance)."""
        return 0

    def macs(self, layer: Layer) -> int:
        """Multiply-adds of weights per image."""
        return 0

    def weight_shapes(self, layer: Layer) -> list[tuple[int, ...]]:
        """Shapes of its parameters, in the order its operation takes them after the input."""
        return []

    # --- the operation a pass records -------------------------------------------------------
    def operation(self, layer: Layer) -> str | None:
        """The ATen name of the one operation it records; None records nothing (identity)."""
        return self.operations[0] if self.operations else None

    def in_place(self, layer: Layer) -> bool:
        """Whether its output is its input's storage."""
        return False

    def attributes(self, layer: Layer) -> dict[str, Any]:
        """The operation's hyper-parameters as records.OpCall holds them."""
        return {}

    # --- its module -------------------------------------------------------------------------
    def facts(self, layer: Layer) -> dict[str, Any]:
        """records.ModuleInfo's facts of its module beside type and parameters."""
        if not self.windowed:
            return {}
        return {"kernel": list(layer.kernel), "stride": list(layer.stride)}

    def make_module(self, layer: Layer) -> nn.Module:
        """The nn.Module the builder makes for a planned layer (imports torch)."""
        raise NotImplementedError(f"{self.name} has no module")

    def module_classes(self) -> tuple[type, ...]:
        """The torch classes whose exact instances `from_module` reads (imports torch)."""
        return ()

    def from_module(self, module: nn.Module) -> Layer | None:
        """A module of one of `module_classes` read back into a Layer (its sizes unknown: 0),
        or None where the fast path cannot stand in for its forward."""
        return None


def window(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a window: floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride)
    + 1, as torch computes it for convolutions and pooling."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def window_size(layer: Layer) -> Size:
    """Output size of a layer's window over its input size."""
    return (
        window(
            layer.in_size[0], layer.kernel[0], layer.stride[0], layer.padding[0], layer.dilation[0]
        ),
        window(
            layer.in_size[1], layer.kernel[1], layer.stride[1], layer.padding[1], layer.dilation[1]
        ),
    )


def pair(value: Any) -> tuple[int, int]:
    """A torch module's kernel_size, stride, padding or dilation as (height, width)."""
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    return (values[0], values[-1]) if values else (1, 1)


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def make(
    kind: str,
    name: str,
    in_channels: int,
    in_size: Size,
    out_channels: int | None = None,
    out_size: Size | None = None,
    **settings: Any,
) -> Layer:
    """A planned layer of `kind` over in_channels × in_size with `settings` (Layer's fields);
    its output from the kind (`out_channels` and `out_size` are settings of the kinds whose
    output they set: a convolution's filters, an adaptive pool's size)."""
    layer = Layer(
        name,
        kind,
        in_channels,
        in_channels if out_channels is None else out_channels,
        in_size,
        in_size if out_size is None else out_size,
        **settings,
    )
    channels, size = LAYER_KINDS[kind].output(layer)
    return Layer(name, kind, in_channels, channels, in_size, size, **settings)


def conv_layer(
    name: str,
    in_channels: int,
    out_channels: int,
    kernel: int,
    stride: int,
    size: Size,
    groups: int = 1,
    bias: bool = False,
) -> Layer:
    """A k×k convolution with "same" padding (k // 2), as every ResNet block uses."""
    return make(
        "conv",
        name,
        in_channels,
        size,
        out_channels=out_channels,
        kernel=(kernel, kernel),
        stride=(stride, stride),
        padding=(kernel // 2, kernel // 2),
        groups=groups,
        bias=bias,
    )


# The norm a spec chooses (`norm:`): the kind's name under "type", and its settings.
BATCH_NORM: Settings = {"type": "bn"}


def norm_layer(name: str, after: Layer, norm: Settings = BATCH_NORM) -> Layer:
    """The spec's norm (batch norm unless `norm:` says otherwise) over `after`'s output."""
    return norm_over(name, after.out_channels, after.out_size, norm)


def norm_over(name: str, channels: int, size: Size, norm: Settings = BATCH_NORM) -> Layer:
    """The spec's norm over channels × size."""
    settings = {key: value for key, value in norm.items() if key != "type"}
    return LAYER_KINDS[norm["type"]].layer(name, channels, size, settings)


def relu_layer(name: str, after: Layer) -> Layer:
    """An in-place ReLU over the output of `after`."""
    return make("relu", name, after.out_channels, after.out_size)


def post_activation(convs: list[Layer], norm: Settings = BATCH_NORM) -> list[Layer]:
    """conv, norm, ReLU for each convolution, without the last ReLU (it follows the residual
    add): conv1, bn1, relu1, conv2, bn2, … as torchvision names them."""
    layers: list[Layer] = []
    for index, conv in enumerate(convs, start=1):
        layers += [conv, norm_layer(f"bn{index}", conv, norm)]
        if index < len(convs):
            layers.append(relu_layer(f"relu{index}", conv))
    return layers


def pre_activation(convs: list[Layer], norm: Settings = BATCH_NORM) -> list[Layer]:
    """Norm and ReLU over each convolution's input, then the convolution (He et al. 2016):
    bn1, relu1, conv1, bn2, relu2, conv2, …"""
    layers: list[Layer] = []
    for index, conv in enumerate(convs, start=1):
        bn = norm_over(f"bn{index}", conv.in_channels, conv.in_size, norm)
        layers += [bn, relu_layer(f"relu{index}", bn), conv]
    return layers


def _register_ours() -> None:
    """Import every module of this package: each defines its kinds (no list to edit)."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        importlib.import_module(f"{__name__}.{info.name}")


_register_ours()

__all__ = [
    "BATCH_NORM",
    "LAYER_KINDS",
    "LayerKind",
    "conv_layer",
    "make",
    "norm_layer",
    "norm_over",
    "numel",
    "pair",
    "post_activation",
    "pre_activation",
    "relu_layer",
    "window",
    "window_size",
]
