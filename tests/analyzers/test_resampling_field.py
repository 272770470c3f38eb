"""Receptive field and effective stride through every resampling operation: upsampling
(nearest, nearest-exact, bilinear, bicubic, with and without aligned corners), interpolation
to a size, transposed convolutions, pixel shuffle and unshuffle, dilated and strided
convolutions, pooling and adaptive pooling, and a UNet whose skips are concatenations. Each
case is held to the gradient support of the output units of a real forward: the rows and
columns of the input with a non-zero gradient, the largest over a block of neighbouring
output positions (a map that grew repeats its pattern every few positions)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_inspect import analyze


class Resample(nn.Module):
    """A strided 3×3 conv, then F.interpolate."""

    def __init__(self, stride: int = 2, **interpolate: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride, 1)
        self.interpolate = interpolate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), **self.interpolate)  # type: ignore[arg-type]


class UNet(nn.Module):
    """Three levels: max-pooling down, a transposed conv and a bilinear upsample up, the skips
    concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Conv2d(2, 4, 3, padding=1)
        self.enc2 = nn.Conv2d(4, 8, 3, padding=1)
        self.enc3 = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(8, 8, 2, 2)
        self.dec2 = nn.Conv2d(16, 4, 3, padding=1)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.enc1(x)
        b = self.enc2(self.pool(a))
        c = self.enc3(self.pool(b))
        d = self.dec2(torch.cat([self.up2(c), b], 1))
        return self.dec1(torch.cat([self.up1(d), a], 1))


def conv(cin: int, cout: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, s, p, dilation=d)


CASES = {
    # (the model, the input's side)
    "nearest x2": (Resample(scale_factor=2, mode="nearest"), 32),
    "nearest-exact x2, then a 3x3": (
        nn.Sequential(Resample(scale_factor=2, mode="nearest-exact"), conv(3, 3, 3, p=1)),
        32,
    ),
    "bilinear x2": (Resample(scale_factor=2, mode="bilinear"), 32),
    "bilinear x2, aligned corners": (
        Resample(scale_factor=2, mode="bilinear", align_corners=True),
        32,
    ),
    "bicubic x2": (Resample(scale_factor=2, mode="bicubic"), 32),
    "bilinear to a size (16 -> 24)": (Resample(size=(24, 24), mode="bilinear"), 32),
    "nearest x3, then a 3x3": (
        nn.Sequential(Resample(scale_factor=3, mode="nearest"), conv(3, 3, 3, p=1)),
        24,
    ),
    "s4 conv, nearest x4, 2x2 conv": (
        nn.Sequential(
            conv(2, 3, 4, 4), nn.Upsample(scale_factor=4), nn.ZeroPad2d((0, 1, 0, 1)), conv(3, 3, 2)
        ),
        32,
    ),
    "transposed k2 s2": (nn.ConvTranspose2d(2, 3, 2, 2), 16),
    "transposed k4 s2 p1": (nn.ConvTranspose2d(2, 3, 4, 2, 1), 16),
    "transposed k3 s2 p1, output padding 1": (nn.ConvTranspose2d(2, 3, 3, 2, 1, 1), 16),
    "transposed k3 s2 dilation 2": (nn.ConvTranspose2d(2, 3, 3, 2, dilation=2), 16),
    "conv s2, transposed k2 s2": (
        nn.Sequential(conv(2, 3, 3, 2, 1), nn.ConvTranspose2d(3, 3, 2, 2)),
        32,
    ),
    "pixel shuffle": (nn.Sequential(conv(2, 12, 3, p=1), nn.PixelShuffle(2)), 16),
    "pixel unshuffle": (nn.Sequential(nn.PixelUnshuffle(2), conv(8, 3, 3, p=1)), 32),
    "dilated, then strided": (nn.Sequential(conv(2, 3, 3, p=2, d=2), conv(3, 3, 3, 2, 1)), 32),
    "average pool 3/2, bilinear x2": (
        nn.Sequential(nn.AvgPool2d(3, 2, 1), nn.Upsample(scale_factor=2, mode="bilinear")),
        32,
    ),
    "adaptive average pool 21 -> 7": (
        nn.Sequential(conv(2, 3, 3, p=1), nn.AdaptiveAvgPool2d(7)),
        21,
    ),
    "adaptive average pool 20 -> 7 (uneven windows)": (nn.AdaptiveAvgPool2d(7), 20),
    "UNet, three levels": (UNet(), 64),
}


