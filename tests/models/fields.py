"""Models whose receptive fields are known from their architecture alone.

`resnet50_slim` and `mobilenet_v1` are the architectures of the Distill article's table
(TF-slim's resnet_v1_50 and mobilenet_v1) in PyTorch; the small ones each exercise one
rule of the field arithmetic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SlimBottleneck(nn.Module):
    """TF-slim's resnet_v1 unit: the stride in the 3x3 conv, the shortcut subsampled."""

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.shortcut = nn.Conv2d(in_channels, out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.conv3(y) + self.shortcut(x))


def resnet50_slim() -> nn.Module:
    """resnet_v1_50 as TF-slim builds it: each block's stride on its *last* unit (blocks 1-3),
    where torchvision puts it on the first unit of blocks 2-4."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1)]
    in_channels = 64
    for width, units, stride in ((64, 3, 2), (128, 4, 2), (256, 6, 2), (512, 3, 1)):
        for unit in range(units):
            layers.append(SlimBottleneck(in_channels, width, stride if unit == units - 1 else 1))
            in_channels = width * 4
    return nn.Sequential(*layers)


def mobilenet_v1() -> nn.Module:
    """A 3x3 stride-2 conv, then 13 depthwise-separable blocks (3x3 depthwise, 1x1 pointwise)."""
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU()]
    in_channels = 32
    for out, stride in plan:
        layers += [nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels),
                   nn.ReLU(), nn.Conv2d(in_channels, out, 1), nn.ReLU()]
        in_channels = out
    return nn.Sequential(*layers)


class Misaligned(nn.Module):
    """Two 3x3 branches whose fields are offset by one pixel: one padded on both sides, one
    unpadded then padded by 2 on the left and top only. Their sum sees the union, 4 wide."""

    def __init__(self) -> None:
        super().__init__()
        self.centred = nn.Conv2d(1, 4, 3, padding=1)
        self.shifted = nn.Conv2d(1, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.centred(x) + F.pad(self.shifted(x), (2, 0, 2, 0))


class Geometry(nn.Module):
    """Dilation, a transposed conv, adaptive pooling and interpolation in one chain."""

    def __init__(self) -> None:
        super().__init__()
        self.dilated = nn.Conv2d(1, 4, 3, padding=2, dilation=2)       # r = 1 + 4 = 5
        self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)            # r = 5 + 2 = 7, j = 2
        self.up = nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)     # 2 inputs: r = 7 + 2 = 9, j = 1
        self.pool = nn.AdaptiveAvgPool2d(8)                            # 32 -> 8: window 4, r = 9 + 3 = 12, j = 4
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(self.up(self.down(self.dilated(x))))
        return F.interpolate(self.head(y), scale_factor=2, mode="nearest")  # j = 2, r = 12


class Squeeze(nn.Module):
    """A squeeze-and-excitation block: a global pooling rescales every position, so every
    feature after it sees the whole input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excite = nn.Conv2d(8, 8, 1)
        self.out = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.out(y * torch.sigmoid(self.excite(self.squeeze(y))))


class Strides(nn.Module):
    """A merge of branches at different effective strides (a crop of the input at full
    resolution and the whole input at half): no single field, which is said, not guessed."""

    def __init__(self) -> None:
        super().__init__()
        self.fine = nn.Conv2d(1, 4, 3, padding=1)
        self.coarse = nn.Conv2d(1, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fine(x[:, :, :16, :16]) + self.coarse(x)
