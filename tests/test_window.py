"""The window formula (window.py), the one place the output size of a conv or pool is
computed, against torch itself: every size it gives is the size torch gives, and where it
says the window does not fit, torch refuses the input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from pytest_cnncheck.window import Window, windows

sizes = st.integers(1, 40)
kernels = st.integers(1, 7)
strides = st.integers(1, 4)
dilations = st.integers(1, 3)


def _torch_size(layer: nn.Module, size: int) -> int | None:
    try:
        return int(layer(torch.zeros(1, 1, size, device="meta")).shape[-1])
    except RuntimeError:
        return None


@given(size=sizes, kernel=kernels, stride=strides, padding=st.integers(0, 4), dilation=dilations)
def test_conv_size_is_torchs(size: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
    conv = nn.Conv1d(1, 1, kernel, stride, padding, dilation, device="meta")
    assert Window(kernel, stride, padding, dilation).out(size) == _torch_size(conv, size)


@given(size=sizes, kernel=kernels, stride=st.one_of(st.none(), strides), padding=st.integers(0, 3),
       ceil=st.booleans())
def test_pool_size_is_torchs(size: int, kernel: int, stride: int | None, padding: int, ceil: bool) -> None:
    if padding * 2 > kernel:
        return  # torch refuses to build the pool
    pool = nn.MaxPool1d(kernel, stride, padding, ceil_mode=ceil)
    expected = _torch_size(pool, size)
    got = Window(kernel, stride or kernel, padding, ceil_mode=ceil).out(size)
    assert got == (expected if expected else None)


@given(size=sizes, kernel=kernels, stride=strides, padding=st.integers(0, 3), dilation=dilations,
       output_padding=st.integers(0, 3))
def test_transposed_size_is_torchs(size: int, kernel: int, stride: int, padding: int, dilation: int,
                                   output_padding: int) -> None:
    if output_padding >= max(stride, dilation):
        return  # torch refuses it
    conv = nn.ConvTranspose1d(1, 1, kernel, stride, padding, output_padding, dilation=dilation, device="meta")
    window = Window(kernel, stride, padding, dilation, transposed=True, output_padding=output_padding)
    assert window.out(size) == _torch_size(conv, size)


def test_steps_are_the_arithmetic_a_person_writes() -> None:
    assert Window(5).steps(32) == "(32 - 5 + 2*0) / 1 + 1 = 28"
    assert Window(3, 2).steps(32) == "(32 - 3 + 2*0) / 2 + 1 = 15.5, rounded down to 15"
    assert Window(3, 2, ceil_mode=True).steps(6) == \
        "(6 - 3 + 2*0) / 2 + 1 = 2.5, rounded up to 3 (ceil_mode=True)"
    assert Window(3, 2, dilation=2).steps(9) == "(9 - 5 + 2*0) / 2 + 1 = 3 (F = 2*(3-1) + 1 = 5 with dilation 2)"
    assert Window(5).steps(3) == \
        "(3 - 5 + 2*0) / 1 + 1 < 1: the window F=5 is larger than the padded input 3 + 2*0 = 3"
    assert Window(3, 2, 1, transposed=True, output_padding=1).steps(16) == \
        "(16 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 32"


@pytest.mark.parametrize(("argument", "wanted", "solved"), [
    ("padding", 32, [1]),  # a 3x3 conv that keeps the size
    ("stride", 15, [2]),
    ("kernel", 30, [3]),
])
def test_solve_finds_the_argument(argument: str, wanted: int, solved: list[int]) -> None:
    window = Window(3)
    found = window.solve(32, wanted, argument, range(1, 9) if argument != "padding" else range(0, 9))
    assert found[:1] == solved
    assert all(Window(**{**window.__dict__, argument: value}).out(32) == wanted for value in found)


def test_windows_reads_a_layers_arguments() -> None:
    assert windows({"kernel_size": (3, 5), "stride": (1, 2), "padding": "valid", "dilation": (1, 1)}) == \
        (Window(3, 1, 0, 1), Window(5, 2, 0, 1))
    assert windows({"kernel_size": (3, 3), "stride": (1, 1), "padding": "same", "dilation": (1, 1)}) is None
