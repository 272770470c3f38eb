"""Per-module rows from the trace: shapes, parameters, MACs, fvcore flops, activation memory,
receptive field. Containers (stages, blocks) sum the operations that ran inside them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from resnet_inspect.analyzers.flops import op_attention_macs, op_full_flops, op_macs
from resnet_inspect.analyzers.memory import allocations
from resnet_inspect.analyzers.receptive_field import Field
from resnet_inspect.analyzers.records import ModuleCall, ModuleInfo, Trace
from resnet_inspect.report import LayerRow


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
    # a container the forward never called shows its last descendant's output
    for index, row in enumerate(rows):
        if row.calls == 0:
            last = next(r for r in reversed(rows) if r.name.startswith(row.name + "."))
            rows[index] = replace(row, output_shape=last.output_shape)
    return rows
