"""Models for the mult-adds tests: each family of contracting op, attention in every form
torch offers, and a custom op no formula knows."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Convs(nn.Module):
    """Conv1d, a grouped Conv2d with dilation, a Conv3d, and the transposed convs."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(4, 8, 3, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2)
        self.c3 = nn.Conv3d(2, 4, (1, 3, 3), padding=(1, 0, 1))
        self.t2 = nn.ConvTranspose2d(8, 4, 3, stride=2, output_padding=1, groups=2)
        self.t1 = nn.ConvTranspose1d(8, 2, 4, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.c1(x.flatten(2))                      # [2, 8, 36]
        b = self.t2(self.c2(x))                        # [2, 8, 3, 3] -> [2, 4, 8, 8]
        c = self.c3(x.reshape(2, 2, 2, 6, 12))          # [2, 4, 4, 4, 12]
        return a.sum() + b.sum() + c.sum() + self.t1(a).sum()


class Products(nn.Module):
    """Linear on tokens, and every matrix product spelled as a function."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Linear(16, 24)
        self.w = nn.Parameter(torch.zeros(24, 12))
        self.b = nn.Parameter(torch.zeros(12))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [2, 5, 16]
        t = self.tokens(x)                                         # [2, 5, 24]
        flat = t.reshape(10, 24)
        out = torch.mm(flat, self.w) + torch.addmm(self.b, flat, self.w)
        pairs = torch.bmm(t, t.transpose(1, 2))                    # [2, 5, 5]
        pairs = torch.baddbmm(pairs, t, t.transpose(1, 2))
        mixed = torch.einsum("bij,bjk->bik", pairs, t) @ self.w    # [2, 5, 12]
        return out.sum() + mixed.sum() + torch.matmul(t[0, 0], self.w).sum() + F.linear(t, self.w.t()).sum()


class ExplicitAttention(nn.Module):
    """Attention written out: q @ k^T, softmax, @ v, over 4 heads."""

    def __init__(self, width: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, t, c))


class FusedAttention(nn.Module):
    """scaled_dot_product_attention as torch defines it: with a mask, causal, and with
    grouped-query attention (8 query heads over 2 key/value heads)."""

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:  # [2, 8, 10, 16], [2, 2, 6, 16]
        mask = torch.ones(10, 6, dtype=torch.bool, device=q.device)
        grouped = F.scaled_dot_product_attention(q, kv, kv, attn_mask=mask, enable_gqa=True)
        causal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
        return grouped.sum() + causal.sum()


class Multihead(nn.Module):
    """nn.MultiheadAttention, self-attention and cross-attention with another length."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:  # [2, 10, 32], [2, 6, 32]
        own = self.attn(x, x, x, need_weights=False)[0]
        cross = self.attn(x, memory, memory, need_weights=False)[0]
        return own + cross


class Hybrid(nn.Module):
    """A conv stem, attention as matmuls, MultiheadAttention, einsum, SDPA and bmm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, stride=2, padding=1)
        self.attn = ExplicitAttention()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
        self.mix = nn.Parameter(torch.zeros(32, 32))
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [2, 3, 16, 16]
        t = self.conv(x).flatten(2).transpose(1, 2)        # [2, 64, 32]
        t = t + self.attn(t)
        t = t + self.mha(t, t, t, need_weights=False)[0]
        t = torch.einsum("btc,cd->btd", t, self.mix)
        q = t.reshape(2, 64, 4, 8).transpose(1, 2)
        t = F.scaled_dot_product_attention(q, q, q).transpose(1, 2).reshape(2, 64, 32)
        t = torch.bmm(t, t.transpose(1, 2)) @ t
        return self.head(t.mean(1))


_LIB = "cnncheck_test"


@torch.library.custom_op(f"{_LIB}::mix", mutates_args=())
def _mix(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x @ w


@_mix.register_fake
def _(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x.new_empty((*x.shape[:-1], w.shape[-1]))


class CustomOp(nn.Module):
    """A Linear, then a custom op that multiplies matrices where no formula can see."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.w = nn.Parameter(torch.zeros(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _mix(self.fc(x), self.w)
