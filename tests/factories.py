"""Models for `summary --model tests.factories:NAME` and analyze() tests: written the way
torchvision writes them (one shared ReLU per block, functional adds), not by resnet-inspect."""

from __future__ import annotations

import torch
from torch import nn


class TorchvisionStyleBottleneck(nn.Module):
    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = width * 4
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    """ResNet-50's layout cut to one bottleneck per stage."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(TorchvisionStyleBottleneck(64, 64))
        self.layer2 = nn.Sequential(TorchvisionStyleBottleneck(256, 128, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def small_resnet() -> nn.Module:
    return SmallResNet()


def not_a_model() -> str:
    return "nope"


class TwoBranches(nn.Module):
    """y = conv3x3(x) + conv7x7(x): the receptive field is the larger branch's, 7."""

    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Conv2d(1, 1, 3, padding=1)
        self.large = nn.Conv2d(1, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.small(x) + self.large(x)


class DenseLayer(nn.Module):
    """torchvision's _DenseLayer: BN-ReLU-1x1 (4k), BN-ReLU-3x3 (k) on the concatenated inputs."""

    def __init__(self, channels: int, growth: int = 32) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(channels, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, channels: int, growth: int = 32) -> None:
        super().__init__()
        for index in range(layers):
            self.add_module(f"denselayer{index + 1}", DenseLayer(channels + index * growth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet121(nn.Module):
    """DenseNet-121 as torchvision builds it (blocks of 6, 12, 24, 16 layers, growth 32,
    transitions halving the channels): 7,978,856 parameters."""

    def __init__(self) -> None:
        super().__init__()
        layers = [
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        ]
        channels = 64
        for index, count in enumerate((6, 12, 24, 16)):
            layers.append(DenseBlock(count, channels))
            channels += count * 32
            if index < 3:
                layers += [
                    nn.BatchNorm2d(channels),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(channels, channels // 2, 1, bias=False),
                    nn.AvgPool2d(2, 2),
                ]
                channels //= 2
        layers += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)
        return self.classifier(x)


def densenet121() -> nn.Module:
    return DenseNet121()


class NanAfter(nn.Module):
    """A small network whose output turns NaN after `after` forwards in training mode: a run
    that diverges at a known step."""

    def __init__(self, after: int = 20) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 10)
        self.after = after
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
        features = torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3))
        out = self.fc(features)
        return out * float("nan") if self.calls > self.after else out


def nan_after_20() -> nn.Module:
    return NanAfter(20)


# Hand-written models that are not ResNets, for the drawings and the rows (tests/render/
# test_any_model_drawings.py): each is a pattern public models use.


class ViTBlock(nn.Module):
    """timm's Block: x + attn(norm1(x)), then x + mlp(norm2(x)), both adds inside the block."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Patches, a class token and position embedding of the model's own, three blocks."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 8, 8)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 17, dim))
        self.blocks = nn.Sequential(*(ViTBlock(dim) for _ in range(3)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1)
        tokens = self.blocks(tokens + self.pos_embed)
        return self.head(self.norm(tokens)[:, 0])


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class UNet(nn.Module):
    """Three levels; one max-pool module called at both levels down; up by transposed convs
    and by a bilinear Upsample module; the skips concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = _conv_block(3, 8)
        self.enc2 = _conv_block(8, 16)
        self.bottom = _conv_block(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, 2)
        self.dec2 = _conv_block(32, 16)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec1 = _conv_block(24, 8)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.enc1(x)
        b = self.enc2(self.pool(a))
        c = self.bottom(self.pool(b))
        d = self.dec2(torch.cat([self.up2(c), b], 1))
        return self.out(self.dec1(torch.cat([self.up1(d), a], 1)))


class Inception(nn.Module):
    """Four parallel branches from one input, concatenated (none is a skip)."""

    def __init__(self, cin: int = 16) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(cin, 8, 1)
        self.branch3 = nn.Sequential(nn.Conv2d(cin, 8, 1), nn.Conv2d(8, 8, 3, padding=1))
        self.branch5 = nn.Sequential(nn.Conv2d(cin, 4, 1), nn.Conv2d(4, 4, 5, padding=2))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1
        )


class SEGate(nn.Module):
    """A conv, then its channels scaled by a squeeze-and-excitation gate."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.fc1 = nn.Conv2d(channels, channels // 4, 1)
        self.fc2 = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(out.mean((2, 3), keepdim=True)))))
        return out * gate


class SharedModule(nn.Module):
    """One conv module used on two paths (called twice), the paths added."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.shared = nn.Conv2d(8, 8, 3, padding=1)
        self.side = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.shared(x) + self.shared(self.side(x))


def small_densenet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), DenseBlock(3, 16))


class TextEncoder(nn.Module):
    """Token ids in (integers), an embedding, one encoder layer, a classifier on the mean."""

    def __init__(self, vocabulary: int = 1000, dim: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocabulary, dim)
        self.encoder = nn.TransformerEncoderLayer(dim, 4, 2 * dim, dropout=0.0, batch_first=True)
        self.head = nn.Linear(dim, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(ids)).mean(1))


def text_encoder() -> nn.Module:
    return TextEncoder()


class Segmenter(nn.Module):
    """torchvision's segmentation models' habit: a dict of the main and the auxiliary maps."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 16, 3, 2, 1)
        self.classifier = nn.Conv2d(16, 5, 1)
        self.aux = nn.Conv2d(16, 5, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(x)
        out = nn.functional.interpolate(self.classifier(features), size=x.shape[-2:])
        return {"out": out, "aux": self.aux(features)}


def segmenter() -> nn.Module:
    return Segmenter()


class Masked(nn.Module):
    """An image and a mask of the positions to keep, by keyword."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * mask.unsqueeze(1)


def masked() -> nn.Module:
    return Masked()


class Siamese(nn.Module):
    """Two images through one tower: their features' difference."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.tower(a) - self.tower(b)
