"""The pass over a spec's plan, without torch: the records the meta pass (trace.py) makes for the
built model, in a few milliseconds instead of building hundreds of nn.Modules.

The block types' own forward code runs (blocks/basic.py, bottleneck.py, …, blocks/forward.py
for the shortcut and the network), with stand-ins for the modules and tensors: each planned
layer is a stand-in that checks the shape it is given against the plan and records the one
operation the meta pass records for that module — the same name, operands (weights included),
hyper-parameters and storage identity (an in-place ReLU or the residual `out +=` writes its
input's storage; everything else makes a new tensor). Module calls are recorded in the order
the forward enters them, as the meta pass's hooks record them; each module's facts (type,
parameters, kernel) come from the plan as the builder would make the module.

So the order of operations, what is in place and which tensor feeds which are written once, in
the forward code; what each layer kind becomes is written here and in build/layers.py, and a
test holds the report of this pass to the report of the built model's meta pass, field by
field, for every preset and for generated specs (`summarize(from_model=True)` is the latter).
A forward that uses a tensor operation the stand-ins lack raises AnalysisError naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resnet_inspect.analyzers.records import (
    ModuleCall,
    ModuleInfo,
    OpCall,
    TensorRef,
    Trace,
    numel,
)
from resnet_inspect.blocks import BLOCKS, OPTIONS
from resnet_inspect.blocks.forward import add_shortcut, forward_network
from resnet_inspect.blocks.layers import LayerPlan
from resnet_inspect.errors import AnalysisError
from resnet_inspect.spec.plan import BlockPlan, NetworkPlan

# Layer kind -> (the module build/layers.py makes, the operation the meta pass records for it,
# whether that operation comes from the module's hyper-parameters, as the meta pass's
# shape-only forwards make it, or from a function it calls). "identity" records nothing.
_LAYERS: dict[str, tuple[str, str | None, bool]] = {
    "conv": ("Conv2d", "aten::convolution", True),
    "bn": ("BatchNorm2d", "aten::batch_norm", True),
    "relu": ("ReLU", "aten::relu_", True),  # in place, as every ReLU the builder makes
    "maxpool": ("MaxPool2d", "aten::max_pool2d", True),
    "avgpool": ("AvgPool2d", "aten::avg_pool2d", True),
    "avgpool_ceil": ("AvgPool2d", "aten::avg_pool2d", False),  # ceil mode: F.avg_pool2d runs
    "pad": ("ZeroPad2d", "aten::constant_pad_nd", True),
    "global_avgpool": ("AdaptiveAvgPool2d", "aten::adaptive_avg_pool2d", True),
    "global_maxpool": ("AdaptiveMaxPool2d", "aten::adaptive_max_pool2d", True),
    "sigmoid": ("Sigmoid", "aten::sigmoid", False),
    "identity": ("Identity", None, True),
    "linear": ("Linear", "aten::linear", True),
    "zeropad": ("ZeroPadShortcut", "aten::constant_pad_nd", True),
}
# The shortcut modules of more than one layer (build/blocks.py), by the plan's shortcut kind.
_SHORTCUTS = {"projection": "Projection", "avgpool_projection": "AvgPoolProjection"}


class _Tensor:
    """A stand-in activation: a storage key and a shape. The operations the forward code uses
    on tensors (`out += x`, `x * gate`, `x.flatten(1)`) record what torch would run."""

    __slots__ = ("key", "nbytes", "ref", "run", "shape")

    def __init__(self, run: _Run, key: int, shape: tuple[int, ...], nbytes: int) -> None:
        self.run, self.key, self.shape, self.nbytes = run, key, shape, nbytes
        self.ref = TensorRef(key, shape, nbytes)  # as the records hold it

    def __iadd__(self, other: _Tensor) -> _Tensor:
        if other.shape != self.shape:
            self.run.refuse(f"cannot add {_shape(other.shape)} to {_shape(self.shape)}")
        self.run.record("aten::add_", [self, other], [self])
        return self

    def __mul__(self, other: _Tensor) -> _Tensor:
        shape = tuple(max(a, b) for a, b in zip(self.shape, other.shape, strict=True))
        ok = all(a in (b, 1) or b == 1 for a, b in zip(self.shape, other.shape, strict=True))
        if not ok or shape != self.shape:
            self.run.refuse(f"cannot multiply {_shape(self.shape)} by {_shape(other.shape)}")
        out = self.run.new(shape)
        self.run.record("aten::mul", [self, other], [out])
        return out

    def flatten(self, start_dim: int = 0) -> _Tensor:
        """A view: the same storage, no operation (the meta pass skips aten::view)."""
        shape = (*self.shape[:start_dim], numel(self.shape[start_dim:]))
        return _Tensor(self.run, self.key, shape, self.nbytes)

    def __getattr__(self, name: str) -> Any:
        raise AnalysisError(
            f"the plan's pass has no stand-in for the tensor operation {name!r} that a block's "
            "forward uses (add one in analyzers/plan_pass.py); --from-model "
            "(summarize(from_model=True)) traces the built model instead"
        )


class _Run:
    """The records of one pass: operations, module calls, tensors."""

    def __init__(self, element_bytes: int) -> None:
        self.element_bytes = element_bytes
        self.ops: list[OpCall] = []
        self.stack: list[str] = [""]
        self.calls: dict[str, ModuleCall] = {}
        self.next_key = 1

    def refuse(self, message: str) -> None:
        raise AnalysisError(f"{self.stack[-1]}: {message} (the forward and the plan disagree)")

    def new(self, shape: tuple[int, ...]) -> _Tensor:
        self.next_key += 1
        return _Tensor(self, self.next_key, shape, numel(shape) * self.element_bytes)

    def weight(self, shape: tuple[int, ...]) -> TensorRef:
        self.next_key += 1
        return TensorRef(self.next_key, shape, numel(shape) * self.element_bytes, True)

    def record(
        self,
        name: str,
        inputs: list[_Tensor | TensorRef],
        outputs: list[_Tensor],
        **attributes: Any,
    ) -> None:
        self.ops.append(
            OpCall(
                name=name,
                module=self.stack[-1],
                inputs=[t.ref if isinstance(t, _Tensor) else t for t in inputs],
                outputs=[t.ref for t in outputs],
                **attributes,
            )
        )

    def call(self, name: str, forward: Callable[[_Tensor], _Tensor], x: _Tensor) -> _Tensor:
        """A module call, as the meta pass's pre-hook and hook record it."""
        call = self.calls.get(name)
        if call is None:
            call = self.calls[name] = ModuleCall(name, first_op=len(self.ops))
        self.stack.append(name)
        out = forward(x)
        self.stack.pop()
        call.calls += 1
        if call.calls == 1:
            call.first_end = len(self.ops)
            call.output_shape, call.output_key = list(out.shape), out.key
        return out


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape)


