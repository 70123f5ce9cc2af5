"""pytest glue: options, ini settings, and the hook that finds spec files.

Only wiring lives here, and it imports nothing else of ours: the pytest nodes
(items.py) load when a spec file is found, and torch when a spec item runs, so a
pytest session that collects no spec pays for neither.
"""

from __future__ import annotations

import fnmatch
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:
    from .items import SpecFile
    from .trace import Trace

DEFAULT_PATTERNS = ["*.cnncheck.yaml", "*.cnncheck.yml"]
SETTINGS = pytest.StashKey[dict[str, Any]]()  # the ini options, read once per session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnncheck", "architecture specs (pytest-cnncheck)")
    group.addoption("--cnncheck-update", action="store_true", default=False,
                    help="rewrite the values of specs that mismatch to what the model does; "
                         "only those values change, and the specs pass")
    parser.addini("cnncheck_patterns", type="args", default=DEFAULT_PATTERNS,
                  help="glob patterns of spec file names pytest-cnncheck collects "
                       f"(default: {' '.join(DEFAULT_PATTERNS)})")
    parser.addini("cnncheck_device", default="meta",
                  help="where specs that name no device run: meta (default; falls back to the "
                       "CPU where a model can't run there), cpu or cuda")
    parser.addini("cnncheck_max_input_mb", default="1024",
                  help="refuse a dummy input larger than this many MiB on a real device "
                       "(default 1024); on meta inputs take no memory")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cnncheck: an architecture spec checked by pytest-cnncheck")
    device = str(config.getini("cnncheck_device")).strip()
    if device not in ("meta", "cpu", "cuda"):
        raise pytest.UsageError(f"cnncheck_device must be meta, cpu or cuda, not {device!r}")
    megabytes = str(config.getini("cnncheck_max_input_mb")).strip()
    if not megabytes.isdigit():
        raise pytest.UsageError(f"cnncheck_max_input_mb must be a whole number of MiB, not {megabytes!r}")
    config.stash[SETTINGS] = {"default_device": device, "max_input_bytes": int(megabytes) * 2**20}
    if config.getoption("cnncheck_update"):
        from .items import UpdateSession

        config.pluginmanager.register(UpdateSession(config), "cnncheck-update")
    if config.get_verbosity() > 0:
        config.pluginmanager.register(VerboseTables(config), "cnncheck-verbose")


class VerboseTables:
    """`-v`: torchinfo's summary table under each passing spec item's line.

    (A failing item shows it among its report sections, beneath the explanation.)
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)  # after the terminal reporter has written the item's line
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or not report.passed:
            return
        tables = [text for title, text in report.sections if "torchinfo summary" in title]
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if tables and terminal is not None:
            terminal.ensure_newline()
            for line in tables[0].splitlines():
                terminal.write_line(f"    {line}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    changes = getattr(item, "changes", None)
    if call.when == "call" and changes:
        # A plain attribute travels with the report from an xdist worker to the controller.
        outcome.get_result().cnncheck_changes = [change.to_json() for change in changes]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    patterns = parent.config.getini("cnncheck_patterns")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        from .items import SpecFile

        return SpecFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def cnncheck(request: pytest.FixtureRequest) -> Callable[..., list[Trace]]:
    """`pytest_cnncheck.check_architecture`, with this project's rootdir (for import
    paths) and its ini settings (`cnncheck_device`, `cnncheck_max_input_mb`)."""
    from .api import check_architecture

    return functools.partial(check_architecture, rootdir=request.config.rootpath,
                             **request.config.stash[SETTINGS])
