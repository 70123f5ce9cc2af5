"""The session's settings, read once from the ini options by the plugin and used by every
item: a module of its own so that the items (imported only once a spec file is collected)
and the plugin (imported in every session) don't import each other."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["SETTINGS"]

SETTINGS = pytest.StashKey[dict[str, Any]]()  # default_device, max_input_bytes