class _Module:
    """A stand-in module: called with a tensor, it records the call around its forward."""

    def __init__(self, run: _Run, name: str) -> None:
        self.run, self.name = run, name

    def __call__(self, x: _Tensor) -> _Tensor:
        return self.run.call(self.name, self.forward, x)

    def forward(self, x: _Tensor) -> _Tensor:  # pragma: no cover - every kind has its own
        raise NotImplementedError


class _Layer(_Module):
    """One planned layer: checks its input against the plan, records its one operation."""

    def __init__(self, run: _Run, name: str, layer: LayerPlan) -> None:
        super().__init__(run, name)
        self.layer = layer
        if layer.type == "conv":
            self.weights = [
                run.weight(
                    (
                        layer.out_channels,
                        layer.in_channels // layer.groups,
                        layer.kernel,
                        layer.kernel,
                    )
                )
            ]
        elif layer.type == "bn":
            self.weights = [run.weight((layer.out_channels,)), run.weight((layer.out_channels,))]
        elif layer.type == "linear":
            self.weights = [run.weight((layer.out_channels, layer.in_channels))]
        else:
            self.weights = []
        if layer.bias and layer.type in ("conv", "linear"):
            self.weights.append(run.weight((layer.out_channels,)))

    def forward(self, x: _Tensor) -> _Tensor:
        layer, run = self.layer, self.run
        linear = layer.type == "linear"
        expected = (x.shape[0], layer.in_channels) + (() if linear else layer.in_size)
        if x.shape != expected:
            run.refuse(
                f"{layer.type} planned for an input of {_shape(expected)}, got {_shape(x.shape)}"
            )
        _, operation, synthetic = _LAYERS[layer.type]
        if operation is None:  # identity
            return x
        if layer.type == "relu":
            run.record(operation, [x], [x], synthetic=True)
            return x
        shape = (x.shape[0], layer.out_channels) + (() if linear else layer.out_size)
        out = run.new(shape)
        attributes: dict[str, Any] = {"synthetic": synthetic}
        if layer.type == "conv":
            attributes |= {
                "kernel": (layer.kernel, layer.kernel),
                "stride": (layer.stride, layer.stride),
                "weight_shape": self.weights[0].shape,
            }
        elif layer.type in ("maxpool", "avgpool", "avgpool_ceil"):
            attributes |= {
                "kernel": (layer.kernel, layer.kernel),
                "stride": (layer.stride, layer.stride),
            }
        elif layer.type in ("pad", "zeropad"):
            attributes |= {"kernel": (1, 1), "stride": (layer.stride, layer.stride)}
        elif layer.type == "bn":
            attributes["affine"] = True
        elif linear:
            attributes["weight_shape"] = self.weights[0].shape
        run.record(operation, [x, *self.weights], [out], **attributes)
        return out


