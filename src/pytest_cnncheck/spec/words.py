"""How a spec's problems are worded: what a value is (`the text '1, 3'`), the nearest
known word (`Did you mean 'int64'?`), and hints for devices and dtypes."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from .model import DEVICES, DTYPES

__all__ = ["device_hint", "did_you_mean", "dtype_hint", "value_kind"]


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "an empty value"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 40 else "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    """` Did you mean 'output'?` where a choice is close to `word`, else ``""``."""
    close = difflib.get_close_matches(str(word), list(choices), n=n)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def device_hint(word: str) -> str | None:
    """What people type for a device, and what to write instead: ` Did you mean 'cuda'? ...`."""
    text = word.strip().lower()
    if text in DEVICES:
        return f" Did you mean {text!r}? Device names are lowercase."
    if text in ("gpu", "nvidia", "rocm", "hip", "amd") or text.startswith(("gpu:", "gpu0")):
        return (" Did you mean 'cuda'? torch calls a GPU 'cuda' (NVIDIA's, and AMD's under "
                "ROCm builds).")
    base, colon, index = text.partition(":")
    if colon and base in DEVICES:
        return (f" Did you mean {base!r}? A spec names no device index: {base} runs on the current "
                f"one; pick it with CUDA_VISIBLE_DEVICES={index or 0}." if base == "cuda" else
                f" Did you mean {base!r}? A spec names no device index.")
    if text in ("mps", "xpu", "tpu", "xla", "hpu", "npu", "vulkan", "opengl"):
        return (f" torch's {text} device is not one cnncheck runs specs on: shapes are the same on "
                "every device, so leave `device` out (meta, no memory) or write cpu.")
    if text in ("auto", "default", "any", "none"):
        return " Leave `device` out for the default: meta, falling back to the CPU where needed."
    return None


# Names of dtypes from other tools (NumPy, Lightning, mixed-precision configs) and the
# names torch gives them.
_DTYPE_ALIASES = {
    "fp32": "float32", "f32": "float32", "single": "float32", "float32_t": "float32",
    "fp16": "float16", "f16": "float16", "bf16": "bfloat16", "brain_float16": "bfloat16",
    "fp64": "float64", "f64": "float64", "i64": "int64", "i32": "int32", "i16": "int16",
    "i8": "int8", "u8": "uint8", "boolean": "bool",
}


def dtype_hint(word: str) -> str | None:
    text = word.strip().lower().removeprefix("np.").removeprefix("numpy.")
    if text in DTYPES:
        return f" Did you mean {text!r}? dtype names are lowercase."
    if text in _DTYPE_ALIASES:
        return f" torch calls it {_DTYPE_ALIASES[text]!r}."
    if "mixed" in text or text in ("amp", "autocast", "16", "32", "64"):
        return (" `dtype` is the dummy input's dtype, not a training precision: mixed precision "
                "(autocast) keeps float32 inputs. Leave `dtype` out for float32, or write float16 "
                "or bfloat16 for half-precision inputs.")
    return None
