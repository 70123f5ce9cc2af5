"""pytest-cnncheck: write down what a CNN's architecture must be, and let pytest prove it."""

from __future__ import annotations

__version__ = "0.1.0"