def _positive(model: nn.Module) -> nn.Module:
    """Weights positive so that no two paths cancel; max-pooling as average pooling of the same
    window (a max routes the gradient through one input only)."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(parent, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.abs() + 0.1)
    return model.double().eval()


def gradient_support(model: nn.Module, side: int, block: int = 6) -> tuple[int, Fraction]:
    """(the largest support over `block`×`block` output positions around the middle, input
    pixels per output position). Positions whose support reaches the input's border are left
    out (the field counts padding as pixels), as are positions no input reaches (a transposed
    convolution's gaps)."""
    model = _positive(model)
    x = torch.rand(1, 2, side, side, dtype=torch.float64) + 0.5
    height, width = model(x).shape[-2:]
    largest = counted = 0
    for dy in range(block):
        for dx in range(block):
            x = x.detach().requires_grad_(True)
            row, col = height // 2 - block // 2 + dy, width // 2 - block // 2 + dx
            model(x)[0, :, row, col].sum().backward()
            assert x.grad is not None
            touched = x.grad[0].abs().sum(0) > 0
            rows = touched.any(1).nonzero().flatten()
            cols = touched.any(0).nonzero().flatten()
            if not len(rows) or min(rows.min(), cols.min()) == 0:
                continue
            if max(rows.max(), cols.max()) == side - 1:
                continue
            counted += 1
            largest = max(
                largest, int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
            )
    assert counted >= 2
    return largest, Fraction(side, int(width))


@pytest.mark.parametrize("name", list(CASES))
def test_the_field_is_the_gradient_support(name):
    model, side = CASES[name]
    report = analyze(model, (2, side, side))
    support, _ = gradient_support(model, side)
    assert report.totals.receptive_field == support


# (aligned corners: (in - 1) / (out - 1) per position; a dilated transposed conv's output is
# not a whole multiple of its input)
@pytest.mark.parametrize(
    "name", [name for name in CASES if "aligned" not in name and "dilation" not in name]
)
def test_the_effective_stride_is_input_pixels_per_output_position(name):
    model, side = CASES[name]
    report = analyze(model, (2, side, side))
    _, per_position = gradient_support(model, side, block=2)
    stride = report.totals.effective_stride
    assert stride == pytest.approx(float(per_position), abs=1e-6)


def test_the_issues_minimal_cases_by_hand():
    # conv 3x3/2 (field 3, jump 2), then nearest x2: every output copies one position: 3 px,
    # jump 2 / 2 = 1; bilinear x2 reads two neighbours: 3 + 1 * 2 = 5, jump 1.
    nearest = analyze(Resample(scale_factor=2, mode="nearest"), (2, 32, 32)).totals
    bilinear = analyze(Resample(scale_factor=2, mode="bilinear"), (2, 32, 32)).totals
    assert (nearest.receptive_field, nearest.effective_stride) == (3, 1)
    assert (bilinear.receptive_field, bilinear.effective_stride) == (5, 1)
    # A transposed conv k2 s2 gives each output one input pixel; k4 s2 p1 two: jump 1/2.
    lone = analyze(nn.ConvTranspose2d(2, 3, 2, 2), (2, 16, 16)).totals
    wide = analyze(nn.ConvTranspose2d(2, 3, 4, 2, 1), (2, 16, 16)).totals
    assert (lone.receptive_field, lone.effective_stride) == (1, 0.5)
    assert (wide.receptive_field, wide.effective_stride) == (2, 0.5)


def test_a_full_resolution_output_has_stride_one_in_every_row():
    report = analyze(UNet(), (2, 64, 64))
    rows = {row.name: row for row in report.layers}
    assert rows["enc3"].effective_stride == 4
    assert rows["up2"].effective_stride == 2
    assert rows["up1"].effective_stride == 1
    assert rows["dec1"].effective_stride == 1
