"""Per-module rows from the trace: shapes, parameters, MACs, fvcore flops, activation memory,
receptive field. Containers (stages, blocks) sum the operations that ran inside them."""

from __future__ import annotations

from collections import defaultdict

from resnet_inspect.analyzers.flops import op_attention_macs, op_full_flops, op_macs
from resnet_inspect.analyzers.memory import allocations
from resnet_inspect.analyzers.receptive_field import Field
from resnet_inspect.analyzers.records import ModuleCall, ModuleInfo, Trace
from resnet_inspect.report import OWN_PARAMETERS, OWN_TYPE, LayerRow


def _field_at_output(call: ModuleCall, trace: Trace, after: list[Field | None]) -> Field | None:
    for index in range(call.first_end - 1, call.first_op - 1, -1):
        op = trace.ops[index]
        if op.outputs and op.outputs[0].key == call.output_key:
            return after[index]
    return None


def _ran(trace: Trace) -> list[tuple[ModuleInfo, ModuleCall | None]]:
    """Every module that ran, in the order first entered, each preceded by the containers it
    belongs to that were never called themselves (an nn.ModuleList the forward loops over):
    their rows sum what ran inside them."""
    order: list[tuple[ModuleInfo, ModuleCall | None]] = []
    seen: set[str] = set()
    infos = trace.infos
    for name, call in trace.modules.items():
        for container in trace.enclosing(name)[:-1]:
            if container not in trace.modules and container not in seen:
                seen.add(container)
                order.append((infos[container], None))
        order.append((infos[name], call))
    return order


def module_rows(
    trace: Trace, after: list[Field | None], off_main_path: set[str] | None = None
) -> list[LayerRow]:
    """One row per module that ran, in the order the modules were first entered. Rows in or
    under a module of `off_main_path` (shortcut branches, block options) are marked so."""
    off_main_path = off_main_path or set()
    macs: dict[str, int] = defaultdict(int)
    attention: dict[str, int] = defaultdict(int)
    full: dict[str, int] = defaultdict(int)
    activation: dict[str, int] = defaultdict(int)
    made = allocations(trace)
    direct: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))  # ops a module ran itself
    prefixes: dict[str, list[str]] = {}  # module -> the containers it is in, and itself

    def enclosing(name: str) -> list[str]:
        if name not in prefixes:
            prefixes[name] = trace.enclosing(name)
        return prefixes[name]

    for index, op in enumerate(trace.ops):
        counted = op_full_flops(op)
        new_bytes = sum(
            ref.nbytes for ref in op.outputs if made.get(ref.key, (None, 0))[0] == index
        )
        op_mac, op_attention = op_macs(op), op_attention_macs(op)
        op_full = counted[1] if counted else 0
        direct[op.module] = (direct[op.module][0] + op_mac, direct[op.module][1] + op_full)
        for prefix in enclosing(op.module):
            macs[prefix] += op_mac
            attention[prefix] += op_attention
            full[prefix] += op_full
            activation[prefix] += new_bytes

    rows = []
    for info, call in _ran(trace):
        name = info.name
        field = _field_at_output(call, trace, after) if call is not None else None
        rows.append(
            LayerRow(
                name=name,
                type=info.type,
                depth=len(enclosing(name)),
                stage=enclosing(name)[0],
                is_leaf=info.is_leaf,
                output_shape=call.output_shape if call is not None else [],
                params=info.params,
                trainable_params=info.trainable_params,
                macs=macs[name],
                attention_macs=attention[name],
                kernel=info.kernel,
                stride=info.stride,
                groups=info.groups,
                calls=call.calls if call is not None else 0,
                full_flops=full[name],
                activation_bytes=activation[name],
                receptive_field=field.size if field else None,
                effective_stride=field.stride if field else None,
                global_field=bool(field and field.global_from),
                main_path=off_main_path.isdisjoint(enclosing(name)),
            )
        )
    return _with_own_parameters(rows, trace, direct)


def own_row_name(container: str) -> str:
    return f"{container} {OWN_PARAMETERS}" if container else OWN_PARAMETERS


def _with_own_parameters(
    rows: list[LayerRow], trace: Trace, direct: dict[str, tuple[int, int]]
) -> list[LayerRow]:
    """A row for the parameters a container holds directly (a ViT's class token and position
    embedding, a layer scale), right after the container's own row, with the multiply-adds of
    the operations the container runs itself (a MultiheadAttention's projections), so that the
    leaf rows sum to the model's parameters."""
    children: dict[str, list[ModuleInfo]] = defaultdict(list)
    for info in trace.infos.values():
        if info.parent is not None:
            children[info.parent].append(info)
    result: list[LayerRow] = []

    def own(info: ModuleInfo, depth: int, stage: str, main_path: bool) -> LayerRow:
        trainable = info.trainable_params - sum(c.trainable_params for c in children[info.name])
        name = own_row_name(info.name)
        return LayerRow(
            name=name,
            type=OWN_TYPE,
            depth=depth,
            stage=stage or name,
            is_leaf=True,
            output_shape=[],
            params=info.own_params,
            trainable_params=max(0, min(trainable, info.own_params)),
            macs=direct[info.name][0] if info.name in direct else 0,
            full_flops=direct[info.name][1] if info.name in direct else 0,
            calls=0,
            main_path=main_path,
        )

    listed = {row.name for row in rows}

    def unused(parent: str, depth: int, stage: str, main_path: bool) -> None:
        """Modules holding parameters that never ran themselves (a MultiheadAttention's
        out_proj, whose weight its parent's forward reads; a head left unused)."""
        for child in children[parent]:
            if child.name in listed or not child.params:
                continue
            listed.add(child.name)
            result.append(
                LayerRow(
                    name=child.name,
                    type=child.type,
                    depth=depth,
                    stage=stage or child.name,
                    is_leaf=child.is_leaf,
                    output_shape=[],
                    params=child.params,
                    trainable_params=child.trainable_params,
                    macs=0,
                    kernel=child.kernel,
                    stride=child.stride,
                    groups=child.groups,
                    calls=0,
                    main_path=main_path,
                )
            )
            if not child.is_leaf:
                if child.own_params:
                    result.append(own(child, depth + 1, stage or child.name, main_path))
                unused(child.name, depth + 1, stage or child.name, main_path)

    root = trace.infos.get("")
    if root is not None and root.own_params:
        result.append(own(root, 1, "", True))
    for row in rows:
        result.append(row)
        held = trace.infos.get(row.name)
        if held is not None and not held.is_leaf:
            if held.own_params:
                result.append(own(held, row.depth + 1, row.stage, row.main_path))
            unused(held.name, row.depth + 1, row.stage, row.main_path)
    unused("", 1, "", True)
    return result
