"""The Report: frozen, JSON-native values only (no tensors), so renderers need no torch.

Per-layer data is keyed by the dotted module path (the key of `named_modules()`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from resnet_inspect.errors import UsageError

# 2: `graph` is null unless a diagram asks for it. 3: totals.attention_macs, output_shape,
# local_receptive_field, global_from; totals.receptive_field may be "global".
REPORT_VERSION = 4
# Element types a report can be made for and latency can run in, with their size in bytes;
# torch's dtype of the same name is used where torch runs (analyzers.torch_dtype).
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
DTYPES = tuple(DTYPE_BYTES)


def element_bytes(dtype: str) -> int:
    """Bytes per element of one of DTYPES; a UsageError naming them otherwise."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return DTYPE_BYTES[dtype]


FULL_CONVENTION = (
    "full = fvcore's convention, with fvcore's handler table: one multiply-add counts 1 for conv "
    "(transposed too), linear, matmul, mm, addmm, bmm and einsum; batch norm 2 per element in "
    "inference (1 without affine), instance/group/layer norm 5 (4 without affine), adaptive "
    "average pooling 1 per input element, upsampling 1 (nearest) or 4 (bilinear) per output "
    "element. Operations fvcore has no handler for are listed in flops.uncounted_ops."
)
MACS_CONVENTION = (
    "macs = multiply-adds of convolutions and of matrix products with a weight operand (linear "
    "layers however they are called), the ResNet paper's 'FLOPs' and torchvision's _ops; "
    "flops = 2 x macs. attention_macs = multiply-adds of products of two activations (attention), "
    "counted apart. torchinfo's 'Mult-Adds' is larger: it also multiplies every batch-norm "
    "parameter and bias by its output size."
)
PARAMS_CONVENTION = (
    "params = learnable weights (PyTorch's count); buffers = batch-norm running mean and variance "
    "(num_batches_tracked excluded). Keras' 'Total params' = params + buffers."
)


# The row of the parameters a container holds itself (a class token, a layer scale): named
# "(own parameters)" (after the container's path), of type "Parameter".
OWN_PARAMETERS = "(own parameters)"
OWN_TYPE = "Parameter"


@dataclass(frozen=True)
class LayerRow:
    """One module. Containers (stages, blocks) sum the leaves below them."""

    name: str
    type: str
    depth: int  # 1 = child of the model (conv1, layer1, fc), 2 = block, 3+ = inside a block
    stage: str  # top-level child it belongs to: "conv1", "layer2", "fc", ...
    is_leaf: bool
    output_shape: list[int]
    params: int
    trainable_params: int
    macs: int
    kernel: list[int] | None = None
    stride: list[int] | None = None
    groups: int | None = None
    calls: int = 1
    full_flops: int = 0  # fvcore's convention (conv, linear, batch norm, pooling, ...)
    activation_bytes: int = 0  # new tensors this module's operations made
    # pixels of the input one output position sees through convolution and pooling windows
    receptive_field: int | None = None
    # input pixels between neighbouring output positions: a fraction (0.5) where a map grew
    effective_stride: int | float | None = None
    # a global operation upstream (pooling, attention, an SE gate) makes it see the whole input
    global_field: bool = False
    attention_macs: int = 0  # products of two activations (attention), beside `macs`
    # False on a shortcut branch or in a block option (an SE gate): off the paper's main path.
    main_path: bool = True


