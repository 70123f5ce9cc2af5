"""Shared pieces for tests that run pytest-cnncheck as users meet it: through pytester."""

from __future__ import annotations

import os
import textwrap

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

# Property tests. The README's test command runs the "ci" profile: the same cases every
# run (derandomized) and no example database, so a run never depends on one before it.
# The random campaign is a separate command: CNNCHECK_FUZZ=campaign (docs/reliability.md).
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("campaign", max_examples=5_000, deadline=None, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CNNCHECK_FUZZ", "ci"))


def _load_torch_before_pytester_snapshots() -> None:
    """Import torch and run it on meta once, before any pytester run.

    Inline pytester runs share this process and, after each test, drop the
    modules the run imported; torch cannot be imported a second time in one
    process. Loading it (and the lazily imported parts a meta forward pass and
    torchinfo pull in) before the first snapshot keeps it loaded for good.
    """
    import torch
    import torchinfo

    import pytest_cnncheck.probe  # noqa: F401

    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.BatchNorm2d(1),
                                    torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(1, 1))
        torchinfo.summary(model, input_data=[torch.zeros(1, 1, 4, 4)], device="meta", verbose=0)
    torchinfo.torchinfo.clear_cached_forward_pass()
    # Hypothesis' pytest plugin imports hypothesis at the end of every inline
    # run (seconds each time) unless it is already loaded.
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        pass


_load_torch_before_pytester_snapshots()

# The network of the PyTorch CIFAR-10 tutorial: 62,006 parameters.
TUTORIAL_NET = '''
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10, fc1_in=16 * 5 * 5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(fc1_in, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
'''


@pytest.fixture
def tutorial(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the tutorial Net in `net.py`."""
    pytester.makepyfile(net=TUTORIAL_NET)
    return pytester


def write_spec(pytester: pytest.Pytester, text: str, name: str = "arch") -> None:
    """Write `name.cnncheck.yaml` with `text` dedented."""
    pytester.path.joinpath(f"{name}.cnncheck.yaml").write_text(textwrap.dedent(text))


def assert_in_order(output: str, *fragments: str) -> None:
    """Each fragment appears in `output`, in this order (plain text: brackets are literal)."""
    position = 0
    for fragment in fragments:
        found = output.find(fragment, position)
        assert found >= 0, f"{fragment!r} not found after position {position} in:\n{output}"
        position = found + len(fragment)


def run(pytester: pytest.Pytester, spec: str, *args: str) -> tuple[pytest.RunResult, str]:
    """Write `spec` as arch.cnncheck.yaml, run pytest inline; the result and its output."""
    write_spec(pytester, spec)
    result = pytester.runpytest(*args)
    return result, result.stdout.str()