class _Sequence(_Module):
    """nn.Sequential: its children in order (a stage's blocks, a projection's conv and BN)."""

    def __init__(self, run: _Run, name: str, children: list[_Module]) -> None:
        super().__init__(run, name)
        self.children = children

    def forward(self, x: _Tensor) -> _Tensor:
        for child in self.children:
            x = child(x)
        return x


class _Option(_Module):
    """A block option's child module (`se`): its layers as attributes, its option's forward."""

    def __init__(self, run: _Run, name: str, key: str, layers: list[LayerPlan]) -> None:
        super().__init__(run, name)
        self.key = key
        for layer in layers:
            setattr(self, layer.name, _Layer(run, f"{name}.{layer.name}", layer))

    def forward(self, x: _Tensor) -> _Tensor:
        out: _Tensor = OPTIONS[self.key].forward(self, x)
        return out


class _Block(_Module):
    """A residual block: its main-path layers, options and shortcut as attributes, as
    build/blocks.py's ResidualBlock has them, and its block type's forward."""

    def __init__(self, run: _Run, plan: BlockPlan) -> None:
        super().__init__(run, plan.name)
        self.plan = plan
        children = plan.option_layers
        shortcut: list[LayerPlan] = []
        for layer in plan.layers:
            child = layer.name.partition(".")[0]
            if child == "downsample":
                shortcut.append(layer)
            elif child not in children:
                setattr(self, layer.name, _Layer(run, f"{plan.name}.{layer.name}", layer))
        for key, layers in children.items():
            setattr(self, key, _Option(run, f"{plan.name}.{key}", key, layers))
        self.options = list(children)
        self.residual = plan.shortcut != "none"
        self.downsample: _Module | None = None
        if plan.shortcut == "zeropad":
            self.downsample = _Layer(run, f"{plan.name}.downsample", shortcut[0])
        elif plan.shortcut in _SHORTCUTS:
            self.downsample = _Sequence(
                run,
                f"{plan.name}.downsample",
                [_Layer(run, f"{plan.name}.{layer.name}", layer) for layer in shortcut],
            )

    def forward(self, x: _Tensor) -> _Tensor:
        out: _Tensor = BLOCKS[self.plan.type].forward(self, x)
        return out

    def add_shortcut(self, out: _Tensor, x: _Tensor) -> _Tensor:
        result: _Tensor = add_shortcut(self, out, x)
        return result


