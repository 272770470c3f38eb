"""Report -> JSON, CSV and Markdown text."""

from __future__ import annotations

import csv
import io
import json

from resnet_inspect.render import numbers
from resnet_inspect.render.escape import markdown_text, spreadsheet_text
from resnet_inspect.report import Report

CSV_COLUMNS = (
    "name",
    "type",
    "depth",
    "stage",
    "is_leaf",
    "kernel",
    "stride",
    "groups",
    "output_shape",
    "params",
    "trainable_params",
    "macs",
    "full_flops",
    "activation_bytes",
    "receptive_field",
    "effective_stride",
    "calls",
)


def render_json(report: Report, depth: str = "layer", convention: str = "paper") -> str:
    """The whole report (every module, whatever the depth) as one stable JSON object."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"


def render_csv(report: Report, depth: str = "layer", convention: str = "paper") -> str:
    """One row per module at `depth` (every module by default); text cells are spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.layers_at(depth):
        record = row.__dict__
        writer.writerow(
            [
                "x".join(str(v) for v in record[column])
                if isinstance(record[column], list)
                else ""
                if record[column] is None
                else spreadsheet_text(record[column])
                if isinstance(record[column], str)
                else record[column]
                for column in CSV_COLUMNS
            ]
        )
    return out.getvalue()


def render_markdown(report: Report, depth: str = "block", convention: str = "paper") -> str:
    totals = report.totals
    ops = "MACs" if convention == "paper" or not report.flops else report.flops.label
    lines = [
        f"### {markdown_text(report.model)} — input "
        f"{numbers.shape([report.batch_size, *report.input_shape])}",
        "",
        f"| Layer | Type | Kernel/stride | Output shape | Params | {ops} | RF |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in report.layers_at(depth):
        value = row.macs if convention == "paper" else row.full_flops
        lines.append(
            f"| {markdown_text(row.name)} | {markdown_text(row.type)} | "
            f"{numbers.kernel(row.kernel, row.stride, row.groups)} | "
            f"{numbers.shape(row.output_shape)} | {numbers.count(row.params)} | "
            f"{numbers.count(value)} | {row.receptive_field or ''} |"
        )
    lines += [
        "",
        "| Total | Value |",
        "|---|---:|",
        f"| Params | {numbers.count(totals.params)} |",
        f"| Trainable params | {numbers.count(totals.trainable_params)} |",
        f"| Buffers (BN statistics) | {numbers.count(totals.buffers)} |",
        f"| MACs (conv + linear multiply-adds) | {numbers.count(totals.macs)} |",
        f"| FLOPs (2 × MACs) | {numbers.count(totals.flops)} |",
        *(
            [f"| {report.flops.label} | {numbers.count(report.flops.full_total)} |"]
            if report.flops
            else []
        ),
        *(
            [
                f"| Receptive field | "
                f"{numbers.field(totals.receptive_field, totals.local_receptive_field)} "
                f"(stride {totals.effective_stride}) |"
            ]
            if totals.receptive_field
            else []
        ),
        "",
        # our own words, in italics; the identifier _ops as code, so it cannot end them
        "*" + report.conventions["macs"].replace("_ops", "`_ops`") + "*",
        "",
    ]
    return "\n".join(lines)