@dataclass(frozen=True)
class StageRow:
    name: str
    kind: str  # "stem", "stage", "head"
    blocks: int
    output_shape: list[int]
    params: int
    macs: int
    full_flops: int = 0
    receptive_field: int | None = None
    effective_stride: int | float | None = None
    weighted_layers: int = 0  # convolutions + fully connected layers in the stage
    unit: str = "block"  # what `blocks` counts: "block" (containers), "layer" or "module"

    @property
    def macs_per_layer(self) -> int:
        """The paper's "time complexity per layer": MACs per weighted layer in the stage."""
        return self.macs // self.weighted_layers if self.weighted_layers else 0


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    macs: int
    flops: int
    keras_total_params: int
    weighted_layers: int  # convolutions + fully connected layers
    depth: int  # weighted layers less projection shortcuts: the paper's "50" of ResNet-50
    # Of the last feature map with positions (before global pooling): its local field in pixels,
    # or "global" when a global operation upstream (pooling, attention, an SE gate) makes it
    # see the whole input; `global_from` names the module where it became global.
    receptive_field: int | str | None = None
    effective_stride: int | float | None = None
    local_receptive_field: int | None = None  # through convolution and pooling windows only
    global_from: str | None = None
    conv_weights: int = 0  # convolution weights only: no bias, no BN (the notes' 69,632)
    attention_macs: int = 0  # products of two activations (q·kᵀ, attention × v)
    output_shape: list[int] | None = None  # the model's own output
    # every tensor the forward returned, with its place in it: [{"name": "['out']", "shape"}]
    outputs: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class FlopsSection:
    """FLOPs in fvcore's convention ("full"): the total, per operator, and the operations no
    formula covers (name -> count), never silently zero. `by_module` when fvcore itself ran."""

    engine: str
    full_total: int
    by_operator: dict[str, int]
    uncounted_ops: dict[str, int]
    by_module: dict[str, int] | None = None

    @property
    def label(self) -> str:
        """What the `full` figure is called: fvcore's own count, or ours in its convention."""
        return "fvcore flops" if self.engine == "fvcore" else "full (fvcore's convention)"


@dataclass(frozen=True)
class MemorySection:
    """Bytes an ideal allocator would see: weights, buffers, activations at inference (peak of
    live tensors) and in training (saved for backward, gradients, optimizer state)."""

    param_bytes: int
    buffer_bytes: int
    activation_bytes: int
    inference_peak_activation_bytes: int
    inference_bytes: int
    saved_activation_bytes: int
    training_bytes: dict[str, int]  # "sgd", "sgd_momentum", "adam"
    assumed_ops: list[str]  # ops whose saved tensors were guessed


@dataclass(frozen=True)
class CheckRow:
    name: str
    analytic_params: int | None  # None: the block type states no closed form
    measured_params: int
    analytic_macs: int | None
    measured_macs: int
    ok: bool


@dataclass(frozen=True)
class CheckSection:
    """The spec's closed-form arithmetic against the model counted layer by layer, stage by
    stage."""

    ok: bool
    stages: list[CheckRow]


@dataclass(frozen=True)
class LatencySection:
    """Measured latency: the settings, one row per batch size (median_ms, p10_ms, p90_ms,
    mean_ms, cv, images_per_s, tflops, peak_fraction, samples, error), the breakdown."""

    device: str
    device_name: str
    dtype: str
    channels_last: bool
    compile_mode: str | None
    cuda_graphs: bool
    threads: int
    warmup: int
    iters: int
    min_time_s: float
    peak_tflops: float | None
    timing: str
    rows: list[dict[str, Any]]
    breakdown: list[dict[str, Any]] | None
    breakdown_batch_size: int | None
    warnings: list[str]
    interrupted: bool
    torch: str


