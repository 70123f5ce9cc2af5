"""A small VGG-style network: 3x3 conv blocks with BatchNorm, 2x2 pooling, nn.Flatten."""

from torch import nn


def conv_block(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(convs):
        layers += [
            nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg_small(num_classes: int = 10) -> nn.Sequential:
    """A factory function rather than a class: specs may name either."""
    return nn.Sequential(
        conv_block(3, 32, 2),    # 32 -> 16
        conv_block(32, 64, 2),   # 16 -> 8
        conv_block(64, 128, 2),  # 8 -> 4
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(256, num_classes),
    )
