"""The pass over a spec's plan, without torch: the records the meta pass (analyzers/trace/)
makes for the built model, in a few milliseconds instead of building hundreds of nn.Modules.

A walker over the plan tree makes a stand-in for every node. A Layer's stand-in checks the
shape it is given against the plan and records the one operation its layer kind says the
module records (plan/layer_kinds/: the same name, operands, hyper-parameters and storage
identity the traced fast path records for the built module). A container's stand-in is an
instance of its recipe's class (plan/: ResNet, Bottleneck, SqueezeExcitation…) set up by the
recipe's own `__init__` and run by its own `forward`, with stand-in tensors; stages and
projections run their children in order, as nn.Sequential does. Module calls are recorded in
the order the forward enters them, as the meta pass's hooks record them; each module's facts
(type, parameters, kernel) come from the plan as the builder makes the module.

The stand-in tensors model what a forward may do (plan/blocks' StandInTensor: `+`, `+=`, `*`,
`flatten`); anything else raises StandInError, and the pipeline traces the built model
instead. A test holds the report of this pass to the report of the built model's meta pass,
field by field, for every preset and for generated specs.
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
from resnet_inspect.errors import AnalysisError
from resnet_inspect.plan.layer_kinds import LAYER_KINDS
from resnet_inspect.plan.network import NetworkPlan
from resnet_inspect.plan.tree import (
    Layer,
    ModuleRecipe,
    Node,
    ShortcutModule,
    join,
    walk,
)


class StandInError(AnalysisError):
    """A forward did what the stand-ins do not model (a torch function, an unknown tensor
    method): the pipeline traces the built model instead."""


class _Tensor:
    """A stand-in activation: a storage key and a shape. The operations a forward may use on
    tensors (`out + x`, `out += x`, `x * gate`, `x.flatten(1)`) record what torch would run."""

    __slots__ = ("key", "nbytes", "ref", "run", "shape")

    def __init__(self, run: _Run, key: int, shape: tuple[int, ...], nbytes: int) -> None:
        self.run, self.key, self.shape, self.nbytes = run, key, shape, nbytes
        self.ref = TensorRef(key, shape, nbytes)  # as the records hold it

    def __iadd__(self, other: _Tensor) -> _Tensor:
        self._same_shape(other, "add")
        self.run.record("aten::add_", [self, other], [self])
        return self

    def __add__(self, other: _Tensor) -> _Tensor:
        self._same_shape(other, "add")
        out = self.run.new(self.shape)
        self.run.record("aten::add", [self, other], [out])
        return out

    def _same_shape(self, other: object, verb: str) -> None:
        if not isinstance(other, _Tensor):
            raise StandInError(f"{self.run.stack[-1]}: cannot {verb} a {type(other).__name__}")
        if other.shape != self.shape:
            self.run.refuse(f"cannot {verb} {_shape(other.shape)} to {_shape(self.shape)}")

    def __mul__(self, other: _Tensor) -> _Tensor:
        if not isinstance(other, _Tensor) or len(other.shape) != len(self.shape):
            raise StandInError(f"{self.run.stack[-1]}: cannot multiply by {other!r}")
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
        raise StandInError(
            f"{self.run.stack[-1] or 'the network'}: the plan's pass has no stand-in for the "
            f"tensor operation {name!r}"
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

    def call(self, name: str, forward: Callable[[Any], Any], x: Any) -> Any:
        """A module call, as the meta pass's pre-hook and hook record it."""
        if not isinstance(x, _Tensor):
            raise StandInError(f"{name} was called with a {type(x).__name__}, not a tensor")
        call = self.calls.get(name)
        if call is None:
            call = self.calls[name] = ModuleCall(name, first_op=len(self.ops))
        self.stack.append(name)
        start = len(self.ops)
        out = forward(x)
        self.stack.pop()
        if not isinstance(out, _Tensor):
            raise StandInError(f"{name} returned a {type(out).__name__}, not a tensor")
        call.spans.append((start, len(self.ops)))
        call.calls += 1
        if call.calls == 1:
            call.first_end = len(self.ops)
            call.output_shape, call.output_key = list(out.shape), out.key
        return out


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape)


class _Layer:
    """One planned layer: checks its input against the plan, records its kind's operation."""

    def __init__(self, run: _Run, path: str, layer: Layer) -> None:
        self.run, self.path, self.layer = run, path, layer
        self.kind = LAYER_KINDS[layer.kind]
        self.weights = [run.weight(shape) for shape in self.kind.weight_shapes(layer)]

    def __call__(self, x: _Tensor) -> _Tensor:
        return self.run.call(self.path, self.forward, x)

    def forward(self, x: _Tensor) -> _Tensor:
        layer, kind, run = self.layer, self.kind, self.run
        channels = (layer.in_channels,)
        expected = (x.shape[0], *channels) + (() if layer.kind == "linear" else layer.in_size)
        if x.shape != expected:
            run.refuse(
                f"{layer.kind} planned for an input of {_shape(expected)}, got {_shape(x.shape)}"
            )
        operation = kind.operation(layer)
        if operation is None:
            return x
        out = x if kind.in_place(layer) else run.new(kind.output_shape(layer, x.shape))
        attributes = kind.attributes(layer)
        run.record(operation, [x, *self.weights], [out], synthetic=kind.fast_path, **attributes)
        return out