@dataclass(frozen=True)
class GraphSection:
    """The data flow of one forward, for diagrams: nodes (ops and leaf-module calls) and edges
    (activations, with their shape and shortcut kind)."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


@dataclass(frozen=True, repr=False)
class Report:
    """Everything resnet-inspect knows about one model at one input: per-module rows
    (`layers`), per-stage rows (`stages`), `totals`, and the flops, memory, check, latency and
    graph sections. JSON-native values only; `to_json()` is the `summary --format json` text.

    In a notebook a Report displays itself: the totals and the stage table as HTML
    (`_repr_html_`), the summary table under rich (`__rich__`); `html(diagram=True)` adds the
    drawing. `to_pandas()` gives one DataFrame row per module (pandas needed)."""

    model: str
    source: str
    input_shape: list[int]  # [C, H, W]
    batch_size: int
    dtype: str
    layers: list[LayerRow]
    stages: list[StageRow]
    totals: Totals
    # a model given several, named or typed inputs: [{"name", "shape" (batch first), "dtype"}]
    inputs: list[dict[str, Any]] | None = None
    conventions: dict[str, str] = field(
        default_factory=lambda: {
            "macs": MACS_CONVENTION,
            "full": FULL_CONVENTION,
            "params": PARAMS_CONVENTION,
        }
    )
    spec: dict[str, Any] | None = None
    flops: FlopsSection | None = None  # analyzers.flops
    memory: MemorySection | None = None  # analyzers.memory
    check: CheckSection | None = None  # analyzers.analytic, with --check
    latency: LatencySection | None = None  # analyzers.latency, when measured
    graph: GraphSection | None = None  # analyzers.graph: data flow, when a diagram asks
    environment: dict[str, Any] = field(default_factory=dict)  # versions; not the numbers
    report_version: int = REPORT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The report as plain dicts and lists (what the JSON holds)."""
        return asdict(self)

    def to_json(self) -> str:
        """The report as the JSON text `summary --format json` prints (schema in the README)."""
        from resnet_inspect.render.data import render_json

        return render_json(self)

    def to_pandas(self, depth: str | None = None) -> Any:
        """One pandas DataFrame row per module, with the JSON's per-layer columns: every module
        that ran, or those of `depth` ("stage", "block", "layer"). Needs pandas."""
        rows = self.layers if depth is None else self.layers_at(depth)
        return _data_frame([dict(row.__dict__) for row in rows])

    def html(self, diagram: bool = False, depth: str = "block") -> HtmlFragment:
        """The totals and the stage table as an HTML fragment (a notebook shows it); with
        `diagram`, the drawing above them (needs a Graphviz renderer, see render/diagram.py),
        its data-flow graph made again from the spec where the report was made without it."""
        from resnet_inspect.render.html import render_fragment

        report = self
        if diagram and self.graph is None:
            from resnet_inspect.pipeline import with_graph

            report = with_graph(self)
        return HtmlFragment(render_fragment(report, diagram, depth))

    def _repr_html_(self) -> str:
        return str(self.html())

    def __rich__(self) -> Any:
        from resnet_inspect.render.table import render_table

        return render_table(self)

    def __repr__(self) -> str:
        shape = "×".join(str(d) for d in [self.batch_size, *self.input_shape])
        return (
            f"<Report {self.model!r}: input {shape}, {self.totals.params:,} params, "
            f"{self.totals.macs:,} MACs, {len(self.layers)} modules>"
        )

    def top(self, n: int = 10, by: str = "macs") -> list[dict[str, Any]]:
        """The `n` heaviest leaf modules by `by` (one of TOP_MEASURES: "macs", "params",
        "activations" — the bytes a module's operations allocate — or "latency", the measured
        per-module breakdown), each with its share of the whole: JSON-native dicts with
        `rank`, `name`, `type`, `value`, `share`, `output_shape`, `params`, `macs`,
        `activation_bytes` (for latency, of the top-level module; `None` for "other", the
        work between modules)."""
        if by not in TOP_MEASURES:
            raise ValueError(f"by must be one of {', '.join(TOP_MEASURES)}, not {by!r}")
        if by == "latency":
            if self.latency is None or not self.latency.breakdown:
                raise UsageError(
                    "--by latency needs a measured per-module breakdown (summary --latency)"
                )
            parts = {str(part["name"]): float(part["ms"]) for part in self.latency.breakdown}
            whole = parts.pop("whole model", None)
            rows = {row.name: row for row in self.layers}
            entries = [(value, name, rows.get(name)) for name, value in parts.items()]
            total = whole if whole is not None else sum(value for value, _, _ in entries)
        else:
            field_name = {"macs": "macs", "params": "params", "activations": "activation_bytes"}[by]
            leaves = [row for row in self.layers if row.is_leaf]
            entries = [(getattr(row, field_name), row.name, row) for row in leaves]
            total = sum(value for value, _, _ in entries)
        ranked = sorted((entry for entry in entries if entry[0]), key=lambda entry: -entry[0])[
            : max(0, n)
        ]
        return [
            {
                "rank": rank,
                "name": name,
                "type": row.type if row is not None else None,
                "by": by,
                "value": value,
                "share": value / total if total else 0.0,
                "output_shape": row.output_shape if row is not None else None,
                "params": row.params if row is not None else None,
                "macs": row.macs if row is not None else None,
                "activation_bytes": row.activation_bytes if row is not None else None,
            }
            for rank, (value, name, row) in enumerate(ranked, 1)
        ]

    def layers_at(self, depth: str) -> list[LayerRow]:
        """Rows for a summary level: 'stage' (model children), 'block', or 'layer' (leaves)."""
        if depth == "layer":
            return [row for row in self.layers if row.is_leaf]
        limit = 1 if depth == "stage" else 2
        return [
            row for row in self.layers if row.depth == limit or (row.is_leaf and row.depth < limit)
        ]


