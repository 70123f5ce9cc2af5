"""A UNet for segmentation: four 2x2 poolings down, four transposed convs up, with
skip connections. The skips only line up where every pooling divides exactly, so
it takes exactly the input sizes that are multiples of 16."""

import torch
from torch import nn


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(),
    )


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, classes: int = 2, width: int = 16) -> None:
        super().__init__()
        widths = [width * 2**i for i in range(5)]  # 16, 32, 64, 128, 256
        self.down1 = double_conv(in_channels, widths[0])
        self.down2 = double_conv(widths[0], widths[1])
        self.down3 = double_conv(widths[1], widths[2])
        self.down4 = double_conv(widths[2], widths[3])
        self.pool = nn.MaxPool2d(2, 2)
        self.bottom = double_conv(widths[3], widths[4])
        self.up4 = nn.ConvTranspose2d(widths[4], widths[3], 2, stride=2)
        self.dec4 = double_conv(widths[4], widths[3])
        self.up3 = nn.ConvTranspose2d(widths[3], widths[2], 2, stride=2)
        self.dec3 = double_conv(widths[3], widths[2])
        self.up2 = nn.ConvTranspose2d(widths[2], widths[1], 2, stride=2)
        self.dec2 = double_conv(widths[2], widths[1])
        self.up1 = nn.ConvTranspose2d(widths[1], widths[0], 2, stride=2)
        self.dec1 = double_conv(widths[1], widths[0])
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        d3 = self.down3(self.pool(d2))
        d4 = self.down4(self.pool(d3))
        x = self.bottom(self.pool(d4))
        x = self.dec4(torch.cat([self.up4(x), d4], dim=1))
        x = self.dec3(torch.cat([self.up3(x), d3], dim=1))
        x = self.dec2(torch.cat([self.up2(x), d2], dim=1))
        x = self.dec1(torch.cat([self.up1(x), d1], dim=1))
        return self.head(x)
