"""More mistakes people make, one model each (see ../explained.cnncheck.yaml)."""

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """A ResNet block that halves the size and doubles the channels, and forgets that the
    shortcut must too: `out + x` adds [1, 128, 16, 16] to [1, 64, 32, 32]."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class ResidualNoShortcut(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.layer2 = BasicBlock(64, 128, stride=2)

    def forward(self, x):
        return self.layer2(self.stem(x))


class TinyUNet(nn.Module):
    """A U-Net whose skip is 97 wide where the decoder gives 96: pooling floored 97 / 2."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(16, 16, 3, padding=1)
        self.up = nn.ConvTranspose2d(16, 16, 2, stride=2)
        self.dec = nn.Conv2d(32, 2, 1)

    def forward(self, x):
        skip = F.relu(self.enc(x))
        x = F.relu(self.mid(self.pool(skip)))
        x = self.up(x)
        return self.dec(torch.cat([x, skip], dim=1))


class ViewBatch(nn.Module):
    """x.view(-1, 8*4*4) after a layer with 16 channels: a batch of 4 becomes 8 rows."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        x = x.view(-1, 8 * 4 * 4)
        return self.fc(x)


class TiedLM(nn.Module):
    """An output layer that shares the embedding's weight: the tensor counts once."""

    def __init__(self, vocab=1000, dim=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.conv = nn.Conv1d(dim, dim, 3, padding=1)
        self.out = nn.Linear(dim, vocab)
        self.out.weight = self.emb.weight

    def forward(self, tokens):
        x = self.emb(tokens).transpose(1, 2)
        return self.out(F.relu(self.conv(x)).transpose(1, 2))


class GroupedConv(nn.Module):
    """72 channels do not split into 32 groups: torch refuses to build it."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 72, 3, padding=1)
        self.grouped = nn.Conv2d(72, 72, 3, padding=1, groups=32)

    def forward(self, x):
        return self.grouped(self.stem(x))


class UpsampleDecoder(nn.Module):
    """A transposed conv meant to double 16 to 32, which gives 31 without output_padding."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1)

    def forward(self, x):
        return self.up(x)


class DilatedBlock(nn.Module):
    """A dilated 3x3 conv with the padding of an undilated one: 32 becomes 30, not 32."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1, dilation=2)

    def forward(self, x):
        return self.conv(x)


class BatchNormWidth(nn.Module):
    """A BatchNorm sized for the conv before the last one: 32 channels arrive, 64 expected."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 32, 3, padding=1)
        self.bn = nn.BatchNorm2d(64)

    def forward(self, x):
        return self.bn(self.conv2(self.conv1(x)))


class BiasBeforeNorm(nn.Module):
    """Convs with a bias right before a BatchNorm: 6 + 16 = 22 parameters that do nothing."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.bn2 = nn.BatchNorm2d(16)

    def forward(self, x):
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))


class TinyDetector(nn.Module):
    """A backbone for 128x128 images whose deepest features see too little of them: four
    3x3 convs and two 2x2 pools give a field of 1 + 2 + 1 + 4 + 2 + 8 + 8 = 26 pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.block1 = nn.Conv2d(16, 32, 3, padding=1)
        self.block2 = nn.Conv2d(32, 64, 3, padding=1)
        self.block3 = nn.Conv2d(64, 64, 3, padding=1)
        self.head = nn.Conv2d(64, 5, 1)  # box and score per position

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.stem(x)))
        x = self.pool(torch.relu(self.block1(x)))
        x = torch.relu(self.block3(torch.relu(self.block2(x))))
        return self.head(x)


class PhotoClassifier(nn.Module):
    """Written for [N, 3, 32, 32]; fed photos as PIL and numpy give them, [N, 32, 32, 3]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        return self.fc(torch.flatten(x, 1))
