"""A 1-D CNN that classifies multichannel time series (e.g. 9 sensor channels, 128 steps)."""

import torch
from torch import nn


class SensorCNN(nn.Module):
    def __init__(self, channels: int = 9, num_classes: int = 6) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(channels, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool1d(2),
        )
        self.head = nn.Linear(64 * 32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.head(x.flatten(1))
