"""What a pass records, and all the analyzers read: the tensors it saw, every operation, every
module call, and the facts of every module (type, parameters, kernel). No torch.

Two passes make a Trace. trace.py runs any nn.Module on torch's meta device; plan_pass.py runs a
spec's planned layers through the block types' own forward code, without torch, and records
what the meta pass records for the built model (a test holds the two to the same report for
every preset). Everything downstream (rows, FLOPs, memory, receptive field, the graph) reads
only these records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The weighted layers of the paper's depth ("50" of ResNet-50): convolutions and fully connected.
WEIGHTED_TYPES = frozenset({"Conv1d", "Conv2d", "Conv3d", "Linear"})


@dataclass(frozen=True)
class TensorRef:
    """A tensor seen in the pass: its storage (identity), shape and storage size in bytes."""

    key: int
    shape: tuple[int, ...]
    nbytes: int
    # Not computed from the input: a parameter, a buffer, or a tensor made from them alone.
    is_state: bool = False


@dataclass
class OpCall:
    """One operation: aten name ("aten::convolution"), the innermost module that ran it, its
    tensors, and the hyper-parameters the counters need."""

    name: str
    module: str
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    kernel: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    dilation: tuple[int, ...] = (1, 1)
    padding: tuple[int, ...] = (0, 0)  # a window's zero padding before the first position
    weight_shape: tuple[int, ...] | None = None
    affine: bool = False
    synthetic: bool = False  # recorded from a layer's hyper-parameters, not from dispatch
    transposed: bool = False  # a transposed convolution
    training: bool = False  # a batch norm that uses the batch's statistics
    equation: str | None = None  # an einsum's equation
    global_reduce: bool = False  # a reduction over every spatial position (mean over H, W)
    align_corners: bool = False  # an interpolation's corner alignment


@dataclass
class ModuleCall:
    """A module that ran: how often, its first call's output, and the operations inside it."""

    name: str
    calls: int = 0
    output_shape: list[int] = field(default_factory=list)
    output_key: int | None = None  # storage of the first call's output
    first_op: int = 0  # ops[first_op:first_end] ran inside the module's first call
    first_end: int = 0
    # ops[start:end] of every call, in order (a module called three times has three)
    spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class ModuleInfo:
    """One module of the model (whether or not it ran), as the analyzers need to know it."""

    name: str  # dotted path, "" for the model itself
    type: str  # class name: "Conv2d", "Bottleneck"
    is_leaf: bool
    params: int  # its parameters and those below it, each once
    trainable_params: int
    own_params: int  # its own parameters, not its children's
    buffers: int  # floating-point buffers, its own and below (BN running statistics)
    kernel: list[int] | None = None  # a leaf's kernel_size, stride and groups, where it has them
    stride: list[int] | None = None
    groups: int | None = None
    conv_weights: int = 0  # its own convolution weight's elements (no bias)
    is_conv2d: bool = False
    shortcut: str | None = None  # a residual block's shortcut module: its kind ("projection")
    option: bool = False  # a block option's child module (an SE gate): off the main path
    parent: str | None = None  # the module that holds it (None for the model itself)


@dataclass
class Trace:
    modules: dict[str, ModuleCall]  # in order of first call (pre-order)
    ops: list[OpCall]
    input: TensorRef
    outputs: list[TensorRef]
    batch_size: int
    element_bytes: int
    infos: dict[str, ModuleInfo]  # every module, the model itself ("") first, never-called too
    # every input, `input` first (a model of several inputs: a mask, token ids), and the
    # outputs' places in what the forward returned ("", "[0]", "['out']", ".logits")
    extra_inputs: list[TensorRef] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)  # given inputs: "ids", "[1]"
    output_names: list[str] = field(default_factory=list)

    @property
    def inputs(self) -> list[TensorRef]:
        return [self.input, *self.extra_inputs]

    def enclosing(self, name: str) -> list[str]:
        """The module itself and every module that holds it, outermost first, the model ("")
        left out: the tree's parent links, never a split of the dotted name."""
        chain: list[str] = []
        current: str | None = name
        while current:
            chain.append(current)
            info = self.infos.get(current)
            current = info.parent if info is not None else None
        return chain[::-1]


def numel(shape: tuple[int, ...] | list[int]) -> int:
    return math.prod(shape)


def pair(value: object) -> list[int] | None:
    """A kernel_size or stride as [h, w]: 3 -> [3, 3], (3, 1) -> [3, 1]."""
    if value is None:
        return None
    if isinstance(value, int):
        return [value, value]
    return [int(v) for v in value]  # type: ignore[attr-defined]