class _Network:
    """The model itself (not a recorded call, as the meta pass hooks only named modules)."""

    def __init__(self, run: _Run, plan: NetworkPlan) -> None:
        self.stem_names = [layer.name for layer in plan.stem]
        self.head_names = [layer.name for layer in plan.head]
        self.flatten_before = {layer.name for layer in plan.head if layer.type == "linear"}
        for layer in (*plan.stem, *plan.head):
            setattr(self, layer.name, _Layer(run, layer.name, layer))
        self.stage_names = []
        for stage in sorted({block.stage for block in plan.blocks}):
            name = f"layer{stage + 1}"
            blocks: list[_Module] = [_Block(run, block) for block in plan.stage_blocks(stage)]
            setattr(self, name, _Sequence(run, name, blocks))
            self.stage_names.append(name)


def plan_trace(plan: NetworkPlan, batch_size: int, element_bytes: int) -> Trace:
    """The Trace the meta pass would record for the model built from `plan`."""
    run = _Run(element_bytes)
    network = _Network(run, plan)
    x = run.new((batch_size, *plan.input))
    output = forward_network(network, x)
    return Trace(
        modules=run.calls,
        ops=run.ops,
        input=x.ref,
        outputs=[output.ref],
        batch_size=batch_size,
        element_bytes=element_bytes,
        infos=plan_infos(plan),
    )


def _leaf(name: str, layer: LayerPlan) -> ModuleInfo:
    kind = layer.type
    windowed = kind in ("conv", "maxpool", "avgpool", "avgpool_ceil")
    weights = layer.params - (layer.out_channels if layer.bias else 0) if kind == "conv" else 0
    return ModuleInfo(
        name=name,
        type=_LAYERS[kind][0],
        is_leaf=True,
        params=layer.params,
        trainable_params=layer.params,
        own_params=layer.params,
        buffers=layer.buffers,
        kernel=[layer.kernel, layer.kernel] if windowed else None,
        stride=[layer.stride, layer.stride] if windowed or kind == "zeropad" else None,
        groups=layer.groups if kind == "conv" else None,
        conv_weights=weights,
        is_conv2d=kind == "conv",
        shortcut="zeropad" if kind == "zeropad" else None,
    )


def plan_infos(plan: NetworkPlan) -> dict[str, ModuleInfo]:
    """Every module the builder makes from `plan` (the model first, each container before what
    it holds), with the facts trace.module_infos reads from the built model."""
    infos: dict[str, ModuleInfo] = {}
    below: dict[str, list[ModuleInfo]] = {"": []}  # container -> the leaves under it

    def container(name: str) -> None:  # its entry now, its facts once its leaves are known
        infos[name] = ModuleInfo(name, "", False, 0, 0, 0, 0)
        below[name] = []

    def leaf(name: str, layer: LayerPlan) -> None:
        infos[name] = _leaf(name, layer)
        parts = name.split(".")
        for end in range(len(parts)):
            below[".".join(parts[:end])].append(infos[name])

    container("")
    for layer in plan.stem:
        leaf(layer.name, layer)
    types = {"": "ResNet"}
    facts: dict[str, dict[str, Any]] = {}
    for block in plan.blocks:
        stage = block.name.partition(".")[0]
        if stage not in below:
            container(stage)
            types[stage] = "Sequential"
        container(block.name)
        types[block.name] = BLOCKS[block.type].class_name
        for layer in block.layers:
            child = layer.name.partition(".")[0]
            name = f"{block.name}.{layer.name}"
            if child in OPTIONS and f"{block.name}.{child}" not in below:
                container(f"{block.name}.{child}")
                types[f"{block.name}.{child}"] = OPTIONS[child].class_name
                facts[f"{block.name}.{child}"] = {"option": True}
            elif block.shortcut in _SHORTCUTS and child == "downsample":
                if f"{block.name}.downsample" not in below:
                    container(f"{block.name}.downsample")
                    types[f"{block.name}.downsample"] = _SHORTCUTS[block.shortcut]
                    facts[f"{block.name}.downsample"] = {"shortcut": block.shortcut}
            leaf(name, layer)
    for layer in plan.head:
        leaf(layer.name, layer)
    for name, leaves in below.items():
        params = sum(info.params for info in leaves)
        buffers = sum(info.buffers for info in leaves)
        infos[name] = ModuleInfo(
            name, types[name], False, params, params, 0, buffers, **facts.get(name, {})
        )
    return infos