# What summary --top ranks by: a leaf's multiply-adds, parameters, the bytes its operations
# allocate, or a top-level module's measured time.
TOP_MEASURES = ("macs", "params", "activations", "latency")


SIGNAL_VERSION = 1
SIGNAL_CONVENTIONS = {
    "avg_sq_channel_mean": "the block's output: the mean over channels of the squared channel "
    "mean (mean over batch and positions); timm's avg_sq_ch_mean",
    "avg_channel_variance": "the block's output: the mean over channels of the channel variance "
    "(over batch and positions, unbiased); timm's avg_ch_var",
    "residual_variance": "the residual branch F(x) just before the add, as avg_channel_variance; "
    "timm's avg_ch_var_residual; null for a block without an add",
    "response_std": "the standard deviation over all elements of the layer's response: the "
    "output of the norm that takes the layer's output (BN), before the activation, or the "
    "layer's own output where no norm follows (the ResNet paper's Figure 7)",
    "grad_norm": "the L2 norm of the weight's gradient of a cross-entropy loss (mean over the "
    "batch) on the labels",
    "grad_norm_ratio": "grad_norm of the first convolution on the main path over the last's "
    "(the first and last weighted layer where there are fewer than two convolutions); "
    "ratio_layers names them; null where not finite",
    "channels": "dimension 1 of a 2-D or 4-D output, the last of a 3-D one (tokens)",
}


@dataclass(frozen=True)
class SignalBlock:
    """One block's Signal Propagation Plot figures (Brock, De & Smith 2021)."""

    name: str
    type: str
    avg_sq_channel_mean: float
    avg_channel_variance: float
    residual_variance: float | None  # None: no residual add (a plain network's block)


@dataclass(frozen=True)
class SignalLayer:
    """One weighted layer (convolution or fully connected): Figure 7's response and the
    gradient's norm."""

    name: str
    type: str
    main_path: bool  # False on a shortcut branch or in a block option (an SE gate)
    response_std: float
    response_of: str  # the module whose output `response_std` is of (the layer's BN, or itself)
    grad_norm: float


@dataclass(frozen=True, repr=False)
class SignalReport:
    """How signal and gradient propagate through one network on one batch: per block, the
    Signal Propagation Plot's three figures; per weighted layer, the response's standard
    deviation and the gradient's norm; the ratio of the first layer's gradient norm to the
    last's. `signal --format json` prints a list of these, one per network."""

    model: str
    source: str
    mode: str  # "train": batch statistics, as at the start of training; "eval"
    input: dict[str, Any]  # shape [N, C, H, W], kind ("normal" or the data's name), seed
    loss: float
    blocks: list[SignalBlock]
    layers: list[SignalLayer]
    grad_norm_ratio: float | None
    ratio_layers: list[str]  # [first, last]
    conventions: dict[str, str] = field(default_factory=lambda: dict(SIGNAL_CONVENTIONS))
    environment: dict[str, Any] = field(default_factory=dict)
    signal_version: int = SIGNAL_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        ratio = f"{self.grad_norm_ratio:.3g}" if self.grad_norm_ratio is not None else "n/a"
        return (
            f"<SignalReport {self.model!r}: {len(self.blocks)} blocks, {len(self.layers)} "
            f"weighted layers, gradient norm first/last {ratio}>"
        )


