"""Models with the mistakes people really make, for `pytest examples/broken`."""

import torch
import torch.nn.functional as F
from torch import nn


class TutorialNetWrongFlatten(nn.Module):
    """The CIFAR-10 tutorial Net with fc1 sized for 36x36 images: 16*6*6 instead of 16*5*5."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 6 * 6, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class WideWindows(nn.Module):
    """Pools with 4x4 windows and a stride-2 conv whose arithmetic does not divide."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=3, stride=2)   # (32 - 3) / 2 is not whole
        self.pool = nn.MaxPool2d(kernel_size=4, stride=4)      # discards 15 of 16 activations
        self.pool_ceil = nn.MaxPool2d(2, 2, ceil_mode=True)    # 3 -> 2, rounding up
        self.fc = nn.Linear(8 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool_ceil(self.pool(self.conv(x)))
        return self.fc(x.flatten(1))


class ChannelMismatch(nn.Module):
    """conv2 expects 8 channels but conv1 makes 6."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))