class _Sequence:
    """nn.Sequential: its children in order (a stage's blocks, a projection's conv and BN)."""

    def __init__(self, run: _Run, path: str, children: list[Any]) -> None:
        self.run, self.path, self.children = run, path, children

    def __call__(self, x: _Tensor) -> _Tensor:
        return self.run.call(self.path, self.forward, x)

    def forward(self, x: _Tensor) -> _Tensor:
        for child in self.children:
            x = child(x)
        return x


class _StandInModule:
    """What a recipe's stand-in adds to the recipe: children as attributes, and calls that
    are recorded as the meta pass's hooks record them."""

    _run: _Run
    _path: str

    def add_module(self, name: str, module: Any) -> None:
        setattr(self, name, module)

    def __call__(self, x: _Tensor) -> _Tensor:
        forward: Callable[[Any], Any] = self.forward  # type: ignore[attr-defined]
        return self._run.call(self._path, forward, x)


_STAND_INS: dict[type[ModuleRecipe], type[Any]] = {}


def _stand_in_class(recipe: type[ModuleRecipe]) -> type[Any]:
    """The recipe with _StandInModule in front: the recipe's own __init__ and forward run."""
    made = _STAND_INS.get(recipe)
    if made is None:
        made = _STAND_INS[recipe] = type(f"StandIn{recipe.__name__}", (_StandInModule, recipe), {})
    return made


def _stand_in(run: _Run, node: Node, path: str) -> Any:
    if isinstance(node, Layer):
        return _Layer(run, path, node)
    children = {
        child.name: _stand_in(run, child, join(path, child.name)) for child in node.children
    }
    if node.recipe is None or getattr(node.recipe, "sequential", False):
        return _Sequence(run, path, list(children.values()))
    cls = _stand_in_class(node.recipe)
    module = object.__new__(cls)
    module._run, module._path = run, path
    try:
        module.__init__(node, children)
    except AnalysisError:
        raise
    except Exception as err:
        raise StandInError(f"{path or 'the network'}: {node.type_name}.__init__: {err}") from err
    return module


def plan_trace(plan: NetworkPlan, batch_size: int, element_bytes: int) -> Trace:
    """The Trace the meta pass would record for the model built from `plan`."""
    run = _Run(element_bytes)
    network = _stand_in(run, plan.root, "")
    x = run.new((batch_size, *plan.input))
    try:
        output = network.forward(x)  # the model itself is not a recorded call
    except AnalysisError:
        raise
    except Exception as err:  # the forward did what the stand-ins cannot (torch.cat…)
        where = run.stack[-1] or "the network"
        first = str(err).splitlines()[0][:200] if str(err) else ""
        raise StandInError(
            f"{where}: its forward uses an operation the plan's stand-ins do not model "
            f"({type(err).__name__}: {first})"
        ) from err
    if not isinstance(output, _Tensor):
        raise StandInError(f"the network returned a {type(output).__name__}, not a tensor")
    return Trace(
        modules=run.calls,
        ops=run.ops,
        input=x.ref,
        outputs=[output.ref],
        batch_size=batch_size,
        element_bytes=element_bytes,
        infos=plan_infos(plan),
    )


def plan_infos(plan: NetworkPlan) -> dict[str, ModuleInfo]:
    """Every module the builder makes from `plan` (the model first, each container before what
    it holds), with the facts analyzers/trace/ reads from the built model."""
    infos: dict[str, ModuleInfo] = {}
    below: dict[str, tuple[int, int]] = {}  # container -> (params, buffers) of its leaves
    nodes = list(walk(plan.root))
    for path, node, parent in reversed(nodes):  # children before their containers
        if isinstance(node, Layer):
            kind = LAYER_KINDS[node.kind]
            params, buffers = kind.params(node), kind.buffers(node)
            facts: dict[str, Any] = {"is_leaf": True, "own_params": params, **kind.facts(node)}
            type_name = kind.module_type
        else:
            inner = [below[join(path, child.name)] for child in node.children]
            params, buffers = sum(p for p, _ in inner), sum(b for _, b in inner)
            recipe = node.recipe
            facts = {
                "is_leaf": False,
                "own_params": 0,
                "option": node.kind == "option",
                "shortcut": recipe.shortcut_kind
                if recipe is not None and issubclass(recipe, ShortcutModule)
                else None,
            }
            type_name = node.type_name
        below[path] = (params, buffers)
        infos[path] = ModuleInfo(
            name=path,
            type=type_name,
            params=params,
            trainable_params=params,
            buffers=buffers,
            parent=parent,
            **facts,
        )
    return {path: infos[path] for path, _, _ in nodes}


__all__ = ["StandInError", "plan_infos", "plan_trace"]