TRAINING_VERSION = 1


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one network: errors are fractions (0.08 = 8%), over the epoch's training
    images as the network saw them (augmented, in training mode) and over the whole test set
    (evaluation mode)."""

    epoch: int  # 1-based
    train_loss: float
    train_error: float
    test_loss: float | None
    test_error: float | None
    lr: float  # the learning rate the epoch ran at
    images_per_s: float
    seconds: float


@dataclass(frozen=True)
class TrainedNetwork:
    """One network of a training run: its curves, how it ended, memory predicted and
    measured, and Figure 7's responses re-measured on the trained weights."""

    name: str
    source: str
    residual: bool  # whether the forward has a residual add
    params: int
    epochs: list[EpochRecord]
    status: str  # "done", "stopped: …" (a NaN loss), "interrupted"
    memory: dict[str, Any]  # predicted and measured saved-activation and peak bytes
    trained_signal: SignalReport | None = None


@dataclass(frozen=True, repr=False)
class TrainingRun:
    """`train`'s result: the data, the recipe every network ran with, and each network."""

    data: str
    recipe: dict[str, Any]
    networks: list[TrainedNetwork]
    environment: dict[str, Any] = field(default_factory=dict)
    training_version: int = TRAINING_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        ends = ", ".join(
            f"{n.name} {100 * n.epochs[-1].train_error:.1f}%" for n in self.networks if n.epochs
        )
        return f"<TrainingRun on {self.data}: final training error {ends or 'none yet'}>"


@dataclass(frozen=True, repr=False)
class Comparison:
    """Several Reports side by side, with what differs from the baseline (the first item unless
    chosen): module by module (params and MACs) and spec key by key. Displays itself in a
    notebook like a Report; `to_json()` is `compare --format json`."""

    items: list[Report]
    baseline: int
    module_differences: list[list[dict[str, Any]]]  # per item: rows that differ from the baseline
    spec_differences: list[list[dict[str, Any]]]  # per item: keys whose values differ
    conventions: dict[str, str] = field(
        default_factory=lambda: {
            "macs": MACS_CONVENTION,
            "full": FULL_CONVENTION,
            "params": PARAMS_CONVENTION,
        }
    )
    report_version: int = REPORT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The comparison as the JSON text `compare --format json` prints."""
        from resnet_inspect.render.comparison_table import render_comparison_json

        return render_comparison_json(self)

    def to_pandas(self) -> Any:
        """One DataFrame row per item: name, params, MACs, FLOPs, conv weights (needs pandas)."""
        return _data_frame(
            [
                {
                    "model": item.model,
                    "source": item.source,
                    "params": item.totals.params,
                    "conv_weights": item.totals.conv_weights,
                    "macs": item.totals.macs,
                    "flops": item.totals.flops,
                    "depth": item.totals.depth,
                }
                for item in self.items
            ]
        )

    def _repr_html_(self) -> str:
        from resnet_inspect.render.html import render_comparison_fragment

        return render_comparison_fragment(self)

    def __rich__(self) -> Any:
        from resnet_inspect.render.comparison_table import render_comparison

        return render_comparison(self)

    def __repr__(self) -> str:
        names = ", ".join(repr(item.model) for item in self.items)
        return f"<Comparison of {names}; baseline {self.items[self.baseline].model!r}>"


class HtmlFragment(str):
    """HTML text that a notebook displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def _data_frame(records: list[dict[str, Any]]) -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_pandas() needs pandas: pip install pandas (or use to_dict() / to_json())"
        ) from None
    return pandas.DataFrame.from_records(records)
